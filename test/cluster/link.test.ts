import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel, ChannelEvents } from '../../src/cluster/channel.js';
import { ClusterLink } from '../../src/cluster/link.js';
import { encodeMessages } from '../../src/cluster/message.js';
import type { Change } from '../../src/domain/change.js';
import type { ChangeOrigin } from '../../src/services/change-feed.js';
import { createTestEnv, type TestEnv } from '../support/harness.js';

/** A channel the test drives by hand. */
class FakeChannel implements Channel {
  constructor(readonly events: ChannelEvents) {}
  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

describe('the cluster link: the cache TTL, resets and remote changes [sqlite only]', () => {
  let env: TestEnv & { dispose(): Promise<void> };
  let link: ClusterLink;
  let channel: FakeChannel;
  const errors: string[] = [];
  const heard: { changes: readonly Change[]; origin: ChangeOrigin }[] = [];
  const local: (readonly Change[])[] = [];
  const states: string[] = [];

  before(async () => {
    env = await createTestEnv(undefined, { KEYGATE_CACHE_TTL_MS: '30000' });
    const { kg } = env;
    kg.feed.subscribe((changes) => heard.push({ changes, origin: 'local' }));
    kg.feed.onLocal((changes) => local.push(changes));
    kg.feed.onChannel((state) => states.push(state));
    link = new ClusterLink(
      { channel: 'redis', fallbackTtlMs: 1_000, heartbeatMs: 1_000 },
      {
        feed: kg.feed,
        cache: kg.cache,
        metrics: kg.metrics,
        ttlMs: 30_000,
        databaseUrl: undefined,
        schema: undefined,
        redisUrl: 'redis://unused',
        // No Redis: what this process publishes is not sent anywhere in this test.
        redis: null,
        onError: (err) => errors.push((err as Error).message),
        openChannel: (events) => {
          channel = new FakeChannel(events);
          return channel;
        },
      },
    );
  });
  after(async () => {
    await link.close();
    await env.dispose();
  });

  it('before the channel first connects, entries live only the fallback TTL', async () => {
    await link.start();
    assert.equal(link.status().connected, false);
    assert.equal(env.kg.cache.ttl, 1_000);
    assert.equal(env.kg.events.live, false, 'the SDK event stream waits for the channel');
  });

  it('once connected, the normal TTL applies and every copy-keeper hears "restored"', () => {
    channel.events.up();
    assert.deepEqual(link.status(), { channel: 'redis', connected: true });
    assert.equal(env.kg.cache.ttl, 30_000);
    assert.deepEqual(states, ['lost', 'restored']);
    assert.equal(env.kg.events.live, true);
  });

  it("another instance's changes are published here as remote, and not sent back out", () => {
    heard.length = 0;
    local.length = 0;
    const changes: Change[] = [{ kind: 'token', id: 'tok_other' }];
    for (const text of encodeMessages('another-instance', Date.now(), changes)) channel.events.message(text);
    assert.deepEqual(
      heard.map((h) => h.changes),
      [changes],
    );
    assert.equal(local.length, 0, 'a remote change is not published to the channel again');
  });

  it("this instance's own messages are ignored (they were applied at commit)", () => {
    heard.length = 0;
    for (const text of encodeMessages(link.origin, Date.now(), [{ kind: 'user', id: 'usr_1' }]))
      channel.events.message(text);
    assert.equal(heard.length, 0);
  });

  it('a message that is not a keygate change is ignored and reported', () => {
    heard.length = 0;
    channel.events.message('{"o":"x","t":1,"c":[{"kind":"nope"}]}');
    assert.equal(heard.length, 0);
    assert.ok(errors.some((e) => e.includes('not a keygate change')));
  });

  it('losing the channel shortens the TTL, pauses the event stream and is counted', async () => {
    channel.events.down(new Error('connection reset'));
    assert.equal(link.status().connected, false);
    assert.equal(env.kg.cache.ttl, 1_000);
    assert.equal(env.kg.events.live, false);
    assert.deepEqual(states, ['lost', 'restored', 'lost']);
    assert.match(await env.kg.metrics.scrape(), /keygate_channel_losses_total 1/);
  });

  it('coming back drops every cached entry: what changed meanwhile is unknown', async () => {
    const { kg } = env;
    await kg.users.ensureAdmin('link-admin@example.com', 'a long enough password');
    const user = await kg.stores.users.findByEmail('link-admin@example.com');
    assert.ok(user);
    await kg.cache.user(user.id);
    const cached = kg.cache.peekUser(user.id);
    assert.equal(typeof cached, 'object', 'the user is cached');
    channel.events.up();
    assert.equal(typeof kg.cache.peekUser(user.id), 'symbol', 'dropped on reconnect');
    assert.equal(kg.cache.ttl, 30_000);
    assert.equal(env.kg.events.live, true);
  });
});
