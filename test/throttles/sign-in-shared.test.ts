import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Limiters } from '../../src/cluster/limiter.js';
import { buildApp } from '../../src/http/app.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import { SharedSignInThrottle, type ThrottleOptions } from '../../src/services/sign-in-throttle.js';
import { PASSWORD, email } from '../support/client.js';
import { DIALECTS, createTestCluster, type TestEnv } from '../support/harness.js';
import { REDIS_PRESENT, startTestRedis, type TestRedis } from '../support/redis.js';
import { limited, redisBack, redisLost } from './helpers.js';

/**
 * Waits of a minute and more: the store keeps real time, so a test never waits one out; it
 * deletes the wait's key instead (what its expiry would do) when it needs the next step.
 */
const SLOW: ThrottleOptions = {
  account: { free: 3, baseMs: 60_000, maxMs: 240_000 },
  address: { free: 10, baseMs: 60_000, maxMs: 600_000 },
  forgetAfterMs: 3_600_000,
  maxEntries: 1_000,
};

describe('SharedSignInThrottle in process (no Redis)', () => {
  it('lets the free failures through, then makes the next wait; a success forgets the account', async () => {
    const t = new SharedSignInThrottle(new Limiters(null, 'open'), SLOW);
    for (let i = 0; i < 3; i++) assert.equal(await t.attempt('a@x', '192.0.2.1'), 0);
    const wait = await t.attempt('a@x', '192.0.2.1');
    assert.ok(wait > 55 && wait <= 60, `wait ${wait}`);
    assert.equal(await t.attempt('b@x', '192.0.2.1'), 0, 'another account from the same address goes ahead');

    await t.attempt('c@x', '192.0.2.2');
    await t.attempt('c@x', '192.0.2.2');
    await t.succeeded('c@x', '192.0.2.2');
    for (let i = 0; i < 3; i++) assert.equal(await t.attempt('c@x', '192.0.2.2'), 0, 'the count started again');
  });

  it('never lets more than the free failures through when 200 guesses arrive at once', async () => {
    const t = new SharedSignInThrottle(new Limiters(null, 'open'), SLOW);
    const answers = await Promise.all(Array.from({ length: 200 }, () => t.attempt('d@x', '192.0.2.3')));
    const through = answers.filter((w) => w === 0).length;
    assert.ok(through >= 1 && through <= 3, `${through} went ahead`);
  });

  it('many addresses guessing one account: the account waits all the same', async () => {
    const t = new SharedSignInThrottle(new Limiters(null, 'open'), SLOW);
    for (let i = 0; i < 3; i++) assert.equal(await t.attempt('e@x', `10.0.0.${i}`), 0);
    for (let i = 0; i < 20; i++) assert.ok((await t.attempt('e@x', `10.0.1.${i}`)) > 0);
  });
});

for (const dialect of DIALECTS) {
  describe(`sign-in throttle shared through Redis [${dialect.name}]`, { skip: !REDIS_PRESENT }, () => {
    let redis: TestRedis;
    let cluster: { instances: TestEnv[]; dispose(): Promise<void> };
    let closed: { instances: TestEnv[]; dispose(): Promise<void> };
    /** One app per instance with SLOW waits, over the instance's own limiters (so its own Redis connection). */
    let apps: FastifyTypebox[];
    let closedApp: FastifyTypebox;

    before(async () => {
      redis = await startTestRedis();
      cluster = await createTestCluster(dialect.url, 2, {
        env: { KEYGATE_REDIS_URL: redis.url, KEYGATE_REDIS_DOWN: 'open' },
      });
      closed = await createTestCluster(dialect.url, 1, {
        env: { KEYGATE_REDIS_URL: redis.url, KEYGATE_REDIS_DOWN: 'closed' },
      });
      apps = await Promise.all(
        cluster.instances.map(({ kg }) =>
          buildApp(kg, { signInThrottle: new SharedSignInThrottle(kg.limiters, SLOW) }),
        ),
      );
      const { kg } = closed.instances[0]!;
      closedApp = await buildApp(kg, { signInThrottle: new SharedSignInThrottle(kg.limiters, SLOW) });
      await Promise.all([...cluster.instances, ...closed.instances].map(({ kg }) => redisBack(kg)));
    });
    after(async () => {
      for (const app of apps ?? []) await app.close();
      await closedApp?.close();
      await cluster?.dispose();
      await closed?.dispose();
      await redis?.dispose();
    });

    const signIn = async (app: FastifyTypebox, address: string, password: string, from = '192.0.2.50') => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1.0/session',
        remoteAddress: from,
        payload: { email: address, password },
      });
      return { status: res.statusCode, body: res.json(), headers: res.headers };
    };

    it('the server throttles over keygate.limiters by default', () => {
      assert.ok(cluster.instances[0]!.app.signInThrottle instanceof SharedSignInThrottle);
    });

    it('failures on instance A make instance B wait (429, Retry-After), the right password included', async () => {
      const [a, b] = apps as [FastifyTypebox, FastifyTypebox];
      const { kg } = cluster.instances[0]!;
      const address = email('shared');
      await kg.users.create({ email: address, password: PASSWORD }, 'system');
      const before = await limited(cluster.instances[1]!.kg, 'sign_in');
      for (let i = 0; i < 3; i++) assert.equal((await signIn(a, address, `wrong ${i}`)).status, 401);
      for (const password of ['wrong again', PASSWORD]) {
        const r = await signIn(b, address, password, '192.0.2.51');
        assert.equal(r.status, 429, JSON.stringify(r.body));
        assert.equal(r.body.error.code, 'RATE_LIMITED');
        const retry = Number(r.headers['retry-after']);
        assert.ok(retry > 55 && retry <= 60, `Retry-After: ${retry}`);
      }
      assert.equal(await limited(cluster.instances[1]!.kg, 'sign_in'), before + 2);
    });

    it('each wait doubles, up to the cap, whichever instance is asked', async () => {
      const [a, b] = apps as [FastifyTypebox, FastifyTypebox];
      const { kg } = cluster.instances[0]!;
      const address = email('doubling');
      await kg.users.create({ email: address, password: PASSWORD }, 'system');
      for (let i = 0; i < 3; i++) await signIn(a, address, `wrong ${i}`, '192.0.2.70');
      const waits: number[] = [];
      for (let step = 0; step < 3; step++) {
        // The wait's key expiring is what would happen once it has passed.
        await kg.redis!.del(`keygate:sign-in:account:gate:${address}`);
        const next = await signIn(step % 2 ? a : b, address, `wrong after wait ${step}`, '192.0.2.70');
        assert.equal(next.status, 401, 'once the wait has passed, one attempt goes ahead');
        waits.push(Number((await signIn(step % 2 ? b : a, address, 'too soon', '192.0.2.70')).headers['retry-after']));
      }
      // 60 s after the free failures (the test above), then doubled: 120, 240, and capped at 240.
      const near = (got: number, want: number) => got > want - 5 && got <= want;
      assert.ok(near(waits[0]!, 120) && near(waits[1]!, 240) && near(waits[2]!, 240), `waits: ${waits}`);
    });

    it('Redis stopped: `open` throttles with local counts, `closed` refuses sign-ins with 503; never a 500', async () => {
      const [a] = apps as [FastifyTypebox];
      const { kg } = cluster.instances[0]!;
      const address = email('outage');
      await kg.users.create({ email: address, password: PASSWORD }, 'system');
      const closedUser = email('outage-closed');
      await closed.instances[0]!.kg.users.create({ email: closedUser, password: PASSWORD }, 'system');
      await redis.stop();
      try {
        await redisLost(kg);
        await redisLost(closed.instances[0]!.kg);
        const answers = [];
        for (let i = 0; i < 5; i++) answers.push((await signIn(a, address, `wrong ${i}`, '192.0.2.60')).status);
        assert.deepEqual(answers, [401, 401, 401, 429, 429], 'counted in this process while Redis is away');

        const r = await signIn(closedApp, closedUser, PASSWORD, '192.0.2.61');
        assert.equal(r.status, 503, JSON.stringify(r.body));
        assert.equal(r.body.error.code, 'UNAVAILABLE');
      } finally {
        await redis.start();
      }
      await redisBack(closed.instances[0]!.kg);
      assert.equal((await signIn(closedApp, closedUser, PASSWORD, '192.0.2.61')).status, 200);
    });
  });
}
