/**
 * keygate's logging benchmark: (1) the cost of access logging on the hot path — GET /me with a
 * token that logs nothing against one that logs request and response bodies, same server, same
 * run, alternating rounds; (2) filtered pages of the access log over millions of records seeded
 * straight into the database, on SQLite and (with BENCH_POSTGRES_URL) PostgreSQL; (3) the rate and
 * the keygate process's peak memory while it streams the whole log as NDJSON. Servers are pinned
 * to one core, wrk and this harness to the other; traffic stays on 127.0.0.1. It prints PASS/MISS
 * against the targets; it does not assert. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { keygateEnv, keygateUnavailable, serveKeygate, staleBuildWarning } from './keygate.js';
import {
  countCallerRecords,
  dropSchema,
  logStartMs,
  type Population,
  resourceIdOf,
  type SeededCallers,
  seedAccessLogPostgres,
  seedAccessLogSqlite,
  seedPopulation,
  tokenIdOf,
} from './logging-seed.js';
import { freePort, installExitHooks, killAll, type Pinned, runBenchmark, redactKeys } from './proc.js';
import { luaScript, runWrk, type WrkResult } from './wrk.js';
import { envNumber, loadSettings } from './settings.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const settings = {
  /** Which parts run: 1 = /me overhead, 2 = filtered pages, 3 = export. */
  parts: new Set(
    (process.env.BENCH_LOG_PARTS ?? '1,2,3')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean),
  ),
  ...loadSettings(),
  records: Math.round(envNumber('BENCH_LOG_RECORDS', 10_000_000, 1_000)),
  pageRequests: Math.round(envNumber('BENCH_LOG_PAGES', 2_000, 6)),
  deepPages: Math.round(envNumber('BENCH_LOG_DEEP_PAGES', 40, 1)),
  pageConcurrency: Math.round(envNumber('BENCH_LOG_CONCURRENCY', 1, 1)),
  exportTimeoutS: Math.round(envNumber('BENCH_LOG_EXPORT_TIMEOUT', 900, 10)),
  /** Unset: SQLite only. */
  postgresUrl: process.env.BENCH_POSTGRES_URL || undefined,
  /** Passed on as KEYGATE_ACCESS_LOG_FLUSH_MS when set; keygate's default otherwise. */
  flushMs: process.env.BENCH_LOG_FLUSH_MS || undefined,
  keepTmp: /^(1|true|yes)$/i.test(process.env.BENCH_KEEP_TMP ?? ''),
};
const population: Population = { tokens: 1_000, owners: 100, resources: 100 };

const TARGETS = { overheadRatio: 0.85, pageP99Ms: 50, exportPeakMb: 150 } as const;
const ME = '/api/v1.0/me';
const LOGS = '/api/v1.0/logs/access';
const EXPORT = '/api/v1.0/logs/access/export';

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
/** Keys never reach the terminal or the results file. */
const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const fmtMs = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '—');
const pad = (s: string, w: number): string => s.padStart(w);
const padEnd = (s: string, w: number): string => s.padEnd(w);

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile of already sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface Check {
  name: string;
  value: number;
  unit: 'ratio' | 'ms' | 'MB';
  op: '>=' | '<';
  threshold: number;
  result: 'PASS' | 'MISS' | 'ERR' | 'n/a';
  note?: string | undefined;
}
const checks: Check[] = [];

function addCheck(c: Omit<Check, 'result'> & { errors?: number; available?: boolean }): void {
  const { errors = 0, available = true, ...rest } = c;
  let result: Check['result'];
  let note = rest.note;
  if (!available || !Number.isFinite(rest.value)) result = 'n/a';
  else if (errors > 0) {
    result = 'ERR';
    note = [note, `${errors} failed requests`].filter(Boolean).join('; ');
  } else result = (rest.op === '>=' ? rest.value >= rest.threshold : rest.value < rest.threshold) ? 'PASS' : 'MISS';
  checks.push({ ...rest, result, note });
}

/** A progress bar on stderr, redrawn in place; on a pipe, a line every 10 %. */
function progressBar(
  label: string,
  unit = 'records',
): { update: (done: number, total: number) => void; end: () => void } {
  const t0 = Date.now();
  const tty = process.stderr.isTTY === true;
  let lastTenth = -1;
  let drawn = false;
  return {
    update(done, total) {
      const s = (Date.now() - t0) / 1000;
      const rate = s > 0 ? done / s : 0;
      const eta = rate > 0 ? (total - done) / rate : Number.NaN;
      const text = `${fmtInt(done)}/${fmtInt(total)}  ${fmtInt(rate)} ${unit}/s  ${s.toFixed(0)} s${done < total && Number.isFinite(eta) ? `, ~${eta.toFixed(0)} s left` : ''}`;
      if (tty) {
        const width = 30;
        const full = Math.round((width * done) / total);
        process.stderr.write(
          `\r  ${label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${pad(((100 * done) / total).toFixed(0), 3)}%  ${text}\x1b[K`,
        );
        drawn = true;
      } else {
        const tenth = Math.floor((10 * done) / total);
        if (tenth !== lastTenth) {
          lastTenth = tenth;
          process.stderr.write(`  ${label} ${pad(String(tenth * 10), 3)}%  ${text}\n`);
        }
      }
    },
    end() {
      if (drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}

function preflight(): void {
  for (const cpu of [settings.serverCpu, settings.loadCpu]) {
    const r = spawnSync('taskset', ['-c', String(cpu), 'true'], { stdio: 'pipe' });
    if (r.error || r.status !== 0) throw new Error(`cannot run taskset -c ${cpu}: ${r.error?.message ?? r.stderr}`);
  }
  if (settings.parts.has('1')) {
    const wrk = spawnSync('wrk', ['--version'], { stdio: 'pipe' });
    if (wrk.error) throw new Error(`wrk not found: ${wrk.error.message}`);
    if (settings.connections.length === 0) throw new Error('BENCH_CONNECTIONS names no connection counts');
  }
  if (settings.serverCpu === settings.loadCpu)
    log(`warning: the server and the load share cpu ${settings.serverCpu}; figures will be low`);
  // This process makes the page requests and reads the export: it belongs on the load core.
  spawnSync('taskset', ['-a', '-p', '-c', String(settings.loadCpu), String(process.pid)], { stdio: 'ignore' });
}

interface Server {
  proc: Pinned;
  baseUrl: string;
}

/** Starts the built keygate pinned to the server core and waits for /health. */
async function startServer(env: NodeJS.ProcessEnv, port: number): Promise<Server> {
  const { server, baseUrl } = await serveKeygate({
    root: ROOT,
    cpu: settings.serverCpu,
    port,
    env,
    timeoutMs: 120_000,
  });
  return { proc: server, baseUrl };
}

/** One GET with a key; the body as text, the status, and the time to the last byte. */
async function timedGet(url: string, key: string): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { 'X-API-Key': key }, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t0 };
}

// ---------------------------------------------------------------- part 1

interface OverheadRun {
  target: 'quiet' | 'loud';
  round: number;
  result: WrkResult;
  cpu: CpuShare | null;
  loadCpu: CpuShare | null;
}

/** GET /me with logging none against request+response: alternating order in each round. */
async function partOverhead(
  server: Server,
  callers: SeededCallers,
  tmp: string,
): Promise<{ runs: OverheadRun[]; probes: Record<string, string> }> {
  const script = (name: string, key: string): string => {
    const file = join(tmp, name);
    writeFileSync(file, luaScript([{ method: 'GET', path: ME, headers: { 'X-API-Key': key } }]), { mode: 0o600 });
    return file;
  };
  const targets = {
    quiet: { label: 'GET /me, logging none', script: script('me-quiet.lua', callers.quietKey) },
    loud: { label: 'GET /me, logging request+response', script: script('me-loud.lua', callers.loudKey) },
  };
  const probes: Record<string, string> = {};
  for (const [id, key] of [
    ['quiet', callers.quietKey],
    ['loud', callers.loudKey],
  ] as const) {
    const r = await timedGet(`${server.baseUrl}${ME}`, key);
    probes[id] = `${r.status}`;
    log(
      `  probe ${padEnd(targets[id].label, 36)} → ${r.status} ${redactKeys(r.text.slice(0, 120))}${r.text.length > 120 ? '…' : ''}`,
    );
    if (r.status !== 200) throw new Error(`GET /me answered ${r.status} for the ${id} token`);
  }
  const runs: OverheadRun[] = [];
  const url = `${server.baseUrl}${ME}`;
  const pid = server.proc.child.pid;
  const total = settings.rounds * settings.connections.length * 2;
  let n = 0;
  for (let round = 1; round <= settings.rounds; round++) {
    for (const c of settings.connections) {
      // Alternating which goes first cancels a drift of the machine within the round.
      const order: ('quiet' | 'loud')[] = round % 2 === 1 ? ['quiet', 'loud'] : ['loud', 'quiet'];
      for (const id of order) {
        n++;
        const base = { url, connections: c, cpu: settings.loadCpu, script: targets[id].script };
        if (round === 1 && settings.warmupS > 0) await runWrk({ ...base, durationS: settings.warmupS });
        const before = cpuSnapshot(settings.serverCpu, pid);
        const { result, loadCpu } = await runWrk({ ...base, durationS: settings.durationS });
        const cpu = cpuShare(before, cpuSnapshot(settings.serverCpu, pid));
        runs.push({ target: id, round, result, cpu, loadCpu });
        const errs = result.non2xx + Object.values(result.socketErrors).reduce((a, b) => a + b, 0);
        log(
          `  [${pad(String(n), String(total).length)}/${total}] ${padEnd(targets[id].label, 36)} c=${pad(String(c), 3)}  ${pad(fmtInt(result.rps), 8)} req/s  ` +
            `p50 ${pad(fmtMs(result.p50Ms), 6)} ms  p99 ${pad(fmtMs(result.p99Ms), 6)} ms` +
            (cpu
              ? `  cpu${settings.serverCpu}: server ${cpu.serverPct}% other ${cpu.otherPct}% idle ${cpu.idlePct}%`
              : '') +
            (errs > 0 ? `  ERRORS ${errs}` : ''),
        );
      }
    }
  }
  return { runs, probes };
}

function reportOverhead(runs: OverheadRun[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const errorsOf = (r: WrkResult): number => r.non2xx + Object.values(r.socketErrors).reduce((a, b) => a + b, 0);
  log('');
  log(
    `GET /me: logging none vs request+response${settings.rounds > 1 ? ` (median of ${settings.rounds} rounds)` : ''}`,
  );
  log(
    `  ${pad('conns', 5)}  ${pad('none req/s', 11)}  ${pad('p99 ms', 7)}  ${pad('r+r req/s', 11)}  ${pad('p99 ms', 7)}  ratio  per cpu`,
  );
  for (const c of settings.connections) {
    const of = (id: 'quiet' | 'loud'): OverheadRun[] =>
      runs.filter((r) => r.target === id && r.result.connections === c);
    const ratios: number[] = [];
    const perCpu: number[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const q = of('quiet').find((r) => r.round === round);
      const l = of('loud').find((r) => r.round === round);
      if (!q || !l) continue;
      ratios.push(l.result.rps / q.result.rps);
      if (q.cpu && l.cpu && q.cpu.serverPct > 0 && l.cpu.serverPct > 0)
        perCpu.push(l.result.rps / (l.cpu.serverPct / 100) / (q.result.rps / (q.cpu.serverPct / 100)));
    }
    const row = {
      none: {
        rps: median(of('quiet').map((r) => r.result.rps)),
        p99Ms: median(of('quiet').map((r) => r.result.p99Ms)),
      },
      requestResponse: {
        rps: median(of('loud').map((r) => r.result.rps)),
        p99Ms: median(of('loud').map((r) => r.result.p99Ms)),
      },
      ratio: median(ratios),
      ratioPerCpu: median(perCpu),
      roundRatios: ratios,
    };
    out[String(c)] = row;
    log(
      `  ${pad(String(c), 5)}  ${pad(fmtInt(row.none.rps), 11)}  ${pad(fmtMs(row.none.p99Ms), 7)}  ${pad(fmtInt(row.requestResponse.rps), 11)}  ${pad(fmtMs(row.requestResponse.p99Ms), 7)}  ` +
        `${Number.isFinite(row.ratio) ? row.ratio.toFixed(2) : '—'}   ${Number.isFinite(row.ratioPerCpu) ? row.ratioPerCpu.toFixed(2) : '—'}`,
    );
    const errors = [...of('quiet'), ...of('loud')].reduce((s, r) => s + errorsOf(r.result), 0);
    const spread = ratios.length > 1 ? `rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}` : undefined;
    addCheck({
      name: `/me request+response / none @${c}`,
      value: row.ratio,
      unit: 'ratio',
      op: '>=',
      threshold: TARGETS.overheadRatio,
      errors,
      note: spread,
    });
    addCheck({
      name: `per cpu: /me r+r / none @${c}`,
      value: row.ratioPerCpu,
      unit: 'ratio',
      op: '>=',
      threshold: TARGETS.overheadRatio,
      errors,
    });
  }
  return out;
}

// ---------------------------------------------------------------- part 2

interface PageScenario {
  id: string;
  label: string;
  /** Query strings of first pages (the filter varies between requests). */
  firsts: string[];
}

interface PageStats {
  scenario: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanItems: number;
}

const DAY = 86_400_000;

function pageScenarios(nowMs: number): PageScenario[] {
  const sample = (n: number, of: number): number[] =>
    Array.from({ length: n }, (_, k) => Math.floor(((k + 0.5) * of) / n));
  const tokens = sample(20, population.tokens).map(tokenIdOf);
  const resources = [...new Set(sample(20, population.tokens).map((t) => resourceIdOf(t, population)))];
  const start = logStartMs(nowMs);
  // Week-long windows in the middle of the seeded month (ISO times).
  const windows = [5, 12, 19].map((d) => ({
    from: new Date(start + d * DAY).toISOString(),
    to: new Date(start + (d + 7) * DAY).toISOString(),
  }));
  const q = (params: Record<string, string>): string => new URLSearchParams({ ...params, limit: '50' }).toString();
  return [
    { id: 'token', label: 'by tokenId', firsts: tokens.map((tokenId) => q({ tokenId })) },
    { id: 'resource', label: 'by resourceId', firsts: resources.map((resourceId) => q({ resourceId })) },
    {
      id: 'status-range',
      label: 'by status class + time range',
      firsts: windows.flatMap((w) => ['4xx', '5xx'].map((status) => q({ status, ...w }))),
    },
  ];
}

interface PageRequest {
  scenario: string;
  query: string;
}

/**
 * Walks `deepPages` pages from some first pages to get deep cursors (each walk's pages are timed
 * but not counted), then sends `pageRequests` requests: first and deep pages of every scenario,
 * interleaved so noise hits all alike, `pageConcurrency` at a time.
 */
async function partPages(
  server: Server,
  systemKey: string,
  nowMs: number,
): Promise<{ stats: PageStats[]; walkMs: number; problem?: string }> {
  const scenarios = pageScenarios(nowMs);
  const base = `${server.baseUrl}${LOGS}`;
  const probe = await timedGet(`${base}?${scenarios[0]!.firsts[0]}`, systemKey);
  log(
    `  probe GET ${LOGS}?${scenarios[0]!.firsts[0]} → ${probe.status} (${fmtMs(probe.ms)} ms) ${redactKeys(probe.text.slice(0, 160))}…`,
  );
  if (probe.status !== 200) {
    const problem =
      probe.status === 404 && probe.text.includes('ROUTE_NOT_FOUND')
        ? `${LOGS} answers 404 ROUTE_NOT_FOUND: the read API is not in this build`
        : `${LOGS} answered ${probe.status}: ${redactKeys(probe.text.slice(0, 300))}`;
    return { stats: [], walkMs: 0, problem };
  }

  const requests: PageRequest[][] = [];
  const t0 = Date.now();
  for (const s of scenarios) {
    requests.push(s.firsts.map((query) => ({ scenario: `${s.id}, first page`, query })));
    // Deep cursors from a handful of the filters: a few walks of deepPages pages each.
    const deep: PageRequest[] = [];
    for (const first of s.firsts.slice(0, 4)) {
      let cursor: string | null = null;
      for (let page = 0; page < settings.deepPages; page++) {
        const r = await timedGet(`${base}?${first}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, systemKey);
        if (r.status !== 200) break;
        const next = (JSON.parse(r.text) as { nextCursor?: string | null }).nextCursor ?? null;
        if (next === null) break;
        cursor = next;
      }
      if (cursor !== null)
        deep.push({ scenario: `${s.id}, deep page`, query: `${first}&cursor=${encodeURIComponent(cursor)}` });
    }
    if (deep.length > 0) requests.push(deep);
  }
  const walkMs = Date.now() - t0;
  log(
    `  deep cursors: walked up to ${settings.deepPages} pages (${settings.deepPages * 50} records) into each filter in ${(walkMs / 1000).toFixed(1)} s`,
  );

  // Round-robin over the request kinds, cycling each kind's variants.
  const queue: PageRequest[] = [];
  for (let k = 0; queue.length < settings.pageRequests; k++) {
    const kind = requests[k % requests.length]!;
    queue.push(kind[Math.floor(k / requests.length) % kind.length]!);
  }
  const samples = new Map<string, { ms: number[]; errors: number; items: number }>();
  let next = 0;
  const bar = progressBar('pages', 'requests');
  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      const req = queue[next++]!;
      const s = samples.get(req.scenario) ?? { ms: [], errors: 0, items: 0 };
      samples.set(req.scenario, s);
      try {
        const r = await timedGet(`${base}?${req.query}`, systemKey);
        s.ms.push(r.ms);
        if (r.status !== 200) s.errors++;
        else s.items += ((JSON.parse(r.text) as { items?: unknown[] }).items ?? []).length;
      } catch {
        s.errors++;
      }
      if (next % 50 === 0 || next === queue.length) bar.update(next, queue.length);
    }
  };
  await Promise.all(Array.from({ length: settings.pageConcurrency }, worker));
  bar.end();

  const stats: PageStats[] = [];
  const all: number[] = [];
  let allErrors = 0;
  for (const [scenario, s] of samples) {
    const sorted = [...s.ms].sort((a, b) => a - b);
    all.push(...s.ms);
    allErrors += s.errors;
    stats.push({
      scenario,
      requests: s.ms.length,
      errors: s.errors,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted[sorted.length - 1] ?? Number.NaN,
      meanItems: s.ms.length - s.errors > 0 ? s.items / (s.ms.length - s.errors) : 0,
    });
  }
  all.sort((a, b) => a - b);
  stats.push({
    scenario: 'all',
    requests: all.length,
    errors: allErrors,
    p50Ms: percentile(all, 50),
    p99Ms: percentile(all, 99),
    maxMs: all[all.length - 1] ?? Number.NaN,
    meanItems: Number.NaN,
  });
  return { stats, walkMs };
}

function reportPages(dialect: string, stats: PageStats[]): void {
  log(
    `  ${padEnd('filtered page', 36)}  ${pad('requests', 8)}  ${pad('p50 ms', 7)}  ${pad('p99 ms', 7)}  ${pad('max ms', 7)}  ${pad('items', 5)}  errors`,
  );
  for (const s of stats)
    log(
      `  ${padEnd(s.scenario, 36)}  ${pad(String(s.requests), 8)}  ${pad(fmtMs(s.p50Ms), 7)}  ${pad(fmtMs(s.p99Ms), 7)}  ${pad(fmtMs(s.maxMs), 7)}  ${pad(Number.isFinite(s.meanItems) ? s.meanItems.toFixed(0) : '', 5)}  ${s.errors}`,
    );
  for (const s of stats)
    addCheck({
      name: `${dialect}: page p99, ${s.scenario}`,
      value: s.p99Ms,
      unit: 'ms',
      op: '<',
      threshold: TARGETS.pageP99Ms,
      errors: s.errors,
    });
}

// ---------------------------------------------------------------- part 3

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

interface ExportResult {
  records: number;
  bytes: number;
  seconds: number;
  recordsPerS: number;
  status: number;
  rssBeforeMb: number;
  peakRssSampledMb: number;
  vmHwmMb: number;
  problem?: string;
}

/** Streams the whole log as NDJSON from a freshly started server, counting lines and sampling its RSS. */
async function partExport(server: Server, systemKey: string, expected: number): Promise<ExportResult> {
  const pid = server.proc.child.pid!;
  const mb = (kb: number): number => kb / 1024;
  const rssBeforeMb = mb(procStatusKb(pid, 'VmRSS'));
  let peakKb = 0;
  const sampler = setInterval(() => {
    peakKb = Math.max(peakKb, procStatusKb(pid, 'VmRSS') || 0);
  }, 50);
  const t0 = performance.now();
  let records = 0;
  let bytes = 0;
  let status = 0;
  let problem: string | undefined;
  const bar = progressBar('export');
  try {
    const res = await fetch(`${server.baseUrl}${EXPORT}?format=ndjson`, {
      headers: { 'X-API-Key': systemKey },
      signal: AbortSignal.timeout(settings.exportTimeoutS * 1_000),
    });
    status = res.status;
    if (res.status !== 200 || !res.body) {
      const text = await res.text();
      problem =
        res.status === 404 && text.includes('ROUTE_NOT_FOUND')
          ? `${EXPORT} answers 404 ROUTE_NOT_FOUND: the export is not in this build`
          : `${EXPORT} answered ${res.status}: ${redactKeys(text.slice(0, 300))}`;
    } else {
      let lastDraw = 0;
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) records++;
        if (records - lastDraw >= 100_000) {
          lastDraw = records;
          bar.update(Math.min(records, expected), expected);
        }
      }
      bar.update(records, Math.max(records, expected));
    }
  } catch (err) {
    problem = `export failed after ${fmtInt(records)} records: ${(err as Error).message}`;
  } finally {
    clearInterval(sampler);
    bar.end();
  }
  const seconds = (performance.now() - t0) / 1000;
  peakKb = Math.max(peakKb, procStatusKb(pid, 'VmRSS') || 0);
  return {
    records,
    bytes,
    seconds,
    recordsPerS: records / seconds,
    status,
    rssBeforeMb,
    peakRssSampledMb: mb(peakKb),
    vmHwmMb: mb(procStatusKb(pid, 'VmHWM')),
    ...(problem ? { problem } : {}),
  };
}

// ---------------------------------------------------------------- a dialect

interface DialectReport {
  dialect: 'sqlite' | 'postgres';
  seed: {
    records: number;
    seconds: number;
    recordsPerS: number;
    indexS: number;
    vacuumS?: number;
    partitions?: number;
  };
  pages?: { stats: PageStats[]; walkMs: number; problem?: string };
  export?: ExportResult;
}

async function runDialect(
  dialect: 'sqlite' | 'postgres',
  tmp: string,
  report: Record<string, unknown>,
): Promise<DialectReport> {
  const port = await freePort();
  const dataDir = join(tmp, `data-${dialect}`);
  const schema = `keygate_bench_${randomBytes(4).toString('hex')}`;
  const env: NodeJS.ProcessEnv = { ...keygateEnv({ dataDir, port }) };
  if (settings.flushMs) env.KEYGATE_ACCESS_LOG_FLUSH_MS = settings.flushMs;
  if (dialect === 'postgres') {
    env.KEYGATE_DATABASE_URL = settings.postgresUrl!;
    env.KEYGATE_DATABASE_SCHEMA = schema;
  }
  log(`— ${dialect}${dialect === 'postgres' ? ` (schema ${schema}; the PostgreSQL server itself is not pinned)` : ''}`);
  const callers = await seedPopulation(env, population);
  log(
    `  seeded ${population.owners} owners, ${population.resources} resources, ${fmtInt(population.tokens)} tokens and the callers`,
  );
  const out: Partial<DialectReport> = { dialect };
  try {
    if (dialect === 'sqlite' && settings.parts.has('1')) {
      log('');
      log(
        `part 1 — GET /me overhead of logging: ${settings.rounds} round(s) × ${settings.connections.join('/')} connections × 2 tokens, ${settings.durationS} s runs`,
      );
      const server = await startServer(env, port);
      const { runs } = await partOverhead(server, callers, tmp);
      await server.proc.stop(10_000); // keygate flushes the queue on SIGTERM
      const counts = await countCallerRecords(env, [callers.quietId, callers.loudId]);
      const q = counts[callers.quietId]!;
      const l = counts[callers.loudId]!;
      const served = (id: 'quiet' | 'loud'): number =>
        runs.filter((r) => r.target === id).reduce((s, r) => s + r.result.requests, 0);
      log(
        `  access log after the runs: none token ${fmtInt(q.records)} records (${fmtInt(q.captured)} with capture); ` +
          `request+response token ${fmtInt(l.records)} records (${fmtInt(l.captured)} with capture) — wrk counted ${fmtInt(served('loud'))} measured requests (plus warm-up)`,
      );
      if (l.captured === 0)
        log('  warning: no captured request/response: the request+response token was not logged with bodies');
      report.overhead = { ...reportOverhead(runs), accessLog: { none: q, requestResponse: l } };
      report.overheadRuns = runs;
    }

    if (!settings.parts.has('2') && !settings.parts.has('3')) return out as DialectReport;
    log('');
    log(
      `seeding ${fmtInt(settings.records)} access-log records over 30 days (${dialect}, straight into the database)…`,
    );
    const nowMs = Date.now();
    const bar = progressBar('seeding');
    const t0 = Date.now();
    const seedOpts = {
      count: settings.records,
      nowMs,
      population,
      progress: bar.update,
      phase: (what: string) => {
        bar.end();
        log(`  ${what}`);
      },
    };
    let extra: { indexMs: number; vacuumMs?: number; partitions?: number };
    if (dialect === 'sqlite') extra = seedAccessLogSqlite(dataDir, seedOpts);
    else extra = await seedAccessLogPostgres(settings.postgresUrl!, schema, seedOpts, (l) => log(`  ${l}`));
    bar.end();
    const seconds = (Date.now() - t0) / 1000;
    out.seed = {
      records: settings.records,
      seconds,
      recordsPerS: settings.records / seconds,
      indexS: extra.indexMs / 1000,
      ...(extra.vacuumMs !== undefined ? { vacuumS: extra.vacuumMs / 1000 } : {}),
      ...(extra.partitions !== undefined ? { partitions: extra.partitions } : {}),
    };
    log(
      `  seeded ${fmtInt(settings.records)} records in ${seconds.toFixed(1)} s: ${fmtInt(out.seed.recordsPerS)} records/s overall ` +
        `(index builds ${out.seed.indexS.toFixed(1)} s${out.seed.vacuumS !== undefined ? `, VACUUM ANALYZE ${out.seed.vacuumS.toFixed(1)} s` : ''})`,
    );

    if (settings.parts.has('2')) {
      log('');
      log(
        `part 2 — filtered pages over ${fmtInt(settings.records)} records (${dialect}): ${fmtInt(settings.pageRequests)} requests, ${settings.pageConcurrency} at a time`,
      );
      const server = await startServer(env, port);
      out.pages = await partPages(server, callers.systemKey, nowMs);
      await server.proc.stop(10_000);
      if (out.pages.problem) {
        log(`  not measured: ${out.pages.problem}`);
        addCheck({
          name: `${dialect}: page p99`,
          value: Number.NaN,
          unit: 'ms',
          op: '<',
          threshold: TARGETS.pageP99Ms,
          note: out.pages.problem,
          available: false,
        });
      } else reportPages(dialect, out.pages.stats);
    }

    if (settings.parts.has('3')) {
      log('');
      log(
        `part 3 — full NDJSON export of ${fmtInt(settings.records)}+ records (${dialect}), from a freshly started server`,
      );
      const server = await startServer(env, port);
      out.export = await partExport(server, callers.systemKey, settings.records);
      await server.proc.stop(10_000);
      const e = out.export;
      if (e.problem) log(`  not measured: ${e.problem}`);
      else
        log(
          `  ${fmtInt(e.records)} records (${(e.bytes / 1024 / 1024).toFixed(0)} MB) in ${e.seconds.toFixed(1)} s: ${fmtInt(e.recordsPerS)} records/s; ` +
            `keygate RSS ${e.rssBeforeMb.toFixed(0)} MB before, peak ${e.peakRssSampledMb.toFixed(0)} MB sampled, VmHWM ${e.vmHwmMb.toFixed(0)} MB`,
        );
      if (!e.problem && e.records < settings.records)
        log(
          `  warning: fewer lines than seeded records (${fmtInt(e.records)} < ${fmtInt(settings.records)}): the export stopped early or capped`,
        );
      addCheck({
        name: `${dialect}: export peak RSS (VmHWM)`,
        value: e.problem ? Number.NaN : e.vmHwmMb,
        unit: 'MB',
        op: '<',
        threshold: TARGETS.exportPeakMb,
        available: !e.problem,
        note:
          e.problem ??
          `${fmtInt(e.recordsPerS)} records/s; ${(e.vmHwmMb - e.rssBeforeMb).toFixed(0)} MB above the idle server`,
      });
    }
    return out as DialectReport;
  } finally {
    await killAll();
    if (dialect === 'postgres' && !settings.keepTmp)
      await dropSchema(settings.postgresUrl!, schema).catch((err: unknown) =>
        log(`  could not drop schema ${schema}: ${(err as Error).message}`),
      );
    else if (dialect === 'postgres') log(`  schema kept: ${schema}`);
  }
}

async function main(): Promise<void> {
  preflight();
  const startedAt = new Date();
  const tmp = mkdtempSync(join(tmpdir(), 'keygate-bench-logging-'));
  installExitHooks(async () => {
    if (!settings.keepTmp) rmSync(tmp, { recursive: true, force: true });
  });
  log(`keygate logging benchmark — ${startedAt.toISOString()}`);
  log(
    `  parts ${[...settings.parts].join(',')}; ${fmtInt(settings.records)} log records; SQLite${settings.postgresUrl ? ' and PostgreSQL' : ' only (set BENCH_POSTGRES_URL for PostgreSQL)'}; ` +
      `server on cpu ${settings.serverCpu}, wrk and this harness on cpu ${settings.loadCpu}`,
  );
  log(
    `  ${cpus().length} cpus (${cpus()[0]?.model.trim() ?? '?'}), node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const unavailable = keygateUnavailable(ROOT);
  if (unavailable) throw new Error(unavailable);
  const stale = staleBuildWarning(ROOT);
  if (stale) log(`  warning: ${stale}`);
  log('');

  const report: Record<string, unknown> = {};
  const dialects: DialectReport[] = [];
  try {
    dialects.push(await runDialect('sqlite', tmp, report));
    if (settings.postgresUrl && (settings.parts.has('2') || settings.parts.has('3'))) {
      log('');
      dialects.push(await runDialect('postgres', tmp, report));
    }
  } finally {
    await killAll();
    if (!settings.keepTmp) rmSync(tmp, { recursive: true, force: true });
    else log(`temp dir kept (holds test keys; delete it): ${tmp}`);
  }

  log('');
  log('summary');
  for (const d of dialects) {
    if (d.seed) log(`  ${d.dialect}: seeding ${fmtInt(d.seed.recordsPerS)} records/s`);
    if (d.export && !d.export.problem)
      log(
        `  ${d.dialect}: export ${fmtInt(d.export.recordsPerS)} records/s, ${(d.export.bytes / d.export.seconds / 1024 / 1024).toFixed(0)} MB/s`,
      );
  }
  log(`  ${padEnd('target', 44)}  ${pad('value', 9)}  ${pad('needs', 9)}  result`);
  for (const ch of checks) {
    const value = Number.isFinite(ch.value)
      ? ch.unit === 'ratio'
        ? ch.value.toFixed(2)
        : `${ch.value.toFixed(ch.unit === 'MB' ? 0 : 2)} ${ch.unit}`
      : '—';
    const needs = `${ch.op === '>=' ? '≥' : '<'} ${ch.unit === 'ratio' ? ch.threshold.toFixed(2) : `${ch.threshold} ${ch.unit}`}`;
    log(`  ${padEnd(ch.name, 44)}  ${pad(value, 9)}  ${pad(needs, 9)}  ${ch.result}${ch.note ? `  (${ch.note})` : ''}`);
  }
  if (stale) log(`  warning: ${stale}`);

  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `logging-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const json = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    settings: { ...settings, parts: [...settings.parts], postgresUrl: settings.postgresUrl ? 'set' : null, population },
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model.trim() ?? null,
      node: process.version,
      loadavgAtEnd: loadavg(),
    },
    staleBuild: stale,
    ...report,
    dialects,
    checks,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  log('');
  log(`results written to ${file.slice(ROOT.length + 1)}`);
}

runBenchmark(main);
