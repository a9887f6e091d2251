import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import { generateKey } from '../../src/domain/keys.js';
import { createVerifier, type Verifier, type VerifyAnswer } from '../../sdk/src/index.js';
import { bodyOf, eventually, listen } from './fakes.js';

/**
 * The verifier against a fake keygate that answers POST /verify from a table and serves
 * GET /events per the events contract: offline refusal of malformed keys, caching of positive and
 * negative answers, invalidation by every change kind and by reset, and reconnection with Last-Event-ID.
 */

const VERIFIER_KEY = generateKey('kg_');
const alice = generateKey('kg_'); // token t1, owned by u1
const bob = generateKey('kg_'); // token t2, owned by u2, acting as u3
const ghost = generateKey('kg_'); // no such key
const CUSTOM = 'a-chosen-key-of-some-length'; // a custom key: asked, not refused offline

const token = (id: string, ownerId: string, impersonateUserId: string | null = null) => ({
  id,
  name: id,
  ownerId,
  resourceId: 'r1',
  permissions: ['resources:read'],
  apiGroups: ['native'],
  expiresAt: null,
  impersonateUserId,
  logging: 'none' as const,
});
const ANSWERS = new Map<string, VerifyAnswer>([
  [alice, { valid: true, code: 'VALID', token: token('t1', 'u1') }],
  [bob, { valid: true, code: 'VALID', token: token('t2', 'u2', 'u3') }],
  [CUSTOM, { valid: true, code: 'VALID', token: token('t9', 'u9') }],
]);

describe('SDK verifier', () => {
  const asked: string[] = [];
  const streams: ServerResponse[] = [];
  const lastEventIds: (string | undefined)[] = [];
  const fake = listen(async (req, res) => {
    if (req.headers['x-api-key'] !== VERIFIER_KEY) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"code":"KEY_INVALID"}}');
      return;
    }
    if (req.method === 'POST' && req.url === '/api/v1.0/verify') {
      const { key } = JSON.parse(await bodyOf(req)) as { key: string };
      asked.push(key);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ANSWERS.get(key) ?? { valid: false, code: 'NOT_FOUND' }));
      return;
    }
    if (req.method === 'GET' && req.url === '/api/v1.0/events') {
      lastEventIds.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' });
      // The contract says 1000; a test server asks for quick reconnects.
      res.write('retry: 5\n\n');
      res.write(`event: ready\nid: s1:${streams.length}\ndata: {}\n\n`);
      streams.push(res);
      return;
    }
    res.writeHead(404).end();
  });
  let url: string;
  let verifier: Verifier;
  let seq = 100;
  before(async () => {
    url = (await fake).url;
  });
  after(async () => (await fake).close());
  afterEach(() => verifier?.close());

  const open = async (events = true) => {
    verifier = createVerifier({ baseUrl: url, key: VERIFIER_KEY, events });
    if (events) await eventually(() => verifier.stats.connected, 'the event stream is open');
  };
  /** Sends an event on the newest stream; waits until the verifier has handled it. */
  const send = async (event: string, data: unknown) => {
    const before = verifier.stats.invalidations;
    seq += 1;
    streams.at(-1)!.write(`event: ${event}\nid: s1:${seq}\ndata: ${JSON.stringify(data)}\n\n`);
    await eventually(() => verifier.stats.invalidations > before, `${event} handled`);
  };
  /** Which of the keys make a request when verified now. */
  const refetched = async (keys: string[]): Promise<string[]> => {
    const from = asked.length;
    for (const key of keys) await verifier.verify(key);
    return asked.slice(from);
  };
  const prime = async () => {
    await refetched([alice, bob, ghost]);
    assert.deepEqual(await refetched([alice, bob, ghost]), [], 'all three cached');
  };

  it('refuses malformed keys offline, without any request', async () => {
    await open(false);
    const broken = `${alice.slice(0, -1)}${alice.endsWith('A') ? 'B' : 'A'}`;
    for (const key of [broken, 'kg_short', '', 'short', 'x'.repeat(300), 'has space in it but long enough']) {
      assert.deepEqual(await verifier.verify(key), { valid: false, code: 'MALFORMED' }, key);
    }
    assert.deepEqual(asked, []);
    assert.equal((await verifier.verify(CUSTOM)).code, 'VALID', 'a well-formed custom key is asked about');
    assert.deepEqual(asked, [CUSTOM]);
  });

  it('caches a valid answer: the second verify makes no request', async () => {
    await open(false);
    const first = await verifier.verify(alice);
    assert.equal(first.code, 'VALID');
    assert.deepEqual(await refetched([alice]), []);
    assert.deepEqual(await verifier.verify(alice), first);
    assert.equal(verifier.stats.hits, 2);
    assert.equal(verifier.stats.misses, 1);
  });

  it('caches a refusal (negative caching)', async () => {
    await open(false);
    assert.equal((await verifier.verify(ghost)).code, 'NOT_FOUND');
    assert.deepEqual(await refetched([ghost]), []);
  });

  it('caches per question: another permission, resource or group is asked', async () => {
    await open(false);
    await verifier.verify(alice);
    const from = asked.length;
    await verifier.verify(alice, { permission: 'resources:read' });
    await verifier.verify(alice, { resourceId: 'r2' });
    await verifier.verify(alice, { apiGroup: 'tokens' });
    await verifier.verify(alice, { apiGroup: 'tokens' });
    assert.equal(asked.length - from, 3);
  });

  it('asks once for concurrent verifies of the same key', async () => {
    await open(false);
    const from = asked.length;
    await Promise.all([verifier.verify(bob), verifier.verify(bob), verifier.verify(bob)]);
    assert.equal(asked.length - from, 1);
  });

  it('token change: drops the answers about that token only', async () => {
    await open();
    await prime();
    await send('changes', { changes: [{ kind: 'token', id: 't1' }] });
    assert.deepEqual(await refetched([alice, bob, ghost]), [alice]);
  });

  it('keys change: drops the token and every "no such key" answer (a new key may exist now)', async () => {
    await open();
    await prime();
    await send('changes', { changes: [{ kind: 'keys', tokenId: 't2' }] });
    assert.deepEqual(await refetched([alice, bob, ghost]), [bob, ghost]);
  });

  it('user change: drops answers whose owner or impersonated user it is', async () => {
    await open();
    await prime();
    await send('changes', { changes: [{ kind: 'user', id: 'u1' }] });
    assert.deepEqual(await refetched([alice, bob, ghost]), [alice]);
    await send('changes', { changes: [{ kind: 'user', id: 'u3' }] });
    assert.deepEqual(await refetched([alice, bob, ghost]), [bob]);
  });

  it('membership change: drops answers of that user', async () => {
    await open();
    await prime();
    await send('changes', { changes: [{ kind: 'membership', userId: 'u2', resourceId: 'r1' }] });
    assert.deepEqual(await refetched([alice, bob, ghost]), [bob]);
  });

  it('resource change and reset: drop everything', async () => {
    await open();
    await prime();
    await send('changes', { changes: [{ kind: 'resource', id: 'r1' }] });
    assert.deepEqual(await refetched([alice, bob, ghost]), [alice, bob, ghost]);
    await send('reset', {});
    assert.deepEqual(await refetched([alice, bob, ghost]), [alice, bob, ghost]);
  });

  it('reconnects after the stream ends, sending the last event id it handled', async () => {
    await open();
    const connections = lastEventIds.length;
    assert.equal(lastEventIds.at(-1), undefined, 'the first connection names no event');
    await prime();
    await send('changes', { changes: [{ kind: 'token', id: 'nobody' }] });
    const handled = `s1:${seq}`;
    streams.at(-1)!.end();
    await eventually(() => lastEventIds.length > connections && verifier.stats.connected, 'reconnected');
    assert.equal(lastEventIds.at(-1), handled);
    // The new stream is listened to.
    await send('changes', { changes: [{ kind: 'token', id: 't1' }] });
    assert.deepEqual(await refetched([alice, bob, ghost]), [alice]);
  });
});
