/**
 * keygate's many-instance benchmark: three built keygate processes over one PostgreSQL (changes
 * over LISTEN/NOTIFY, or Redis with BENCH_REDIS=1). It prints
 *  1. revocation propagation: for each of BENCH_REVOCATIONS tokens, the time from the
 *     acknowledged deactivation on instance A to the first refusal on both B and C (p50/p99/max);
 *     the cache TTL is 10 minutes, so only the channel can explain a refusal;
 *  2. verify throughput of the three instances together against one, same total connections;
 *  3. rate-limited verify against unlimited verify on one instance.
 * It prints; it does not assert. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { randomBase62 } from '../src/domain/keys.js';
import { keygateEnv, keygateUnavailable, seedKeygate, serveKeygate, staleBuildWarning } from './keygate.js';
import { freePort, installExitHooks, killAll, type Pinned, runBenchmark, spawnPinned } from './proc.js';
import { envNumber } from './settings.js';
import { luaScript, runWrk, type WrkResult } from './wrk.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const settings = {
  pgUrl:
    process.env.BENCH_POSTGRES_URL ??
    process.env.KEYGATE_TEST_POSTGRES_URL ??
    'postgres://postgres:postgres@127.0.0.1:5432/keygate_test',
  redis: /^(1|true|yes)$/i.test(process.env.BENCH_REDIS ?? ''),
  revocations: Math.round(envNumber('BENCH_REVOCATIONS', 200, 1)),
  tokenCount: Math.round(envNumber('BENCH_TOKENS', 10_000, 10)),
  durationS: Math.round(envNumber('BENCH_DURATION', 5, 1)),
  connections: Math.round(envNumber('BENCH_CONNECTIONS', 48, 3)),
};
/** Every process may run on either core: three servers and their load share two. */
const ANY_CORE = '0-1';

interface Instance {
  name: string;
  base: string;
  server: Pinned;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function startInstance(name: string, env: NodeJS.ProcessEnv): Promise<Instance> {
  const port = await freePort();
  const { server, baseUrl } = await serveKeygate({
    root: ROOT,
    cpu: ANY_CORE,
    port,
    env: { ...env, PORT: String(port) },
    name: `keygate ${name}`,
    probe: '/ready',
  });
  return { name, base: baseUrl, server };
}

/** Status of GET /me with `key`. */
async function me(instance: Instance, key: string): Promise<number> {
  const res = await fetch(`${instance.base}/api/v1.0/me`, { headers: { 'x-api-key': key } });
  await res.arrayBuffer();
  return res.status;
}

/** Milliseconds from `t0` until `instance` refuses `key` (polled back to back). */
async function refusedAfter(instance: Instance, key: string, t0: number): Promise<number> {
  for (;;) {
    const status = await me(instance, key);
    const now = performance.now();
    if (status === 401) return now - t0;
    if (status !== 200) throw new Error(`${instance.name} answered ${status}`);
    if (now - t0 > 30_000) throw new Error(`${instance.name} still accepts a revoked key after 30 s`);
  }
}

/** Runs wrk against each target at once (total connections split evenly) and sums their req/s. */
async function load(bases: string[], script: string): Promise<{ rps: number; results: WrkResult[] }> {
  const each = Math.max(1, Math.round(settings.connections / bases.length));
  const runs = await Promise.all(
    bases.map((base) =>
      runWrk({
        url: `${base}/api/v1.0/verify`,
        connections: each,
        durationS: settings.durationS,
        cpu: ANY_CORE,
        script,
      }),
    ),
  );
  const results = runs.map((r) => r.result);
  for (const r of results)
    if (
      r.non2xx > 0 ||
      r.socketErrors.connect + r.socketErrors.read + r.socketErrors.write + r.socketErrors.timeout > 0
    )
      throw new Error(`wrk saw ${r.non2xx} non-2xx answers and socket errors ${JSON.stringify(r.socketErrors)}`);
  return { rps: results.reduce((sum, r) => sum + r.rps, 0), results };
}

async function main(): Promise<void> {
  installExitHooks(killAll);
  const missing = keygateUnavailable(ROOT);
  if (missing) throw new Error(missing);
  const stale = staleBuildWarning(ROOT);
  if (stale) log(`warning: ${stale}`);
  if (spawnSync('wrk', ['--version']).error) throw new Error('wrk is not installed (apt-get install wrk)');

  const tmp = mkdtempSync(join(tmpdir(), 'keygate-bench-cluster-'));
  const schema = `bench_${randomBase62(10).toLowerCase()}`;
  const admin = new pg.Client({ connectionString: settings.pgUrl });
  await admin.connect();
  let redis: Pinned | null = null;
  try {
    const env: NodeJS.ProcessEnv = {
      ...keygateEnv({ dataDir: tmp, port: 0 }),
      KEYGATE_DATABASE_URL: settings.pgUrl,
      KEYGATE_DATABASE_SCHEMA: schema,
      // Only the channel can make another instance refuse within this.
      KEYGATE_CACHE_TTL_MS: '600000',
    };
    if (settings.redis) {
      const port = await freePort();
      redis = spawnPinned({
        name: 'redis-server',
        cpu: ANY_CORE,
        command: 'redis-server',
        args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      });
      await new Promise((r) => setTimeout(r, 300));
      env.KEYGATE_REDIS_URL = `redis://127.0.0.1:${port}`;
    }
    const sampleCount = settings.revocations + 1_000;
    const seeded = await seedKeygate(env, Math.max(settings.tokenCount, sampleCount), sampleCount);
    const a = await startInstance('A', env);
    const others = await Promise.all([startInstance('B', env), startInstance('C', env)]);
    const all = [a, ...others];
    log(
      `three keygate processes over PostgreSQL (schema ${schema}), changes over ${settings.redis ? 'Redis pub/sub' : 'LISTEN/NOTIFY'}; ` +
        `${settings.tokenCount.toLocaleString('en-US')} tokens; cache TTL 10 min`,
    );

    // 1. Revocation propagation.
    const caller = { 'x-api-key': seeded.callerKey, 'content-type': 'application/json' };
    const lags: number[] = [];
    for (let i = 0; i < settings.revocations; i++) {
      const key = seeded.sampleKeys[i]!;
      for (const o of others) {
        const status = await me(o, key);
        if (status !== 200) {
          const body = await (await fetch(`${o.base}/api/v1.0/me`, { headers: { 'x-api-key': key } })).text();
          throw new Error(`${o.name} refused a live key: ${status} ${body}`);
        }
      }
      const res = await fetch(`${a.base}/api/v1.0/tokens/${seeded.sampleIds[i]}`, {
        method: 'PATCH',
        headers: caller,
        body: JSON.stringify({ active: false }),
      });
      await res.arrayBuffer();
      const t0 = performance.now();
      if (res.status !== 200) throw new Error(`deactivation answered ${res.status}`);
      const each = await Promise.all(others.map((o) => refusedAfter(o, key, t0)));
      lags.push(Math.max(...each));
    }
    lags.sort((x, y) => x - y);
    const p50 = percentile(lags, 50);
    const p99 = percentile(lags, 99);
    const max = lags[lags.length - 1]!;
    log(`\nrevocation → refused on both other instances (${settings.revocations} revocations):`);
    log(`  p50 ${p50.toFixed(2)} ms   p99 ${p99.toFixed(2)} ms   max ${max.toFixed(2)} ms`);
    log(`  p99 < 50 ms: ${p99 < 50 ? 'PASS' : 'MISS'}   max < 250 ms: ${max < 250 ? 'PASS' : 'MISS'}`);

    // 2. Verify throughput: one instance against three, same total connections.
    const liveKeys = seeded.sampleKeys.slice(settings.revocations);
    const verifyScript = (keys: string[]) => {
      const file = join(tmp, `verify-${randomBase62(6)}.lua`);
      writeFileSync(
        file,
        luaScript(
          keys.map((k) => ({
            method: 'POST',
            path: '/api/v1.0/verify',
            headers: { 'x-api-key': seeded.verifierKey, 'content-type': 'application/json' },
            body: JSON.stringify({ key: k }),
          })),
        ),
        { mode: 0o600 },
      );
      return file;
    };
    const script = verifyScript(liveKeys);
    // Warm every cache first, so both runs measure the hot path.
    await load(
      all.map((i) => i.base),
      script,
    );
    const one = await load([a.base], script);
    const three = await load(
      all.map((i) => i.base),
      script,
    );
    log(
      `\nPOST /verify, ${settings.connections} connections in all, ${settings.durationS} s, two cores shared by everything:`,
    );
    log(`  one instance     ${Math.round(one.rps).toLocaleString('en-US')} req/s`);
    log(
      `  three instances  ${Math.round(three.rps).toLocaleString('en-US')} req/s  (${(three.rps / one.rps).toFixed(2)} × one)`,
    );

    // 3. Rate-limited verify against unlimited, on one instance.
    const limitedKeys = liveKeys.slice(0, 200);
    for (let n = 0; n < limitedKeys.length; n++) {
      const id = seeded.sampleIds[settings.revocations + n]!;
      const res = await fetch(`${a.base}/api/v1.0/tokens/${id}`, {
        method: 'PATCH',
        headers: caller,
        // High enough never to refuse during the run: the cost of counting is what is measured.
        body: JSON.stringify({ rateLimit: { limit: 1_000_000_000, window: '1m' } }),
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`setting a rate limit answered ${res.status}`);
    }
    const limitedScript = verifyScript(limitedKeys);
    const unlimitedScript = verifyScript(liveKeys.slice(200, 400));
    await load([a.base], limitedScript);
    const unlimited = await load([a.base], unlimitedScript);
    const limited = await load([a.base], limitedScript);
    const ratio = limited.rps / unlimited.rps;
    log(
      `\nrate-limited verify (counted ${settings.redis ? 'in Redis' : 'in process'}) against unlimited, one instance:`,
    );
    log(`  unlimited  ${Math.round(unlimited.rps).toLocaleString('en-US')} req/s`);
    log(
      `  limited    ${Math.round(limited.rps).toLocaleString('en-US')} req/s  (${ratio.toFixed(2)} ×; ≥ 0.8: ${ratio >= 0.8 ? 'PASS' : 'MISS'})`,
    );
  } finally {
    await killAll();
    await redis?.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
    rmSync(tmp, { recursive: true, force: true });
  }
}

runBenchmark(main);
