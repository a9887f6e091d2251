/**
 * bench:scale — a million tokens through the CLI's bulk import, then a cold keygate over them.
 *
 * Per dialect (SQLite, and PostgreSQL when BENCH_POSTGRES_URL or KEYGATE_TEST_POSTGRES_URL is set):
 *  1. baseline: the same number of token rows written by plain batched INSERTs through the store
 *     modules (bench/keygate.ts's seeder: 1,000 rows a transaction, no checks, no audit);
 *  2. `keygate token import FILE --keys-out KEYS --progress`: the real CLI, pinned to the server core;
 *  3. `keygate serve` started cold over that store: time to GET /ready answering 200;
 *  4. POST /api/v1.0/verify for keys not yet cached, each presented once (an in-Node client,
 *     bench/client.ts, pinned to the load core), at 1 and at 10 requests in flight: p50 and p99;
 *  5. the server's RSS after that.
 * Keys exist in the temp dir's keys file and in memory only; nothing printed holds one.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { randomBase62 } from '../src/domain/keys.js';
import { cpuShare, cpuSnapshot, type CpuShare, type CpuSnapshot } from './cpu.js';
import { pinSelf, rssMb, percentile, VerifyClient, verifyEachOnce } from './client.js';
import {
  KEYGATE_ENTRY,
  keygateEnv,
  keygateUnavailable,
  seedKeygate,
  serveKeygate,
  staleBuildWarning,
} from './keygate.js';
import { freePort, installExitHooks, killAll, runBenchmark, spawnPinned } from './proc.js';
import { envNumber, loadSettings } from './settings.js';

const ROOT = join(import.meta.dirname, '..');
const TARGET_RATE = 5_000;
const TARGET_READY_MS = 2_000;
const TARGET_P99_MS = 2;
const TARGET_RSS_MB = 400;

const tokens = Math.round(envNumber('BENCH_TOKENS', 1_000_000, 10));
const verifyKeys = Math.round(envNumber('BENCH_VERIFY_KEYS', 20_000, 10));
const { serverCpu, loadCpu } = loadSettings();
const pgUrl = process.env.BENCH_POSTGRES_URL ?? process.env.KEYGATE_TEST_POSTGRES_URL;
const dialects = (process.env.BENCH_DIALECTS ?? (pgUrl ? 'sqlite,postgres' : 'sqlite'))
  .split(',')
  .map((d) => d.trim())
  .filter((d): d is 'sqlite' | 'postgres' => d === 'sqlite' || d === 'postgres');

const temps: string[] = [];
const schemas: string[] = [];
const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const check = (ok: boolean): string => (ok ? 'PASS' : 'MISS');

/** How a core was shared while something ran: on a busy machine, neighbours slow it, not keygate. */
function shareText(share: CpuShare | null): string {
  return share === null
    ? 'core share unknown'
    : `it had ${share.serverPct}% of its core, other processes ${share.otherPct}%`;
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A fresh store for one step: its own data dir, and for PostgreSQL its own schema. */
function freshStore(dialect: 'sqlite' | 'postgres', port: number): NodeJS.ProcessEnv {
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-scale-'));
  temps.push(dataDir);
  const env = keygateEnv({ dataDir, port });
  if (dialect === 'postgres') {
    const schema = `bench_${randomBase62(10).toLowerCase()}`;
    schemas.push(schema);
    Object.assign(env, { KEYGATE_DATABASE_URL: pgUrl, KEYGATE_DATABASE_SCHEMA: schema });
  }
  return env;
}

async function cleanUp(): Promise<void> {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
  for (const schema of schemas.splice(0)) await dropSchema(schema).catch(() => {});
}

/** Runs the built CLI with `args` to its end; its stdout, or an error with its output. */
async function cli(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const proc = spawnPinned({
    name: `keygate ${args.slice(0, 2).join(' ')}`,
    cpu: serverCpu,
    command: process.execPath,
    args: [KEYGATE_ENTRY, ...args],
    cwd: ROOT,
    env,
    keepStdout: true,
  });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${proc.name} exited with ${code}\n${proc.output()}`);
  return proc.stdout();
}

/** The import's input: a keys:verify token first (the verify caller), then reader tokens. */
async function writeInput(path: string, resourceId: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string) =>
    out.write(text) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  await write(
    `${JSON.stringify({ resourceId, name: 'bench verifier', permissions: ['keys:verify'], apiGroups: ['verify'] })}\n`,
  );
  let chunk = '';
  for (let i = 1; i < count; i++) {
    chunk += `${JSON.stringify({ resourceId, name: `bench ${i}`, level: 'reader' })}\n`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** The verifier's key (line 1) and `count` keys spread evenly over the rest of the keys file. */
async function readKeys(path: string, total: number, count: number): Promise<{ caller: string; sample: string[] }> {
  const every = Math.max(1, Math.floor((total - 1) / count));
  let caller = '';
  const sample: string[] = [];
  let n = 0;
  for await (const text of createInterface({ input: createReadStream(path) })) {
    n++;
    const { key } = JSON.parse(text) as { key: string };
    if (n === 1) caller = key;
    else if ((n - 2) % every === 0 && sample.length < count) sample.push(key);
  }
  return { caller, sample };
}

interface DialectResult {
  dialect: string;
  baselineRate: number;
  importRate: number;
  importWallRate: number;
  importPeakMb: number;
  readyMs: number;
  verify: {
    connections: number;
    keys: number;
    p50: number;
    p99: number;
    wrong: number;
    rps: number;
    share: CpuShare | null;
  }[];
  importShare: CpuShare | null;
  rssMb: number;
  rssPeakMb: number;
}

async function measure(dialect: 'sqlite' | 'postgres'): Promise<DialectResult> {
  log(`\n== ${dialect}: ${fmt(tokens)} tokens ==`);

  // 1. The baseline: plain batched INSERTs of the same rows, through the store modules.
  const baseEnv = freshStore(dialect, 0);
  const t0 = Date.now();
  await seedKeygate(baseEnv, tokens, 0);
  const baselineRate = tokens / ((Date.now() - t0) / 1000);
  log(`baseline: plain batched INSERT through the store: ${fmt(baselineRate)} tokens/s`);
  await cleanUp();

  // 2. The import, through the CLI.
  const port = await freePort();
  const env = freshStore(dialect, port);
  const work = mkdtempSync(join(tmpdir(), 'keygate-scale-work-'));
  temps.push(work);
  await cli({ ...env, KEYGATE_ADMIN_PASSWORD: `bench-${randomBase62(20)}` }, [
    'admin',
    'create',
    '--email',
    'bench-import@example.invalid',
  ]);
  const account = (
    await cli(env, [
      'resource',
      'create',
      '--as',
      'bench-import@example.invalid',
      '--type',
      'account',
      '--name',
      'Bench',
    ])
  ).trim();
  const input = join(work, 'tokens.ndjson');
  const keysOut = join(work, 'keys.ndjson');
  await writeInput(input, account, tokens);
  const tImport = Date.now();
  const importer = spawnPinned({
    name: 'keygate token import',
    cpu: serverCpu,
    command: process.execPath,
    args: [
      KEYGATE_ENTRY,
      'token',
      'import',
      input,
      '--as',
      'bench-import@example.invalid',
      '--keys-out',
      keysOut,
      '--progress',
    ],
    cwd: ROOT,
    env,
    keepStdout: true,
  });
  // The CLI prints a progress line a second (its stderr is a pipe here): redrawn in place on a terminal.
  // Each line also samples its peak memory and how much of its core it got (the last sample is
  // within a second of its end).
  let peakMb = 0;
  const cpuBefore = cpuSnapshot(serverCpu, importer.child.pid);
  let cpuLast: CpuSnapshot = cpuBefore;
  importer.child.stderr?.on('data', (chunk: Buffer) => {
    peakMb = Math.max(peakMb, rssMb(importer.child.pid, 'VmHWM') || 0);
    cpuLast = cpuSnapshot(serverCpu, importer.child.pid);
    const last = chunk.toString('utf8').trim().split('\n').pop() ?? '';
    if (process.stderr.isTTY) process.stderr.write(`\r  ${last}\x1b[K`);
    else process.stderr.write(`  ${last}\n`);
  });
  const code = await importer.exited;
  if (process.stderr.isTTY) process.stderr.write('\n');
  if (code !== 0) throw new Error(`the import exited with ${code}\n${importer.output()}`);
  const wallS = (Date.now() - tImport) / 1000;
  const summary = importer.stdout().trim();
  const m = /imported (\d+) tokens from \d+ lines in ([\d.]+) s/.exec(summary);
  if (!m || Number(m[1]) !== tokens) throw new Error(`unexpected import summary: ${summary}`);
  const importRate = tokens / Number(m[2]);
  const importWallRate = tokens / wallS;
  const importShare = cpuShare(cpuBefore, cpuLast);
  log(
    `import: ${fmt(importRate)} tokens/s by the CLI's own clock (${fmt(importWallRate)} tokens/s from process start to exit, ${wallS.toFixed(1)} s); ` +
      `${(importRate / baselineRate).toFixed(2)} × the baseline; CLI peak RSS ${fmt(peakMb)} MB; ${shareText(importShare)}`,
  );
  rmSync(input, { force: true });

  // 3. Cold start: a new server process over the imported store, until /ready answers 200.
  const tStart = Date.now();
  const { server, baseUrl } = await serveKeygate({
    root: ROOT,
    cpu: serverCpu,
    port,
    env,
    name: 'keygate serve',
    probe: '/ready',
  });
  const readyMs = Date.now() - tStart;
  log(`cold start to /ready: ${fmt(readyMs)} ms (polled every 100 ms)`);

  // 4. Keys not yet cached, each presented once.
  const { caller, sample } = await readKeys(keysOut, tokens, verifyKeys);
  pinSelf(loadCpu);
  const verify: DialectResult['verify'] = [];
  const half = Math.floor(sample.length / 2);
  for (const [connections, keys] of [
    [1, sample.slice(0, half)],
    [10, sample.slice(half)],
  ] as const) {
    const client = new VerifyClient(baseUrl, caller, connections);
    try {
      const before = cpuSnapshot(serverCpu, server.child.pid);
      const r = await verifyEachOnce(client, keys, connections);
      const share = cpuShare(before, cpuSnapshot(serverCpu, server.child.pid));
      verify.push({
        connections,
        keys: keys.length,
        p50: percentile(r.sorted, 50),
        p99: percentile(r.sorted, 99),
        wrong: r.wrong,
        rps: keys.length / r.seconds,
        share,
      });
    } finally {
      await client.close();
    }
    const v = verify[verify.length - 1]!;
    log(
      `verify, uncached, ${connections} in flight: ${fmt(v.keys)} keys once each, p50 ${v.p50.toFixed(2)} ms, p99 ${v.p99.toFixed(2)} ms, ${fmt(v.rps)} req/s; ${shareText(v.share)}${v.wrong ? `, ${v.wrong} WRONG ANSWERS` : ''}`,
    );
  }
  const rss = rssMb(server.child.pid);
  const rssPeak = rssMb(server.child.pid, 'VmHWM');
  log(`server RSS after: ${fmt(rss)} MB (peak ${fmt(rssPeak)} MB)`);
  await server.stop();
  await cleanUp();
  return {
    dialect,
    baselineRate,
    importRate,
    importWallRate,
    importPeakMb: peakMb,
    importShare,
    readyMs,
    verify,
    rssMb: rss,
    rssPeakMb: rssPeak,
  };
}

async function main(): Promise<void> {
  installExitHooks(cleanUp);
  const missing = keygateUnavailable(ROOT);
  if (missing) throw new Error(missing);
  const stale = staleBuildWarning(ROOT);
  if (stale) log(`warning: ${stale}`);
  log(`keygate scale benchmark — ${new Date().toISOString()}`);
  log(
    `${fmt(tokens)} tokens; CLI and server on core ${serverCpu}, client on core ${loadCpu}; ${fmt(verifyKeys)} uncached keys for verify`,
  );
  const results: DialectResult[] = [];
  for (const d of dialects) results.push(await measure(d));

  log('\n== summary ==');
  for (const r of results) {
    log(`${r.dialect}:`);
    const rateTarget =
      r.dialect === 'sqlite' ? ` — target ≥ ${fmt(TARGET_RATE)}: ${check(r.importRate >= TARGET_RATE)}` : '';
    log(
      `  import            ${fmt(r.importRate)} tokens/s (${(r.importRate / r.baselineRate).toFixed(2)} × plain INSERT at ${fmt(r.baselineRate)}/s)${rateTarget}`,
    );
    if (r.importShare && r.importShare.serverPct > 0)
      log(
        `                    ${fmt(r.importRate / (r.importShare.serverPct / 100))} tokens per second of its own cpu (it had ${r.importShare.serverPct}% of its core)` +
          (r.dialect === 'postgres' ? "; PostgreSQL's own cpu is not counted" : ''),
      );
    log(
      `  cold start        ${fmt(r.readyMs)} ms to /ready — target < ${fmt(TARGET_READY_MS)}: ${check(r.readyMs < TARGET_READY_MS)}`,
    );
    for (const v of r.verify)
      log(
        `  verify @${String(v.connections).padEnd(2)}       p50 ${v.p50.toFixed(2)} ms, p99 ${v.p99.toFixed(2)} ms — target p99 < ${TARGET_P99_MS}: ${v.wrong ? 'ERR' : check(v.p99 < TARGET_P99_MS)}`,
      );
    log(`  RSS after         ${fmt(r.rssMb)} MB — target < ${TARGET_RSS_MB}: ${check(r.rssMb < TARGET_RSS_MB)}`);
  }
  await killAll();
}

runBenchmark(main);
