import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { asUser, assertError, call, email, PASSWORD } from '../support/client.js';
import { createTestCluster, DIALECTS, type TestEnv } from '../support/harness.js';
import { REDIS_PRESENT, startTestRedis, type TestRedis } from '../support/redis.js';
import { noteSecret } from '../support/secret-scan.js';

/**
 * Two keygates in one process over one database and one real Redis, as two instances behind a
 * load balancer: a token's rate limit is one count across both; credits are exact across both
 * without Redis; and with Redis gone, KEYGATE_REDIS_DOWN=open answers from each instance's own
 * counts while closed answers 503 UNAVAILABLE, and nothing crashes.
 */

const VERIFY = '/api/v1.0/verify';

/** An administrator's account, a verifier key and a minting function on the first instance. */
async function setUp(kg: TestEnv['kg']) {
  const user = await kg.users.create({ email: email('admin'), password: PASSWORD, systemRole: 'admin' }, 'system');
  const admin = await asUser(kg, user.id);
  const account = (await kg.resources.create(admin, { type: 'account', name: 'A' }, null)).id;
  const mint = async (input: Record<string, unknown>) => {
    const { key } = await kg.tokens.create(admin, account, { name: 't', ...input }, null);
    noteSecret(key);
    return key;
  };
  return { mint, verifierKey: await mint({ level: 'administrator', apiGroups: ['verify'] }) };
}

/** Waits until a keygate's Redis connection has noticed the server is gone (an event, not a delay). */
async function redisLost(kg: TestEnv['kg']): Promise<void> {
  const redis = kg.redis!;
  if (redis.status === 'ready') await once(redis, 'close');
}

for (const dialect of DIALECTS) {
  describe(`token limits across instances [${dialect.name}]`, {
    skip: !REDIS_PRESENT && 'redis-server is not installed',
  }, () => {
    let redis: TestRedis;
    let open: Awaited<ReturnType<typeof createTestCluster>>;
    let closed: Awaited<ReturnType<typeof createTestCluster>>;
    let openSide: Awaited<ReturnType<typeof setUp>>;
    let closedSide: Awaited<ReturnType<typeof setUp>>;

    before(async () => {
      redis = await startTestRedis();
      open = await createTestCluster(dialect.url, 2, {
        env: { KEYGATE_REDIS_URL: redis.url, KEYGATE_REDIS_DOWN: 'open' },
      });
      closed = await createTestCluster(dialect.url, 1, {
        env: { KEYGATE_REDIS_URL: redis.url, KEYGATE_REDIS_DOWN: 'closed' },
      });
      openSide = await setUp(open.instances[0]!.kg);
      closedSide = await setUp(closed.instances[0]!.kg);
      for (const { kg } of [...open.instances, ...closed.instances])
        if (kg.redis!.status !== 'ready') await once(kg.redis!, 'ready');
    });
    after(async () => {
      await open?.dispose();
      await closed?.dispose();
      await redis?.dispose();
    });

    const verifyOn = (i: number, key: string, extra: Record<string, unknown> = {}) =>
      call(open.instances[i]!.app, 'POST', VERIFY, { key: openSide.verifierKey, body: { key, ...extra } });

    it('shares one rate-limit count between the two instances through Redis', async () => {
      const key = await openSide.mint({ rateLimit: { limit: 4, window: '1m' } });
      const codes: string[] = [];
      for (let i = 0; i < 6; i++) codes.push((await verifyOn(i % 2, key)).body.code);
      assert.deepEqual(codes, ['VALID', 'VALID', 'VALID', 'VALID', 'RATE_LIMITED', 'RATE_LIMITED']);
    });

    it('spends credits exactly across both instances (50 parallel uses of 20 credits)', async () => {
      const key = await openSide.mint({ credits: { remaining: 20 } });
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => verifyOn(i % 2, key)));
      assert.equal(answers.filter((a) => a.body.valid).length, 20);
      assert.equal(answers.filter((a) => a.body.code === 'USAGE_EXCEEDED').length, 30);
    });

    it('Redis stopped: open answers from local counts, closed answers 503 UNAVAILABLE, and nothing crashes', async () => {
      const openKey = await openSide.mint({ rateLimit: { limit: 2, window: '1m' } });
      const closedKey = await closedSide.mint({ rateLimit: { limit: 2, window: '1m' } });
      await redis.stop();
      for (const { kg } of [...open.instances, ...closed.instances]) await redisLost(kg);

      // Open: each instance counts on its own, so instance 0 still allows the limit, then refuses.
      const codes: string[] = [];
      for (let i = 0; i < 3; i++) codes.push((await verifyOn(0, openKey)).body.code);
      assert.deepEqual(codes, ['VALID', 'VALID', 'RATE_LIMITED']);
      assert.equal((await verifyOn(1, openKey)).body.code, 'VALID', 'the other instance has its own count');
      assert.match(
        await open.instances[0]!.kg.metrics.scrape(),
        /keygate_limit_store_errors_total\{decision="open"\} [1-9]/,
      );

      // Closed: refused, in the envelope, on /verify and on the API alike.
      const { app } = closed.instances[0]!;
      assertError(
        await call(app, 'POST', VERIFY, { key: closedSide.verifierKey, body: { key: closedKey } }),
        503,
        'UNAVAILABLE',
      );
      assertError(await call(app, 'GET', '/api/v1.0/me', { key: closedKey }), 503, 'UNAVAILABLE');
      // Tokens without a rate limit do not need Redis.
      const plain = await closedSide.mint({});
      assert.equal(
        (await call(app, 'POST', VERIFY, { key: closedSide.verifierKey, body: { key: plain } })).body.code,
        'VALID',
      );

      // Redis back: the shared count resumes (empty), and both answer again.
      await redis.start();
      for (const { kg } of [...open.instances, ...closed.instances])
        if (kg.redis!.status !== 'ready') await once(kg.redis!, 'ready');
      assert.equal(
        (await call(app, 'POST', VERIFY, { key: closedSide.verifierKey, body: { key: closedKey } })).body.code,
        'VALID',
      );
    });
  });
}
