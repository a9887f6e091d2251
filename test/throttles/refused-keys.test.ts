import { asUser } from '../support/client.js';
import { noteSecret } from '../support/secret-scan.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Limiters } from '../../src/cluster/limiter.js';
import { openRedis, type Redis } from '../../src/cluster/redis.js';
import { RECHECK_MS, RefusedKeyThrottle } from '../../src/services/refused-key-throttle.js';
import { DIALECTS, createTestCluster, forEachDialect, type TestEnv } from '../support/harness.js';
import { REDIS_PRESENT, startTestRedis, type TestRedis } from '../support/redis.js';
import { limited, me, redisBack, redisLost, unknownKey, validKey } from './helpers.js';

/** Windows and blocks of an hour: nothing here can pass by itself while a test runs. */
const THROTTLE = {
  KEYGATE_REFUSED_KEY_LIMIT: '3',
  KEYGATE_REFUSED_KEY_WINDOW: '1h',
  KEYGATE_REFUSED_KEY_BLOCK: '1h',
};

describe('RefusedKeyThrottle in process', () => {
  const settings = { limit: 3, windowMs: 3_600_000, blockMs: 3_600_000 };

  it('answers synchronously, and blocks an address once it reaches the limit', async () => {
    const t = new RefusedKeyThrottle(new Limiters(null, 'open'), settings);
    for (let i = 0; i < 2; i++) {
      assert.equal(t.check('192.0.2.1'), 0);
      await t.refused('192.0.2.1');
    }
    assert.equal(t.check('192.0.2.1'), 0, 'two refusals: not yet');
    await t.refused('192.0.2.1');
    assert.equal(t.check('192.0.2.1'), 3600, 'the third starts an hour-long block');
    assert.equal(t.check('192.0.2.2'), 0, 'another address is unaffected');
  });

  it('counts only refusals that guess at keys', () => {
    const t = new RefusedKeyThrottle(new Limiters(null, 'open'), settings);
    for (const code of ['KEY_INVALID', 'KEY_MALFORMED', 'AMBIGUOUS_CREDENTIALS']) assert.ok(t.counts(code), code);
    // A revoked or expired key exists: retrying it guesses nothing, and must not block its address's other keys.
    for (const code of [
      'KEY_EXPIRED',
      'KEY_DISABLED',
      'API_GROUP_NOT_ALLOWED',
      'INSUFFICIENT_PERMISSIONS',
      'UNAUTHENTICATED',
      'VALIDATION_FAILED',
    ])
      assert.ok(!t.counts(code), code);
  });

  it('a limit of 0 turns it off', async () => {
    const t = new RefusedKeyThrottle(new Limiters(null, 'open'), { ...settings, limit: 0 });
    for (let i = 0; i < 10; i++) await t.refused('192.0.2.3');
    assert.equal(t.check('192.0.2.3'), 0);
    assert.ok(!t.counts('KEY_INVALID'));
  });
});

forEachDialect(
  'refused-key throttle over the API',
  (env) => {
    let key: string;
    before(async () => {
      key = await validKey(env().kg);
    });

    it('after 3 refused keys an address is refused (429, Retry-After) before any lookup, valid key or not', async () => {
      const { app, kg } = env();
      const attacker = '198.51.100.7';
      assert.equal((await me(app, attacker, unknownKey())).body.error.code, 'KEY_INVALID');
      assert.equal((await me(app, attacker, 'not a key at all')).body.error.code, 'KEY_MALFORMED');
      const twoKeys = await me(app, attacker, unknownKey(), { authorization: `Bearer ${unknownKey()}` });
      assert.equal(twoKeys.body.error.code, 'AMBIGUOUS_CREDENTIALS');

      const looked: string[] = [];
      const evaluate = kg.access.evaluateKey.bind(kg.access);
      kg.access.evaluateKey = (k, o) => {
        looked.push(k);
        return evaluate(k, o);
      };
      const before = await limited(kg, 'refused_keys');
      try {
        for (const presented of [unknownKey(), key]) {
          const r = await me(app, attacker, presented);
          assert.equal(r.status, 429, JSON.stringify(r.body));
          assert.equal(r.body.error.code, 'RATE_LIMITED');
          assert.match(r.body.error.requestId, /\S/);
          const retry = Number(r.headers['retry-after']);
          assert.ok(retry > 3500 && retry <= 3600, `Retry-After: ${r.headers['retry-after']}`);
        }
        assert.deepEqual(looked, [], 'no key from the blocked address was looked up');
        assert.equal(await limited(kg, 'refused_keys'), before + 2);

        const other = await me(app, '198.51.100.8', key);
        assert.equal(other.status, 200, 'another address with the same key is unaffected');
        assert.equal(looked.length, 1);
        // A request that presents no key is not a guess: it is answered as ever.
        assert.equal((await me(app, attacker)).body.error.code, 'UNAUTHENTICATED');
      } finally {
        kg.access.evaluateKey = evaluate;
      }
    });

    it('POST /verify with the client address: its refused keys count, and a blocked address is RATE_LIMITED before any lookup', async () => {
      const { app, kg } = env();
      const admin = await asUser(
        kg,
        (
          await kg.users.create(
            {
              email: `verify-${Date.now()}@example.com`,
              password: 'correct horse battery staple',
              systemRole: 'admin',
            },
            'system',
          )
        ).id,
      );
      const account = await kg.resources.create(admin, { type: 'account', name: 'Verify throttle' }, null);
      const mint = async (input: Record<string, unknown>) => {
        const { key: k } = await kg.tokens.create(admin, account.id, { name: 'v', ...input }, null);
        noteSecret(k);
        return k;
      };
      const verifier = await mint({ permissions: ['keys:verify'], apiGroups: ['verify'] });
      const good = await mint({ level: 'reader' });
      const verify = async (body: Record<string, unknown>) => {
        const res = await app.inject({
          method: 'POST',
          url: '/api/v1.0/verify',
          remoteAddress: '192.0.2.200',
          headers: { 'x-api-key': verifier },
          payload: body,
        });
        return { status: res.statusCode, body: res.json(), headers: res.headers };
      };
      const client = '203.0.113.77';
      for (const k of [unknownKey(), unknownKey(), 'not a key']) {
        const r = await verify({ key: k, ip: client });
        assert.equal(r.status, 200);
        assert.equal(r.body.valid, false);
      }
      const blocked = await verify({ key: good, ip: client });
      assert.equal(blocked.status, 200);
      assert.deepEqual(blocked.body, { valid: false, code: 'RATE_LIMITED', cacheable: false });
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      assert.equal(
        (await verify({ key: good, ip: '203.0.113.78' })).body.code,
        'VALID',
        'another client is unaffected',
      );
      assert.equal((await verify({ key: good })).body.code, 'VALID', 'without an address nothing is blocked');
      assert.equal((await verify({ key: good, ip: 'nonsense' })).body.error.code, 'VALIDATION_FAILED');
    });

    it('refusals that are not about the key do not count', async () => {
      const { app, kg } = env();
      const admin = await kg.users.create(
        { email: `groups-${Date.now()}@example.com`, password: 'correct horse battery staple', systemRole: 'admin' },
        'system',
      );
      const { asUser } = await import('../support/client.js');
      const { key: narrow } = await kg.tokens.create(
        await asUser(kg, admin.id),
        null,
        { name: 'no groups', apiGroups: ['logs'] },
        null,
      );
      const address = '198.51.100.9';
      for (let i = 0; i < 5; i++) {
        const r = await app.inject({
          method: 'GET',
          url: '/api/v1.0/tokens',
          remoteAddress: address,
          headers: { 'x-api-key': narrow },
        });
        assert.equal(r.json().error.code, 'API_GROUP_NOT_ALLOWED');
      }
      assert.equal((await me(app, address, key)).status, 200);
    });
  },
  THROTTLE,
);

for (const dialect of DIALECTS) {
  describe(`refused-key throttle shared through Redis [${dialect.name}]`, { skip: !REDIS_PRESENT }, () => {
    let redis: TestRedis;
    let open: { instances: TestEnv[]; dispose(): Promise<void> };
    let closed: { instances: TestEnv[]; dispose(): Promise<void> };
    let key: string;
    /** A valid key of the `closed` instance's own database. */
    let closedKey: string;

    before(async () => {
      redis = await startTestRedis();
      const shared = { ...THROTTLE, KEYGATE_REDIS_URL: redis.url };
      open = await createTestCluster(dialect.url, 2, { env: { ...shared, KEYGATE_REDIS_DOWN: 'open' } });
      closed = await createTestCluster(dialect.url, 1, { env: { ...shared, KEYGATE_REDIS_DOWN: 'closed' } });
      key = await validKey(open.instances[0]!.kg);
      closedKey = await validKey(closed.instances[0]!.kg);
      await Promise.all([...open.instances, ...closed.instances].map(({ kg }) => redisBack(kg)));
    });
    after(async () => {
      await open?.dispose();
      await closed?.dispose();
      await redis?.dispose();
    });

    it('refusals on instance A block the address on instance B', async () => {
      const [a, b] = open.instances as [TestEnv, TestEnv];
      const attacker = '203.0.113.5';
      for (let i = 0; i < 3; i++) assert.equal((await me(a.app, attacker, unknownKey())).status, 401);
      const refused = await me(b.app, attacker, key);
      assert.equal(refused.status, 429, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'RATE_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) > 3500);
      assert.equal((await me(b.app, '203.0.113.6', key)).status, 200, 'another address is unaffected');
    });

    it('Redis stopped: `open` goes on with this instance’s own counts, `closed` refuses with 503; never a 500', async () => {
      await redis.stop();
      try {
        const [a] = open.instances as [TestEnv];
        const [c] = closed.instances as [TestEnv];
        await redisLost(a.kg);
        await redisLost(c.kg);

        assert.equal((await me(a.app, '203.0.113.20', key)).status, 200, 'open: a valid key still works');
        const attacker = '203.0.113.21';
        for (let i = 0; i < 3; i++) assert.equal((await me(a.app, attacker, unknownKey())).status, 401);
        const blocked = await me(a.app, attacker, key);
        assert.equal(blocked.status, 429, 'open: counted in this process while Redis is away');

        for (const presented of [closedKey, unknownKey()]) {
          const r = await me(c.app, '203.0.113.22', presented);
          assert.equal(r.status, 503, JSON.stringify(r.body));
          assert.equal(r.body.error.code, 'UNAVAILABLE');
        }
        assert.ok((await a.kg.metrics.limitStoreErrors.get()).values.some((v) => v.labels.decision === 'open'));
      } finally {
        await redis.start();
      }
      const [c] = closed.instances as [TestEnv];
      await redisBack(c.kg);
      assert.equal((await me(c.app, '203.0.113.22', closedKey)).status, 200, 'closed: works again once Redis is back');
    });
  });
}

describe('refused-key blocks seen by other instances within the recheck interval', { skip: !REDIS_PRESENT }, () => {
  let redis: TestRedis;
  let connections: Redis[] = [];
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    for (const c of connections) c.disconnect();
    await redis?.dispose();
  });

  it('an address found clean is not asked about again until RECHECK_MS has passed; then the block holds', async () => {
    connections = [openRedis(redis.url), openRedis(redis.url)];
    await Promise.all(connections.map((c) => new Promise((r) => c.once('ready', r))));
    let nowB = 1_000_000;
    const settings = { limit: 3, windowMs: 3_600_000, blockMs: 3_600_000 };
    const a = new RefusedKeyThrottle(new Limiters(connections[0]!, 'closed'), settings);
    const b = new RefusedKeyThrottle(new Limiters(connections[1]!, 'closed'), settings, undefined, () => nowB);
    const address = '198.51.100.60';
    assert.equal(await b.check(address), 0, 'clean, and remembered as clean');
    for (let i = 0; i < 3; i++) await a.refused(address);
    assert.ok((await a.check(address)) > 0, 'blocked where it was counted');
    assert.equal(b.check(address), 0, 'within the recheck interval: answered from memory, without a store call');
    nowB += RECHECK_MS;
    assert.ok((await b.check(address)) > 0, 'past it: the shared block holds here too');
  });
});
