import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  backoffMs,
  newWebhookSecret,
  refusedAddress,
  signatureHeader,
  verifySignature,
  webhookUrlProblem,
} from '../../src/domain/webhook-delivery.js';
import {
  AUDIT_EVENTS,
  WEBHOOK_EVENTS,
  changesOf,
  dueExpiryNotice,
  eventOfAudit,
  subscribes,
  withoutSecrets,
} from '../../src/domain/webhook-events.js';

const DAY = 86_400_000;

describe('webhook signature', () => {
  it('is HMAC-SHA256 over "t.body" as the README shows a receiver checking it', () => {
    const secret = newWebhookSecret();
    assert.match(secret, /^whsec_[0-9A-Za-z]{32}$/);
    const body = '{"id":"evt_1","type":"token.created"}';
    const header = signatureHeader(secret, 1_900_000_000, body);
    // The README's receiver, step by step.
    const [t, v1] = header.split(',').map((p) => p.split('=')[1]!);
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    assert.ok(timingSafeEqual(Buffer.from(v1!, 'hex'), Buffer.from(expected, 'hex')));
    assert.equal(verifySignature(secret, body, header, 1_900_000_000 + 299), true);
  });

  it('refuses another body, another secret, a stale timestamp and a garbled header', () => {
    const secret = newWebhookSecret();
    const header = signatureHeader(secret, 1_900_000_000, 'a');
    assert.equal(verifySignature(secret, 'b', header, 1_900_000_000), false);
    assert.equal(verifySignature(newWebhookSecret(), 'a', header, 1_900_000_000), false);
    assert.equal(verifySignature(secret, 'a', header, 1_900_000_000 + 301), false);
    assert.equal(verifySignature(secret, 'a', 't=x,v1=zz', 1_900_000_000), false);
  });
});

describe('webhook back-off', () => {
  it('doubles from 10 s, is never shorter than that, adds at most 20 % and is capped', () => {
    assert.equal(backoffMs(1, 0), 10_000);
    assert.equal(backoffMs(2, 0), 20_000);
    assert.equal(backoffMs(3, 0.999999), 48_000);
    assert.equal(backoffMs(30, 0), 6 * 3_600_000);
    for (let a = 1; a < 12; a++) assert.ok(backoffMs(a + 1, 0) >= backoffMs(a, 1) * (2 / 1.2) - 1);
  });
});

describe('webhook URLs and addresses', () => {
  const refused = [
    'ftp://example.com/x',
    'javascript:alert(1)',
    'http://127.0.0.1/',
    'http://[::1]/',
    'http://10.0.0.1/',
    'http://169.254.169.254/latest/meta-data',
    'http://192.168.1.1/',
    'http://172.16.0.1/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::]/',
    'http://[fc00::1]/',
    'http://[fe80::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:10.0.0.1]/',
    'http://2130706433/',
    'http://localhost:8080/',
    'http://a.localhost/',
    'https://user:pw@example.com/',
    'not a url',
  ];
  for (const url of refused) {
    it(`refuses ${url}`, () => assert.notEqual(webhookUrlProblem(url, false), null));
  }
  it('accepts public http(s) URLs, and private ones when allowed', () => {
    assert.equal(webhookUrlProblem('https://hooks.example.com/keygate?x=1', false), null);
    assert.equal(webhookUrlProblem('http://93.184.216.34:8080/', false), null);
    assert.equal(webhookUrlProblem('http://127.0.0.1:9/', true), null);
    assert.notEqual(webhookUrlProblem('ftp://127.0.0.1/', true), null);
  });
  it('judges IPv4-mapped IPv6 as the IPv4 address inside', () => {
    assert.match(refusedAddress('::ffff:169.254.169.254') ?? '', /linkLocal/);
    assert.equal(refusedAddress('::ffff:8.8.8.8'), null);
    assert.equal(refusedAddress('2606:4700:4700::1111'), null);
  });
});

describe('webhook events', () => {
  it('maps every audited token action to a known event, and nothing else', () => {
    for (const [action, type] of Object.entries(AUDIT_EVENTS)) {
      assert.equal(eventOfAudit(action), type);
      assert.ok((WEBHOOK_EVENTS as readonly string[]).includes(type));
    }
    assert.equal(eventOfAudit('token.reveal'), null);
    assert.equal(eventOfAudit('member.add'), null);
    assert.equal(eventOfAudit('token.toString'), null);
  });
  it('subscribes to all when the list is empty, else to the listed', () => {
    assert.equal(subscribes([], 'token.created'), true);
    assert.equal(subscribes(['token.deleted'], 'token.created'), false);
    assert.equal(subscribes(['token.deleted'], 'ping'), true);
  });
  it('never copies a field named like a key, hash or secret', () => {
    const scrubbed = JSON.stringify(
      withoutSecrets({ key: 'k', keyHash: 'h', a: { secret: 's', password: 'p', encryptedKey: 'e', name: 'ok' } }),
    );
    assert.equal(scrubbed, '{"a":{"name":"ok"}}');
    assert.deepEqual(changesOf('token.update', { changed: ['name'] }), ['name']);
    assert.deepEqual(changesOf('token.update', { before: { name: 'a' }, after: { name: 'b' } }), {
      before: { name: 'a' },
      after: { name: 'b' },
    });
  });
  it('finds the tightest expiry notice due, once', () => {
    const now = 0;
    assert.equal(dueExpiryNotice(8 * DAY, now, [7, 1], new Set()), null);
    assert.deepEqual(dueExpiryNotice(7 * DAY, now, [7, 1], new Set()), {
      kind: 'expiring:7',
      covers: ['expiring:7'],
      daysLeft: 7,
    });
    assert.equal(dueExpiryNotice(5 * DAY, now, [7, 1], new Set(['expiring:7'])), null);
    assert.deepEqual(dueExpiryNotice(DAY / 2, now, [7, 1], new Set()), {
      kind: 'expiring:1',
      covers: ['expiring:1', 'expiring:7'],
      daysLeft: 1,
    });
    assert.equal(dueExpiryNotice(0, now, [7, 1], new Set())?.kind, 'expired');
    assert.equal(dueExpiryNotice(0, now, [7, 1], new Set(['expired'])), null);
  });
});
