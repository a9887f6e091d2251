import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import { EventStream } from '../../src/services/event-stream.js';
import { assertError, call, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

/**
 * GET /api/v1.0/events over a listening server: the Server-Sent Events an SDK cache listens to.
 * Every wait below awaits the next event, never a timer: a change made through the API is on the
 * stream by the time the test reads it, or the test times out.
 */

interface SseEvent {
  /** ready, reset, changes; or `comment` for a `: …` line. */
  event: string;
  id?: string;
  data?: string;
  comment?: string;
}

/** A streaming reader of one event-stream response. */
class SseReader {
  raw = '';
  private readonly events: SseEvent[] = [];
  private cursor = 0;
  private buffer = '';
  private wake: (() => void) | undefined;
  readonly ended: Promise<void>;

  constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.raw += chunk;
      this.buffer += chunk;
      let at = this.buffer.indexOf('\n\n');
      while (at >= 0) {
        this.parse(this.buffer.slice(0, at));
        this.buffer = this.buffer.slice(at + 2);
        at = this.buffer.indexOf('\n\n');
      }
      this.wake?.();
    });
    this.ended = new Promise((resolve) => {
      res.on('end', resolve);
      res.on('close', resolve);
    });
    void this.ended.then(() => this.wake?.());
  }

  private parse(block: string): void {
    const e: SseEvent = { event: 'message' };
    let fields = 0;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.events.push({ event: 'comment', comment: line.slice(1).trim() });
        continue;
      }
      const colon = line.indexOf(':');
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') e.event = value;
      else if (name === 'id') e.id = value;
      else if (name === 'data') e.data = value;
      else continue;
      fields++;
    }
    if (fields > 0) this.events.push(e);
  }

  /** The next event matching `match` (comments are skipped unless asked for), and the events it passed over. */
  async next(
    match: (e: SseEvent) => boolean = (e) => e.event !== 'comment',
  ): Promise<SseEvent & { passed: SseEvent[] }> {
    const passed: SseEvent[] = [];
    for (;;) {
      while (this.cursor < this.events.length) {
        const e = this.events[this.cursor++]!;
        if (match(e)) return { ...e, passed };
        passed.push(e);
      }
      if (this.res.readableEnded || this.res.destroyed)
        throw new Error(`stream ended; passed ${JSON.stringify(passed)}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  close(): void {
    this.res.destroy();
  }
}

/** The changes of a `changes` event. */
function changesOf(e: SseEvent): Record<string, string>[] {
  assert.equal(e.event, 'changes');
  return (JSON.parse(e.data!) as { changes: Record<string, string>[] }).changes;
}

const mentions = (e: SseEvent, id: string) => e.event === 'changes' && (e.data ?? '').includes(id);

forEachDialect('GET /events (live change events)', (env) => {
  let port: number;
  let admin: { id: string; cookie: string };
  let folderA: string;
  let folderB: string;
  let verifierKey: string;
  /** Every key minted here: none may ever appear on a stream. */
  const keys: string[] = [];
  const readers: SseReader[] = [];

  const open = (headers: Record<string, string> = {}, query = '') =>
    new Promise<SseReader>((resolve, reject) => {
      const req = get(
        {
          host: '127.0.0.1',
          port,
          path: `/api/v1.0/events${query}`,
          headers: { 'x-api-key': verifierKey, ...headers },
        },
        (res) => {
          const reader = new SseReader(res);
          readers.push(reader);
          resolve(reader);
        },
      );
      req.on('error', reject);
    });
  const resource = async (type: string, name: string, parentId?: string) => {
    const r = await call(env().app, 'POST', '/api/v1.0/resources', {
      cookie: admin.cookie,
      body: { type, name, ...(parentId ? { parentId } : {}) },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  const mint = async (resourceId: string, body: Record<string, unknown> = {}, cookie = admin.cookie) => {
    const r = await call(env().app, 'POST', `/api/v1.0/resources/${resourceId}/tokens`, {
      cookie,
      body: { name: 'token', level: 'reader', ...body },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    keys.push(r.body.key);
    return r.body as { id: string; key: string };
  };
  const deactivate = async (tokenId: string) => {
    const r = await call(env().app, 'POST', `/api/v1.0/tokens/${tokenId}/deactivate`, { cookie: admin.cookie });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  before(async () => {
    await env().app.listen({ port: 0, host: '127.0.0.1' });
    port = (env().app.server.address() as AddressInfo).port;
  });
  after(() => {
    for (const r of readers) r.close();
    // Ids only: no key, in whole or in its random part, was ever written to a stream.
    const all = readers.map((r) => r.raw).join('');
    for (const key of keys) {
      assert.ok(!all.includes(key), 'a key on the stream');
      assert.ok(!all.includes(key.slice(-30)), 'part of a key on the stream');
      assert.ok(!all.includes(env().kg.keys.hash(key)), 'a key hash on the stream');
    }
  });

  it('sets up two folders and a verifier on folder A', async () => {
    admin = await userWithSession(env().app, env().kg, 'admin');
    const account = await resource('account', 'Acme');
    folderA = await resource('folder', 'A', account);
    folderB = await resource('folder', 'B', account);
    verifierKey = (await mint(folderA, { name: 'gateway', level: 'administrator', apiGroups: ['verify'] })).key;
  });

  it('answers 401 without a key, and 403 to a token without keys:verify and to a session', async () => {
    assertError(await call(env().app, 'GET', '/api/v1.0/events'), 401, 'UNAUTHENTICATED');
    const reader = await mint(folderA, { level: 'reader' });
    assertError(await call(env().app, 'GET', '/api/v1.0/events', { key: reader.key }), 403, 'INSUFFICIENT_PERMISSIONS');
    assertError(
      await call(env().app, 'GET', '/api/v1.0/events', { cookie: admin.cookie }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    const tokensOnly = await mint(folderA, { level: 'administrator', apiGroups: ['tokens'] });
    assertError(
      await call(env().app, 'GET', '/api/v1.0/events', { key: tokensOnly.key }),
      403,
      'API_GROUP_NOT_ALLOWED',
    );
  });

  it('starts with retry and a ready event at the current position, with the stream headers', async () => {
    const stream = await open();
    assert.equal(stream.res.statusCode, 200);
    assert.equal(stream.res.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(stream.res.headers['cache-control'], 'no-store');
    assert.equal(stream.res.headers['x-accel-buffering'], 'no');
    assert.match(String(stream.res.headers['x-request-id']), /\S/);
    const ready = await stream.next();
    assert.equal(ready.event, 'ready');
    assert.equal(ready.data, '{}');
    assert.equal(ready.id, env().kg.events.position);
    assert.match(ready.id!, /^[0-9A-Za-z]{12}:\d+$/);
    assert.ok(stream.raw.startsWith('retry: 1000\n\n'), JSON.stringify(stream.raw.slice(0, 40)));
    stream.close();
  });

  it('announces a token deactivated through the API as {"kind":"token","id"}', async () => {
    const target = await mint(folderA);
    const stream = await open();
    const ready = await stream.next();
    await deactivate(target.id);
    const e = await stream.next((x) => mentions(x, target.id));
    assert.deepEqual(changesOf(e), [{ kind: 'token', id: target.id }]);
    const [streamId, seq] = e.id!.split(':');
    assert.equal(streamId, env().kg.events.streamId);
    assert.ok(Number(seq) > Number(ready.id!.split(':')[1]));
    stream.close();
  });

  it('leaves out tokens on folder B and users who only own tokens there', async () => {
    // Bob manages folder B and owns a token there, and nothing on A.
    const bob = await userWithSession(env().app, env().kg);
    const member = await call(env().app, 'PUT', `/api/v1.0/resources/${folderB}/members/${bob.id}`, {
      cookie: admin.cookie,
      body: { role: 'manager' },
    });
    assert.equal(member.status, 200, JSON.stringify(member.body));
    const bobsToken = await mint(folderB, {}, bob.cookie);
    const adminsOnB = await mint(folderB);
    const marker = await mint(folderA);

    const stream = await open();
    await stream.next();
    await deactivate(adminsOnB.id);
    await deactivate(bobsToken.id);
    const renamed = await call(env().app, 'PATCH', `/api/v1.0/users/${bob.id}`, {
      cookie: admin.cookie,
      body: { name: 'Bob B.' },
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    const role = await call(env().app, 'PUT', `/api/v1.0/resources/${folderB}/members/${bob.id}`, {
      cookie: admin.cookie,
      body: { role: 'reader' },
    });
    assert.equal(role.status, 200, JSON.stringify(role.body));
    const token = await call(env().app, 'PATCH', `/api/v1.0/tokens/${bobsToken.id}`, {
      cookie: admin.cookie,
      body: { name: 'renamed' },
    });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    // Batches reach a subscriber in order: once the marker is here, every earlier batch was judged.
    await deactivate(marker.id);
    const e = await stream.next((x) => mentions(x, marker.id));
    assert.deepEqual(changesOf(e), [{ kind: 'token', id: marker.id }]);
    const leaked = e.passed.filter(
      (x) => mentions(x, adminsOnB.id) || mentions(x, bobsToken.id) || mentions(x, bob.id) || mentions(x, folderB),
    );
    assert.deepEqual(leaked, []);
    stream.close();
  });

  it('announces a user, and their membership, when they own a token on folder A', async () => {
    const carol = await userWithSession(env().app, env().kg);
    const member = await call(env().app, 'PUT', `/api/v1.0/resources/${folderA}/members/${carol.id}`, {
      cookie: admin.cookie,
      body: { role: 'manager' },
    });
    assert.equal(member.status, 200, JSON.stringify(member.body));
    await mint(folderA, {}, carol.cookie);
    const stream = await open();
    await stream.next();
    const renamed = await call(env().app, 'PATCH', `/api/v1.0/users/${carol.id}`, {
      cookie: admin.cookie,
      body: { name: 'Carol A.' },
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.deepEqual(changesOf(await stream.next((x) => mentions(x, carol.id))), [{ kind: 'user', id: carol.id }]);
    // Her role on folder B: she owns a token the verifier sees, so it may learn of it.
    const role = await call(env().app, 'PUT', `/api/v1.0/resources/${folderB}/members/${carol.id}`, {
      cookie: admin.cookie,
      body: { role: 'reader' },
    });
    assert.equal(role.status, 200, JSON.stringify(role.body));
    assert.deepEqual(changesOf(await stream.next((x) => mentions(x, carol.id))), [
      { kind: 'membership', userId: carol.id, resourceId: folderB },
    ]);
    stream.close();
  });

  it('replays the events missed since Last-Event-ID, in order, then goes on live', async () => {
    const first = await mint(folderA);
    const second = await mint(folderA);
    const stream = await open();
    const ready = await stream.next();
    stream.close();
    await deactivate(first.id);
    await deactivate(second.id);
    const replayed = async (again: SseReader) => {
      const a = await again.next();
      assert.deepEqual(changesOf(a), [{ kind: 'token', id: first.id }]);
      const b = await again.next();
      assert.deepEqual(changesOf(b), [{ kind: 'token', id: second.id }]);
      assert.ok(Number(b.id!.split(':')[1]) > Number(a.id!.split(':')[1]));
    };
    const again = await open({ 'last-event-id': ready.id! });
    await replayed(again);
    const third = await mint(folderA);
    const live = await again.next((x) => mentions(x, third.id));
    assert.deepEqual(live.passed, [], 'nothing between the replay and the live event');
    again.close();
    // The same from the query parameter some EventSource polyfills use.
    const byQuery = await open({}, `?lastEventId=${encodeURIComponent(ready.id!)}`);
    await replayed(byQuery);
    byQuery.close();
  });

  it('answers reset for another stream, a malformed id, a future seq and one older than the replay buffer', async () => {
    const { kg } = env();
    const [streamId, seq] = kg.events.position.split(':') as [string, string];
    const expectReset = async (id: string) => {
      const stream = await open({ 'last-event-id': id });
      const e = await stream.next();
      assert.equal(e.event, 'reset', id);
      assert.equal(e.data, '{}');
      assert.equal(e.id, kg.events.position);
      stream.close();
    };
    await expectReset(`zzzzzzzzzzzz:${seq}`);
    await expectReset('garbage');
    await expectReset(`${streamId}:-1`);
    await expectReset(`${streamId}:${Number(seq) + 5}`);
    // 1001 more batches push the current position out of the 1000 kept for replay.
    for (let i = 0; i < 1001; i++) kg.feed.publish([{ kind: 'token', id: `tok_gone${i}` }]);
    await expectReset(`${streamId}:${seq}`);
    // The oldest seq still replayable works.
    const oldest = Number(kg.events.position.split(':')[1]) - 1000;
    const stream = await open({ 'last-event-id': `${streamId}:${oldest}` });
    assert.deepEqual(changesOf(await stream.next()), [{ kind: 'token', id: `tok_gone${1}` }]);
    stream.close();
  });

  it('ends the stream of a verifier that is deactivated', async () => {
    const second = await mint(folderA, { name: 'gateway 2', level: 'administrator', apiGroups: ['verify'] });
    const stream = await open({ 'x-api-key': second.key });
    await stream.next();
    await deactivate(second.id);
    await stream.ended;
    assert.ok(!stream.raw.includes(second.id), 'it does not hear of its own deactivation');
  });

  it('writes a ping comment at the heartbeat interval', async () => {
    const { kg } = env();
    kg.events.heartbeatMs = 5;
    try {
      const stream = await open();
      const ping = await stream.next((e) => e.event === 'comment');
      assert.equal(ping.comment, 'ping');
      assert.ok(stream.raw.includes('\n: ping\n\n'));
      stream.close();
    } finally {
      kg.events.heartbeatMs = 15_000;
    }
  });

  it('records the stream once in the access log when it ends', async () => {
    const { kg } = env();
    const streamsLogged = async () => {
      await kg.accessLog.flush();
      const rows = await kg.stores.db
        .selectFrom('access_log')
        .select('status')
        .where('route', '=', '/api/v1.0/events')
        .where('status', '=', 200)
        .execute();
      return rows.length;
    };
    // Earlier streams of this suite may still be on their way to the log: wait for them first.
    let before = await streamsLogged();
    for (let i = 0; i < 400 && before < readers.length; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      before = await streamsLogged();
    }
    const stream = await open();
    await stream.next();
    assert.equal(await streamsLogged(), before, 'not while it is open');
    stream.close();
    await stream.ended;
    // The server hears of the closed connection a moment later: polled, not assumed.
    for (let i = 0; i < 400; i++) {
      const now = await streamsLogged();
      if (now > before) {
        assert.equal(now, before + 1, 'recorded once');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.fail('no access-log record for the stream');
  });

  it('ends open streams when the app closes, so closing is not held up', async () => {
    const { kg } = env();
    const other = await buildApp(kg);
    await other.listen({ port: 0, host: '127.0.0.1' });
    const otherPort = (other.server.address() as AddressInfo).port;
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(
        { host: '127.0.0.1', port: otherPort, path: '/api/v1.0/events', headers: { 'x-api-key': verifierKey } },
        resolve,
      ).on('error', reject),
    );
    const stream = new SseReader(res);
    readers.push(stream);
    await stream.next();
    await other.close();
    await stream.ended;
    assert.ok(res.complete, 'the response ended properly, not cut off');
  });

  it('ends every subscription when the keygate closes its stream', () => {
    const { kg } = env();
    const events = new EventStream(kg.feed, kg.stores, kg.cache, kg.access);
    let ended = 0;
    const sent: string[] = [];
    events.subscribe({
      caller: { kind: 'user', user: { id: 'usr_x', active: true, systemRole: 'user', roles: new Map() } },
      send: (e) => sent.push(e.event),
      end: () => ended++,
    });
    events.close();
    events.close();
    assert.deepEqual(sent, ['ready']);
    assert.equal(ended, 1);
    // A closed stream no longer hears the feed, and refuses new subscribers at once.
    events.subscribe({
      caller: { kind: 'user', user: { id: 'usr_x', active: true, systemRole: 'user', roles: new Map() } },
      send: (e) => sent.push(e.event),
      end: () => ended++,
    });
    kg.feed.publish([{ kind: 'token', id: 'tok_after' }]);
    assert.equal(ended, 2);
    assert.deepEqual(sent, ['ready']);
  });
});
