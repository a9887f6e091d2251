import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateKey } from '../../src/domain/keys.js';
import { capText, keyPattern, redactBody, redactHeaders, redactQuery, redactValue } from '../../src/domain/redact.js';

const pattern = keyPattern('kg_');

describe('redaction for the access log', () => {
  it('replaces credential and session headers, whatever their case, and keeps the rest', () => {
    const out = redactHeaders(
      {
        Authorization: 'Bearer x',
        'X-API-Key': 'k',
        cookie: 'a=b',
        'set-cookie': ['s=1'],
        'x-csrf-token': 't',
        accept: '*/*',
      },
      pattern,
      10_000,
    );
    assert.deepEqual(out.headers, {
      authorization: '[redacted]',
      'x-api-key': '[redacted]',
      cookie: '[redacted]',
      'set-cookie': '[redacted]',
      'x-csrf-token': '[redacted]',
      accept: '*/*',
    });
  });

  it('replaces secret fields at any depth and key-shaped strings anywhere', () => {
    const key = generateKey('kg_');
    const out = redactValue(
      { key, API_Key: key, nested: [{ newPassword: 'p', note: `see ${key}` }], secret: 's', keyPrefix: 'kg_ab' },
      pattern,
    );
    assert.deepEqual(out, {
      key: '[redacted]',
      API_Key: '[redacted]',
      nested: [{ newPassword: '[redacted]', note: 'see [redacted]' }],
      secret: '[redacted]',
      keyPrefix: 'kg_ab',
    });
  });

  it('redacts form bodies, JSON text and query strings by field', () => {
    assert.equal(redactQuery('a=1&key=x&apiToken=y', pattern), 'a=1&key=%5Bredacted%5D&apiToken=%5Bredacted%5D');
    assert.equal(
      redactBody('name=n&key=x', 'application/x-www-form-urlencoded', pattern, 100).body,
      'name=n&key=%5Bredacted%5D',
    );
    assert.equal(
      redactBody('{"password":"p"}', 'application/json; charset=utf-8', pattern, 100).body,
      '{"password":"[redacted]"}',
    );
  });

  it('never leaves a generated key in any redacted body, however it is nested or cut', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 256, max: 4096 }), (value, limit) => {
        const key = generateKey('kg_');
        const body = { data: value, echo: `x${key}y`, list: [key] };
        const out = redactBody(body, 'application/json', pattern, limit).body ?? '';
        assert.ok(!out.includes(key));
        assert.ok(Buffer.byteLength(out) <= limit);
      }),
      { numRuns: 200 },
    );
  });

  it('cuts text at a byte limit without splitting a character', () => {
    const cut = capText('ééé', 3);
    assert.deepEqual(cut, { text: 'é', truncated: true });
    assert.deepEqual(capText('abc', 3), { text: 'abc', truncated: false });
  });
});
