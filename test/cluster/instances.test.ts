import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { randomBase62 } from '../../src/domain/keys.js';
import { REDIS_PRESENT, startTestRedis, type TestRedis } from '../support/redis.js';
import { ADMIN, type Instance, signIn, startInstance } from './instances.js';

const PG_URL = process.env.KEYGATE_TEST_POSTGRES_URL;
if (!PG_URL && process.env.KEYGATE_TEST_REQUIRE_POSTGRES === '1')
  throw new Error('KEYGATE_TEST_REQUIRE_POSTGRES=1 but KEYGATE_TEST_POSTGRES_URL is not set');

/**
 * Long enough that only the channel (or dropping caches when it comes back) can explain another
 * instance refusing a key within the test's deadline; the fallback TTL is what bounds staleness
 * while the channel is lost.
 */
const CACHE_TTL_MS = 600_000;
const FALLBACK_TTL_MS = 1_000;
/** How long a test waits for a refusal: far below the cache TTL, far above any propagation seen. */
const DEADLINE_MS = 10_000;

type Call = Awaited<ReturnType<typeof signIn>>;

/** Status of GET /me with `key` on `instance`. */
async function me(instance: Instance, key: string): Promise<number> {
  return (await fetch(`${instance.base}/api/v1.0/me`, { headers: { 'x-api-key': key } })).status;
}

/** Waits until `probe` is true, failing after DEADLINE_MS. */
async function eventually(what: string, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await probe())) {
    if (Date.now() - start > DEADLINE_MS) assert.fail(`${what}: not within ${DEADLINE_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}

function clusterSuite(channel: 'postgres' | 'redis'): void {
  const skip = !PG_URL || (channel === 'redis' && !REDIS_PRESENT);
  describe(`three keygate processes on one PostgreSQL, changes over ${channel} [cluster]`, { skip }, () => {
    const schema = `c_${randomBase62(10).toLowerCase()}`;
    const instances: Instance[] = [];
    const minted: string[] = [];
    let redis: TestRedis | null = null;
    let admin: Call;
    let account: string;
    let a: Instance;
    let others: Instance[];

    before(async () => {
      if (channel === 'redis') redis = await startTestRedis();
      const env = {
        KEYGATE_DATABASE_URL: PG_URL!,
        KEYGATE_DATABASE_SCHEMA: schema,
        KEYGATE_CACHE_TTL_MS: String(CACHE_TTL_MS),
        KEYGATE_CHANNEL_FALLBACK_TTL_MS: String(FALLBACK_TTL_MS),
        KEYGATE_CHANNEL_HEARTBEAT_MS: '250',
        ...(redis ? { KEYGATE_REDIS_URL: redis.url } : {}),
      };
      // The first migrates the schema; the others start on a migrated database.
      instances.push(await startInstance('A', env));
      instances.push(...(await Promise.all([startInstance('B', env), startInstance('C', env)])));
      [a] = instances as [Instance];
      others = instances.slice(1);
      admin = await signIn(a.base);
      const created = await admin('POST', '/resources', { type: 'account', name: 'Acme' });
      assert.equal(created.status, 201);
      account = created.body.id;
    });

    after(async () => {
      await Promise.all(instances.map((i) => i.stop()));
      for (const i of instances)
        for (const key of minted) assert.ok(!i.output().includes(key), `instance ${i.name} printed a key`);
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      await redis?.dispose();
    });

    /** A new token on `resource` (default: the account), made through instance A. */
    async function token(
      body: Record<string, unknown> = {},
      resource = account,
      call: Call = admin,
    ): Promise<{ id: string; key: string }> {
      const res = await call('POST', `/resources/${resource}/tokens`, { name: `t-${randomBase62(6)}`, ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      minted.push(res.body.key);
      return { id: res.body.token?.id ?? res.body.id, key: res.body.key };
    }

    /** Every other instance answers `key` with 200 now (so each has it cached). */
    async function warm(key: string, path = '/me'): Promise<void> {
      for (const i of others) {
        const status = (await fetch(`${i.base}/api/v1.0${path}`, { headers: { 'x-api-key': key } })).status;
        assert.equal(status, 200, `${i.name} accepts the key before the change`);
      }
    }

    /** Every other instance refuses `key` within the deadline. */
    async function refusedEverywhere(what: string, key: string, path = '/me'): Promise<void> {
      for (const i of others)
        await eventually(`${what} on ${i.name}`, async () => {
          const status = (await fetch(`${i.base}/api/v1.0${path}`, { headers: { 'x-api-key': key } })).status;
          return status === 401 || status === 403 || status === 404;
        });
    }

    it('a token deactivated through one instance is refused by the other two', async () => {
      const t = await token();
      await warm(t.key);
      assert.equal((await admin('PATCH', `/tokens/${t.id}`, { active: false })).status, 200);
      await refusedEverywhere('deactivated', t.key);
    });

    it('a rolled key without grace is refused by the others, and the new key works there', async () => {
      const t = await token();
      await warm(t.key);
      const rolled = await admin('POST', `/tokens/${t.id}/roll`, { graceSeconds: 0 });
      assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
      minted.push(rolled.body.key);
      await refusedEverywhere('old key after the roll', t.key);
      for (const i of others) assert.equal(await me(i, rolled.body.key), 200, `${i.name} accepts the new key`);
    });

    it('a permission taken away through one instance is refused by the others', async () => {
      const t = await token({ permissions: ['resources:read', 'members:read'] });
      const path = `/resources/${account}/members`;
      await warm(t.key, path);
      const patched = await admin('PATCH', `/tokens/${t.id}`, { permissions: ['resources:read'] });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      await refusedEverywhere('narrowed token', t.key, path);
      for (const i of others) assert.equal(await me(i, t.key), 200, `${i.name}: the token itself still works`);
    });

    it("a disabled owner's token is refused by the others", async () => {
      const email = `owner-${randomBase62(6).toLowerCase()}@example.com`;
      const user = await admin('POST', '/users', { email, password: ADMIN.password });
      assert.equal(user.status, 201, JSON.stringify(user.body));
      const role = await admin('PUT', `/resources/${account}/members/${user.body.id}`, { role: 'manager' });
      assert.ok(role.status === 200 || role.status === 201, JSON.stringify(role.body));
      const owner = await signIn(a.base, email, ADMIN.password);
      const t = await token({}, account, owner);
      await warm(t.key);
      assert.equal((await admin('PATCH', `/users/${user.body.id}`, { active: false })).status, 200);
      await refusedEverywhere("disabled owner's token", t.key);
    });

    it('a token whose owner lost their role is refused by the others', async () => {
      const email = `member-${randomBase62(6).toLowerCase()}@example.com`;
      const user = await admin('POST', '/users', { email, password: ADMIN.password });
      assert.equal(user.status, 201, JSON.stringify(user.body));
      const member = `/resources/${account}/members/${user.body.id}`;
      assert.ok([200, 201].includes((await admin('PUT', member, { role: 'manager' })).status));
      const owner = await signIn(a.base, email, ADMIN.password);
      const t = await token({}, account, owner);
      const path = `/resources/${account}`;
      await warm(t.key, path);
      const removed = await admin('DELETE', member);
      assert.ok([200, 204].includes(removed.status), JSON.stringify(removed.body));
      await refusedEverywhere('token of an owner without a role', t.key, path);
    });

    it('a token on a deleted resource is refused by the others', async () => {
      const folder = await admin('POST', '/resources', { type: 'folder', name: 'Doomed', parentId: account });
      assert.equal(folder.status, 201, JSON.stringify(folder.body));
      const t = await token({}, folder.body.id);
      await warm(t.key);
      const deleted = await admin('DELETE', `/resources/${folder.body.id}`);
      assert.ok(deleted.status === 204 || deleted.status === 200, JSON.stringify(deleted.body));
      await refusedEverywhere('token on the deleted folder', t.key);
    });

    it('an SDK event stream on another instance hears the change', async () => {
      const verifier = await token({ permissions: ['keys:verify'], apiGroups: ['verify'] });
      const t = await token();
      const controller = new AbortController();
      const res = await fetch(`${others[0]!.base}/api/v1.0/events`, {
        headers: { 'x-api-key': verifier.key },
        signal: controller.signal,
      });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      let text = '';
      const read = async () => {
        const { value } = await reader.read();
        text += new TextDecoder().decode(value);
      };
      while (!text.includes('event: ready')) await read();
      assert.equal((await admin('PATCH', `/tokens/${t.id}`, { active: false })).status, 200);
      await eventually('the change event', async () => {
        if (!text.includes(t.id)) await read();
        return text.includes(t.id);
      });
      controller.abort();
    });

    it('credits are spent exactly once across the three instances', async () => {
      const t = await token({ credits: { remaining: 20 } });
      const statuses = await Promise.all(Array.from({ length: 60 }, (_, n) => me(instances[n % 3]!, t.key)));
      assert.equal(statuses.filter((s) => s === 200).length, 20, 'exactly the credits were admitted');
      assert.equal(statuses.filter((s) => s === 429).length, 40, 'the rest: 429 USAGE_EXCEEDED');
    });

    if (channel === 'redis')
      it('a rate limit counted in Redis holds across the three instances', async () => {
        const t = await token({ rateLimit: { limit: 10, window: '1h' } });
        const statuses = await Promise.all(Array.from({ length: 45 }, (_, n) => me(instances[n % 3]!, t.key)));
        // Counted atomically in Redis, so no margin: never more than the limit.
        assert.equal(statuses.filter((s) => s === 200).length, 10);
        assert.equal(statuses.filter((s) => s === 429).length, 35);
        const limited = await fetch(`${others[0]!.base}/api/v1.0/me`, { headers: { 'x-api-key': t.key } });
        assert.equal(limited.status, 429);
        assert.equal(((await limited.json()) as { error: { code: string } }).error.code, 'RATE_LIMITED');
        assert.match(limited.headers.get('ratelimit') ?? '', /r=0/);
        assert.ok(Number(limited.headers.get('retry-after')) > 0);
      });

    it('with the channel cut, a change is still refused within the fallback TTL, and the channel comes back', async () => {
      const t = await token();
      await warm(t.key);
      if (channel === 'postgres') {
        // Every listening connection of this schema is killed; the instances notice and reconnect.
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        const killed = await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [`keygate:listen:${schema}`],
        );
        await client.end();
        assert.equal(killed.rowCount, 3, 'one listening connection per instance');
      } else {
        await redis!.stop();
      }
      const changed = Date.now();
      assert.equal((await admin('PATCH', `/tokens/${t.id}`, { active: false })).status, 200);
      await refusedEverywhere('deactivated while the channel is cut', t.key);
      const took = Date.now() - changed;
      assert.ok(took < CACHE_TTL_MS / 10, `refused after ${took} ms, so not by the cache TTL`);
      if (redis) await redis.start();
      // Back on the channel: a later change reaches the others again.
      const later = await token();
      await warm(later.key);
      await eventually('the channel is back', async () => {
        const ready = await Promise.all(instances.map((i) => fetch(`${i.base}/ready`).then((r) => r.status)));
        return ready.every((s) => s === 200);
      });
      assert.equal((await admin('PATCH', `/tokens/${later.id}`, { active: false })).status, 200);
      await refusedEverywhere('deactivated after the channel came back', later.key);
    });
  });
}

clusterSuite('postgres');
clusterSuite('redis');
