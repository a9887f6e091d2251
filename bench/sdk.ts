/**
 * `npm run bench:sdk` — the SDK's costs, as ratios against floors measured in the same run:
 *
 * 1. verify() in-process with a warm cache vs the raw floor: SHA-256 of the key and a Map lookup
 *    (target ≥ 0.5 ×);
 * 2. a Fastify service protected by the SDK's middleware vs the same service open, under wrk
 *    (service on core 0, wrk on core 1; target ≥ 0.8 ×);
 * 3. event propagation: from the acknowledged deactivation of a token to the SDK's refusal of its
 *    key (target p99 < 50 ms).
 *
 * keygate runs from the build (`node dist/cli/main.js serve`) over a fresh SQLite data dir seeded
 * with BENCH_TOKENS reader tokens. Keys live in memory and in temp dirs only; nothing is printed.
 */
import { hash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createVerifier } from '../sdk/src/index.js';
import { keygateUnavailable, startKeygate } from './keygate.js';
import { freePort, installExitHooks, killAll, spawnPinned, waitForHttp, runBenchmark } from './proc.js';
import { envNumber, loadSettings } from './settings.js';
import { runWrk, luaScript } from './wrk.js';

const ROOT = join(import.meta.dirname, '..');
const settings = {
  ...loadSettings(),
  tokenCount: Math.round(envNumber('BENCH_TOKENS', 10_000, 100)),
  loopMs: Math.round(envNumber('BENCH_LOOP_MS', 1_000, 100)),
  propagationRounds: Math.round(envNumber('BENCH_PROPAGATION_ROUNDS', 100, 5)),
};
const log = (line: string) => process.stdout.write(`${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

/** Operations per second of `op` over about `ms` milliseconds, in batches of 1,000 to keep the clock out of it. */
async function opsPerSecond(op: (i: number) => unknown, ms: number): Promise<number> {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 1_000; i++) await op(n + i);
    n += 1_000;
  }
  return n / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const missing = keygateUnavailable(ROOT);
  if (missing) throw new Error(missing);
  installExitHooks(async () => killAll());
  // The measuring process keeps off the servers' core.
  spawnSync('taskset', ['-cp', String(settings.loadCpu), String(process.pid)]);
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-bench-sdk-'));
  try {
    const port = await freePort();
    const kg = await startKeygate({
      root: ROOT,
      dataDir,
      port,
      cpu: settings.serverCpu,
      tokenCount: settings.tokenCount,
      sampleCount: 1_000,
      log,
    });
    const keys = kg.sampleKeys;

    // 1. verify() with a warm cache against SHA-256 + Map.
    const table = new Map(keys.map((k) => [hash('sha256', k), { valid: true, code: 'VALID' }]));
    const verifier = createVerifier({ baseUrl: kg.baseUrl, key: kg.verifierKey, ttlMs: 600_000 });
    for (const k of keys) await verifier.verify(k);
    const floor: number[] = [];
    const sdk: number[] = [];
    for (let r = 0; r < settings.rounds; r++) {
      floor.push(await opsPerSecond((i) => table.get(hash('sha256', keys[i % keys.length]!)), settings.loopMs));
      sdk.push(await opsPerSecond((i) => verifier.verify(keys[i % keys.length]!), settings.loopMs));
    }
    const verifyRatio = median(sdk.map((s, i) => s / floor[i]!));
    log(
      `verify() warm: ${Math.round(median(sdk)).toLocaleString('en-US')}/s; floor SHA-256 + Map: ${Math.round(median(floor)).toLocaleString('en-US')}/s; ratio ${verifyRatio.toFixed(2)} (needs ≥ 0.5)`,
    );

    // 3. propagation, before the load runs (the verifier's stream is connected by now).
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${kg.baseUrl}/api/v1.0${path}`, {
        method,
        headers: { 'x-api-key': kg.callerKey, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
      return (await res.json()) as unknown;
    };
    const listed = (await api('GET', '/tokens?limit=1')) as { items: { resourceId: string }[] };
    const resourceId = listed.items[0]!.resourceId;
    const lags: number[] = [];
    for (let r = 0; r < settings.propagationRounds; r++) {
      const created = (await api('POST', `/resources/${resourceId}/tokens`, {
        name: `propagation ${r}`,
        level: 'reader',
      })) as { id: string; key: string };
      if (!(await verifier.verify(created.key)).valid) throw new Error('a new token was not valid');
      await api('PATCH', `/tokens/${created.id}`, { active: false });
      const acknowledged = performance.now();
      while ((await verifier.verify(created.key)).valid) await new Promise((resolve) => setImmediate(resolve));
      lags.push(performance.now() - acknowledged);
    }
    const p50 = quantile(lags, 0.5);
    const p99 = quantile(lags, 0.99);
    log(
      `propagation (deactivation acknowledged → SDK refuses), ${lags.length} rounds: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (needs p99 < 50 ms)`,
    );
    verifier.close();

    // 2. the middleware under wrk.
    const scriptDir = join(dataDir, 'lua');
    mkdirSync(scriptDir);
    const script = join(scriptDir, 'hello.lua');
    writeFileSync(script, luaScript([{ method: 'GET', path: '/hello', headers: { 'X-API-Key': keys[0]! } }]));
    const service = async (mode: 'open' | 'protected') => {
      const servicePort = await freePort();
      const proc = spawnPinned({
        name: `service ${mode}`,
        cpu: settings.serverCpu,
        command: process.execPath,
        args: ['--import', 'tsx', 'bench/sdk-service.ts'],
        cwd: ROOT,
        env: {
          ...process.env,
          MODE: mode,
          PORT: String(servicePort),
          KEYGATE_URL: kg.baseUrl,
          VERIFIER_KEY: kg.verifierKey,
        },
      });
      const url = `http://127.0.0.1:${servicePort}`;
      await waitForHttp(`${url}/health`, proc, 30_000);
      return { proc, url };
    };
    const results: Record<string, Record<number, number[]>> = { open: {}, protected: {} };
    for (const mode of ['open', 'protected'] as const) {
      const s = await service(mode);
      // Warm-up: the protected service verifies the key once, then answers from its cache.
      await runWrk({ url: `${s.url}/hello`, connections: 10, durationS: 1, cpu: settings.loadCpu, script });
      for (const c of settings.connections)
        for (let r = 0; r < settings.rounds; r++) {
          const { result } = await runWrk({
            url: `${s.url}/hello`,
            connections: c,
            durationS: settings.durationS,
            cpu: settings.loadCpu,
            script,
          });
          if (result.non2xx > 0) throw new Error(`${mode}: ${result.non2xx} non-2xx answers`);
          const runs = results[mode]![c] ?? [];
          runs.push(result.rps);
          results[mode]![c] = runs;
        }
      await s.proc.stop();
    }
    for (const c of settings.connections) {
      const open = median(results.open![c]!);
      const prot = median(results.protected![c]!);
      log(
        `middleware @${c}: open ${Math.round(open).toLocaleString('en-US')} req/s, protected ${Math.round(prot).toLocaleString('en-US')} req/s, ratio ${(prot / open).toFixed(2)} (needs ≥ 0.8)`,
      );
    }
    await kg.server.stop();
  } finally {
    await killAll();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
