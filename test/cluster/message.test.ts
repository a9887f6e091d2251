import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeMessage, encodeMessages, MAX_MESSAGE_BYTES } from '../../src/cluster/message.js';
import type { Change } from '../../src/domain/change.js';

const id = fc.stringMatching(/^[a-z]{3}_[0-9A-Za-z]{1,40}$/);
const change: fc.Arbitrary<Change> = fc.oneof(
  id.map((v) => ({ kind: 'token' as const, id: v })),
  id.map((v) => ({ kind: 'user' as const, id: v })),
  id.map((v) => ({ kind: 'resource' as const, id: v })),
  id.map((v) => ({ kind: 'keys' as const, tokenId: v })),
  fc.tuple(id, id).map(([u, r]) => ({ kind: 'membership' as const, userId: u, resourceId: r })),
);

describe('change channel messages', () => {
  it('carry every change, in order, in messages under the size limit', () => {
    fc.assert(
      fc.property(
        fc.array(change, { maxLength: 600 }),
        fc.integer({ min: 200, max: MAX_MESSAGE_BYTES }),
        (changes, max) => {
          const messages = encodeMessages('origin1', 1_700_000_000_000, changes, max);
          const decoded = messages.map((m) => decodeMessage(m));
          for (const m of messages) assert.ok(Buffer.byteLength(m) <= max, `${Buffer.byteLength(m)} > ${max}`);
          assert.deepEqual(
            decoded.flatMap((d) => d!.changes),
            changes,
          );
          for (const d of decoded) {
            assert.equal(d!.origin, 'origin1');
            assert.equal(d!.at, 1_700_000_000_000);
          }
          if (changes.length === 0) assert.equal(messages.length, 0);
        },
      ),
    );
  });

  it('a bulk change of thousands of rows fits PostgreSQL NOTIFY (under 8000 bytes each)', () => {
    const changes: Change[] = Array.from({ length: 5_000 }, (_, i) => ({
      kind: 'resource',
      id: `res_${'x'.repeat(20)}${i}`,
    }));
    const messages = encodeMessages('o', Date.now(), changes);
    assert.ok(messages.length > 1);
    for (const m of messages) assert.ok(Buffer.byteLength(m) < 8_000);
  });

  it('anything that is not a keygate change message is refused as a whole', () => {
    for (const text of [
      '',
      'not json',
      'null',
      '[]',
      '{"o":"a","t":1}',
      '{"o":"a","t":"1","c":[]}',
      '{"o":"","t":1,"c":[]}',
      '{"o":"a","t":1,"c":[{"kind":"token"}]}',
      '{"o":"a","t":1,"c":[{"kind":"token","id":"tok_1"},{"kind":"drop-table","id":"x"}]}',
      `{"o":"a","t":1,"c":[{"kind":"token","id":"${'x'.repeat(201)}"}]}`,
      '{"o":"a","t":1,"c":[{"kind":"membership","userId":"u"}]}',
    ])
      assert.equal(decodeMessage(text), null, text);
  });

  it('extra fields are not carried into the change', () => {
    const decoded = decodeMessage('{"o":"a","t":1,"c":[{"kind":"token","id":"tok_1","key":"kg_secret"}]}');
    assert.deepEqual(decoded?.changes, [{ kind: 'token', id: 'tok_1' }]);
  });
});
