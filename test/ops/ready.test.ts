import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDraining } from '../../src/ops/lifecycle.js';
import { createTestEnv, DIALECTS, forEachDialect, type TestEnv } from '../support/harness.js';
import { REDIS_PRESENT, startTestRedis, type TestRedis } from '../support/redis.js';

/**
 * GET /ready: whether a load balancer should send this instance requests. The database, the
 * change channel and (when configured) Redis must answer; a shutting-down instance answers 503
 * at once. /health stays liveness.
 */

async function ready(env: TestEnv) {
  const res = await env.app.inject({ method: 'GET', url: '/ready' });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

forEachDialect('GET /ready', (env) => {
  it('is ready with the database and the channel up (no Redis configured: not checked)', async () => {
    const r = await ready(env());
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { status: 'ready', checks: { database: 'ok', channel: 'ok' } });
  });

  it('answers 503 at once while the instance shuts down, in the error envelope; /health stays 200', async () => {
    startDraining(env().kg);
    const r = await ready(env());
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, 'UNAVAILABLE');
    assert.match(r.body.error.requestId, /\S/);
    assert.deepEqual(r.body.checks, { shutdown: 'failed' });
    assert.equal((await env().app.inject('/health')).statusCode, 200);
  });
});

for (const dialect of DIALECTS) {
  describe(`GET /ready with Redis configured [${dialect.name}]`, { skip: !REDIS_PRESENT && 'no redis-server' }, () => {
    let redis: TestRedis;
    let env: TestEnv & { dispose(): Promise<void> };
    before(async () => {
      redis = await startTestRedis();
      env = await createTestEnv(dialect.url, { KEYGATE_REDIS_URL: redis.url });
    });
    after(async () => {
      await env?.dispose();
      await redis?.dispose();
    });

    /** Asks until the answer has the status wanted; Redis reconnects on its own schedule. */
    async function until(status: number) {
      for (let i = 0; i < 200; i++) {
        const r = await ready(env);
        if (r.status === status) return r;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return ready(env);
    }

    it('is ready with Redis up', async () => {
      const r = await until(200);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.checks.redis, 'ok');
    });

    it('answers 503 naming redis while Redis is stopped, the database still ok', async () => {
      await redis.stop();
      const r = await until(503);
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'UNAVAILABLE');
      assert.match(r.body.error.message, /redis/);
      assert.equal(r.body.checks.redis, 'failed');
      assert.equal(r.body.checks.database, 'ok');
      assert.equal((await env.app.inject('/health')).statusCode, 200, 'liveness does not depend on Redis');
    });

    it('is ready again once Redis is back', async () => {
      await redis.start();
      const r = await until(200);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.checks.redis, 'ok');
    });
  });
}
