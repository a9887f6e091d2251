/**
 * keygate's verify benchmark: in one run, starts two floors and keygate (servers pinned to one
 * core, wrk to the other), loads each with wrk at 10 and 100 connections, and prints req/s,
 * p50/p99 and the ratios against the floors measured in the same run, with PASS/MISS next to
 * each target. It prints; it does not assert. See bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { keygateUnavailable, staleBuildWarning, startKeygate, type KeygateTarget } from './keygate.js';
import {
  freePort,
  installExitHooks,
  killAll,
  spawnPinned,
  waitForHttp,
  type Pinned,
  runBenchmark,
  redactKeys,
} from './proc.js';
import { luaScript, runWrk, type LuaRequest, type WrkResult } from './wrk.js';
import { envNumber, loadSettings } from './settings.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const settings = {
  ...loadSettings(),
  tokenCount: Math.round(envNumber('BENCH_TOKENS', 100_000, 1)),
  sampleCount: 1_000,
  /** A run where other processes took more than this share (%) of either core is repeated… */
  maxOtherPct: envNumber('BENCH_MAX_OTHER', 10, 0),
  /** …at most this many times; the least disturbed attempt is kept. */
  retries: Math.round(envNumber('BENCH_RETRIES', 0, 0)),
  skipKeygate: /^(1|true|yes)$/i.test(process.env.BENCH_SKIP_KEYGATE ?? ''),
  keepTmp: /^(1|true|yes)$/i.test(process.env.BENCH_KEEP_TMP ?? ''),
};
settings.sampleCount = Math.min(settings.sampleCount, settings.tokenCount);

/** Targets are fixed: the ratios and checks below name them. */
type TargetId = 'floor1' | 'floor2' | 'verify' | 'verifyOnly' | 'me';

interface Target {
  id: TargetId;
  label: string;
  url: string;
  /** Pid of the server process, for the cpu accounting. */
  pid: number | undefined;
  /** The server process, to tell a failed run from a server that ended. */
  server: Pinned;
  script?: string | undefined;
  /** One request to check the target answers as expected before it is loaded. */
  probe: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string | undefined };
  /** A probe failure; the target is then not loaded. */
  broken?: string | undefined;
}

interface RunRecord {
  target: TargetId;
  round: number;
  result: WrkResult;
  /** How the server core's time was spent during the measured run. */
  cpu: CpuShare | null;
  /** How wrk's core was spent (serverPct there is wrk itself). */
  loadCpu: CpuShare | null;
  attempt: number;
}

/**
 * How much other processes (or the hypervisor) got in the way, in % of a core: anything they took
 * of the server core; of wrk's core only when it mattered — when that core was full, or when the
 * server sat idle waiting for requests (at 10 connections every delay in wrk is lost throughput).
 * At 100 connections a saturated server does not notice a neighbour of wrk's.
 */
function disturbance(r: Pick<RunRecord, 'cpu' | 'loadCpu'>): number {
  const loadMatters = r.loadCpu !== null && (r.loadCpu.idlePct < 10 || (r.cpu?.idlePct ?? 100) > 10);
  return Math.max(
    r.cpu?.otherPct ?? 0,
    r.cpu?.stealPct ?? 0,
    r.loadCpu?.stealPct ?? 0,
    loadMatters ? r.loadCpu!.otherPct : 0,
  );
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Keys never reach the terminal or the results file. */

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const fmtMs = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '—');
const pad = (s: string, w: number): string => s.padStart(w);
const padEnd = (s: string, w: number): string => s.padEnd(w);

function preflight(): void {
  for (const [cmd, args] of [
    ['taskset', ['-c', String(settings.serverCpu), 'true']],
    ['taskset', ['-c', String(settings.loadCpu), 'true']],
  ] as const) {
    const r = spawnSync(cmd, [...args], { stdio: 'pipe' });
    if (r.error || r.status !== 0)
      throw new Error(`cannot run ${cmd} ${args.join(' ')}: ${r.error?.message ?? r.stderr.toString()}`);
  }
  const wrk = spawnSync('wrk', ['--version'], { stdio: 'pipe' });
  if (wrk.error) throw new Error(`wrk not found: ${wrk.error.message}`);
  if (settings.serverCpu === settings.loadCpu)
    log(`warning: servers and wrk share cpu ${settings.serverCpu}; figures will be low`);
  if (settings.connections.length === 0) throw new Error('BENCH_CONNECTIONS names no connection counts');
}

function wrkVersion(): string {
  const r = spawnSync('wrk', ['--version'], { stdio: 'pipe' });
  const first = (r.stdout.toString() + r.stderr.toString()).split('\n')[0] ?? '';
  return first.split(/\s+/).slice(0, 2).join(' ') || 'unknown';
}

async function startFloor(
  kind: 'hello' | 'verify',
  tmp: string,
): Promise<{ server: Pinned; baseUrl: string; keysFile: string }> {
  const port = await freePort();
  const keysFile = join(tmp, `floor-${kind}-keys.json`);
  const server = spawnPinned({
    name: `floor ${kind}`,
    cpu: settings.serverCpu,
    command: process.execPath,
    args: ['--import', 'tsx', 'bench/floor.ts', kind],
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      BENCH_KEY_COUNT: String(settings.tokenCount),
      BENCH_SAMPLE_COUNT: String(settings.sampleCount),
      BENCH_KEYS_OUT: keysFile,
    },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/health`, server, 60_000);
  return { server, baseUrl, keysFile };
}

function writeScript(tmp: string, name: string, requests: LuaRequest[]): string {
  const file = join(tmp, name);
  writeFileSync(file, luaScript(requests), { mode: 0o600 });
  return file;
}

/** Sends the target's probe request; returns a problem description, or undefined when it answered 2xx. */
async function probe(t: Target): Promise<string | undefined> {
  try {
    const res = await fetch(t.url, {
      method: t.probe.method,
      headers: t.probe.headers,
      body: t.probe.body,
      signal: AbortSignal.timeout(5_000),
    });
    const text = await res.text();
    const shown = redactKeys(text.length > 300 ? `${text.slice(0, 300)}…` : text);
    log(`  probe ${padEnd(t.label, 34)} → ${res.status} ${shown}`);
    if (res.status < 200 || res.status >= 300) return `probe answered ${res.status}: ${shown}`;
    if ((t.id === 'verify' || t.id === 'verifyOnly' || t.id === 'floor2') && /"valid"\s*:\s*false/.test(text))
      return `probe of a valid key answered valid:false: ${shown}`;
    return undefined;
  } catch (err) {
    return `probe failed: ${(err as Error).message}`;
  }
}

interface Check {
  name: string;
  value: number;
  unit: 'ratio' | 'ms';
  op: '>=' | '<';
  threshold: number;
  result: 'PASS' | 'MISS' | 'ERR' | 'n/a';
  note?: string | undefined;
}

/** An error saying the target's server process ended (and its last output), or null while it runs. */
function serverEnded(t: Target): Error | null {
  const { exitCode, signalCode } = t.server.child;
  if (exitCode === null && signalCode === null) return null;
  return new Error(`${t.label}: the server ended (${signalCode ?? exitCode}) during the run\n${t.server.output()}`);
}

function runErrors(r: WrkResult): number {
  return r.non2xx + r.socketErrors.connect + r.socketErrors.read + r.socketErrors.write + r.socketErrors.timeout;
}

async function main(): Promise<void> {
  preflight();
  const startedAt = new Date();
  const tmp = mkdtempSync(join(tmpdir(), 'keygate-bench-'));
  installExitHooks(async () => {
    if (!settings.keepTmp) rmSync(tmp, { recursive: true, force: true });
  });

  log(`keygate verify benchmark — ${startedAt.toISOString()}`);
  log(
    `  ${settings.rounds} round(s), ${settings.durationS} s per run after ${settings.warmupS} s warm-up, connections ${settings.connections.join('/')}, ` +
      `servers on cpu ${settings.serverCpu}, wrk on cpu ${settings.loadCpu}`,
  );
  log(
    `  ${cpus().length} cpus (${cpus()[0]?.model.trim() ?? '?'}), node ${process.version}, ${wrkVersion()}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  log('');

  const targets: Target[] = [];
  /** The kept run of each (round, connections, target). */
  const runs: RunRecord[] = [];
  /** Every measured run, disturbed ones included. */
  const attempts: RunRecord[] = [];
  let keygate: KeygateTarget | undefined;
  let keygateSkipped: string | null = settings.skipKeygate ? 'BENCH_SKIP_KEYGATE is set' : keygateUnavailable(ROOT);
  const stale = keygateSkipped ? null : staleBuildWarning(ROOT);

  try {
    log('starting servers…');
    const [floor1, floor2] = await Promise.all([startFloor('hello', tmp), startFloor('verify', tmp)]);
    log(`  floor 1 (bare Fastify GET /hello) at ${floor1.baseUrl}`);
    log(
      `  floor 2 (bare Fastify POST /verify, ${settings.tokenCount.toLocaleString('en-US')} hashes) at ${floor2.baseUrl}`,
    );
    const floorKeys = JSON.parse(readFileSync(floor2.keysFile, 'utf8')) as string[];
    rmSync(floor2.keysFile, { force: true });
    const json = { 'Content-Type': 'application/json' };

    targets.push({
      id: 'floor1',
      label: 'floor 1: Fastify GET /hello',
      url: `${floor1.baseUrl}/hello`,
      pid: floor1.server.child.pid,
      server: floor1.server,
      probe: { method: 'GET', headers: {} },
    });
    targets.push({
      id: 'floor2',
      label: 'floor 2: Fastify POST /verify',
      url: `${floor2.baseUrl}/verify`,
      pid: floor2.server.child.pid,
      server: floor2.server,
      script: writeScript(
        tmp,
        'floor2.lua',
        floorKeys.map((k) => ({ method: 'POST', path: '/verify', headers: json, body: JSON.stringify({ key: k }) })),
      ),
      probe: { method: 'POST', headers: json, body: JSON.stringify({ key: floorKeys[0] }) },
    });

    if (keygateSkipped) {
      log(`  keygate: skipped — ${keygateSkipped}`);
    } else {
      if (stale) log(`  warning: ${stale}`);
      try {
        keygate = await startKeygate({
          root: ROOT,
          dataDir: join(tmp, 'keygate-data'),
          port: await freePort(),
          cpu: settings.serverCpu,
          tokenCount: settings.tokenCount,
          sampleCount: settings.sampleCount,
          log: (line) => log(`  keygate: ${line}`),
        });
        log(
          `  keygate (${keygate.tokenCount.toLocaleString('en-US')} tokens) at ${keygate.baseUrl}, ready in ${(keygate.startMs / 1000).toFixed(1)} s`,
        );
        const auth = { 'X-API-Key': keygate.callerKey };
        const verifyPath = '/api/v1.0/verify';
        const mePath = '/api/v1.0/me';
        const kgt = keygate;
        const verifyTarget = (id: TargetId, label: string, callerKey: string): Target => {
          const callerAuth = { 'X-API-Key': callerKey };
          return {
            id,
            label,
            url: `${kgt.baseUrl}${verifyPath}`,
            pid: kgt.server.child.pid,
            server: kgt.server,
            script: writeScript(
              tmp,
              `keygate-${id}.lua`,
              kgt.sampleKeys.map((k) => ({
                method: 'POST',
                path: verifyPath,
                headers: { ...json, ...callerAuth },
                body: JSON.stringify({ key: k }),
              })),
            ),
            probe: {
              method: 'POST',
              headers: { ...json, ...callerAuth },
              body: JSON.stringify({ key: kgt.sampleKeys[0] }),
            },
          };
        };
        targets.push(verifyTarget('verify', 'keygate verify, administrator token', keygate.callerKey));
        targets.push(verifyTarget('verifyOnly', 'keygate verify, keys:verify token', keygate.verifierKey));
        targets.push({
          id: 'me',
          label: 'keygate GET /api/v1.0/me',
          url: `${keygate.baseUrl}${mePath}`,
          pid: keygate.server.child.pid,
          server: keygate.server,
          script: writeScript(tmp, 'keygate-me.lua', [{ method: 'GET', path: mePath, headers: auth }]),
          probe: { method: 'GET', headers: auth },
        });
      } catch (err) {
        keygateSkipped = `keygate failed to start: ${(err as Error).message.split('\n')[0]}`;
        log(`  ${redactKeys((err as Error).message)}`);
        log(`  keygate: skipped — ${keygateSkipped}`);
      }
    }
    log('');

    log('checking each target answers…');
    for (const t of targets) t.broken = await probe(t);
    log('');

    const live = targets.filter((t) => !t.broken);
    const total = settings.rounds * settings.connections.length * live.length;
    let n = 0;
    log(
      `loading (${total} measured runs, about ${Math.ceil((total * settings.durationS + (total / settings.rounds) * settings.warmupS) / 60)} min; ` +
        `a run disturbed by other processes (> ${settings.maxOtherPct}% of a core) is repeated up to ${settings.retries} times)…`,
    );
    // Interleaved: at each connection count every target is run back to back, and rounds repeat
    // the whole sequence, so drift on a noisy machine hits floors and keygate alike.
    for (let round = 1; round <= settings.rounds; round++) {
      for (const c of settings.connections) {
        for (const t of live) {
          n++;
          const base = { url: t.url, connections: c, cpu: settings.loadCpu, script: t.script };
          let kept: RunRecord | undefined;
          for (let attempt = 0; attempt <= settings.retries; attempt++) {
            if (settings.warmupS > 0 && round === 1 && attempt === 0)
              await runWrk({ ...base, durationS: settings.warmupS });
            const before = cpuSnapshot(settings.serverCpu, t.pid);
            const { result, loadCpu } = await runWrk({ ...base, durationS: settings.durationS }).catch(
              (err: unknown) => {
                throw serverEnded(t) ?? err;
              },
            );
            const cpu = cpuShare(before, cpuSnapshot(settings.serverCpu, t.pid));
            const record: RunRecord = { target: t.id, round, result, cpu, loadCpu, attempt };
            attempts.push(record);
            const errs = runErrors(result);
            const noisy = disturbance(record) > settings.maxOtherPct;
            log(
              `  [${pad(String(n), String(total).length)}/${total}] ${padEnd(t.label, 34)} c=${pad(String(c), 3)}  ${pad(fmtInt(result.rps), 8)} req/s  ` +
                `p50 ${pad(fmtMs(result.p50Ms), 6)} ms  p99 ${pad(fmtMs(result.p99Ms), 6)} ms` +
                (cpu
                  ? `  cpu${settings.serverCpu}: server ${cpu.serverPct}% other ${cpu.otherPct}% idle ${cpu.idlePct}%`
                  : '') +
                (loadCpu ? `  cpu${settings.loadCpu}: wrk ${loadCpu.serverPct}% other ${loadCpu.otherPct}%` : '') +
                (errs > 0 ? `  ERRORS ${errs} (non-2xx ${result.non2xx})` : '') +
                (noisy ? (attempt < settings.retries ? '  disturbed, again' : '  disturbed') : ''),
            );
            if (!kept || disturbance(record) < disturbance(kept)) kept = record;
            if (!noisy) break;
          }
          runs.push(kept!);
        }
      }
    }
    log('');
  } finally {
    await killAll();
    if (!settings.keepTmp) rmSync(tmp, { recursive: true, force: true });
    else log(`temp dir kept (holds test keys; delete it): ${tmp}`);
  }

  // ---- report ----
  const med = (id: TargetId, c: number, pick: (r: WrkResult) => number): number =>
    median(runs.filter((r) => r.target === id && r.result.connections === c).map((r) => pick(r.result)));
  const errorsAt = (id: TargetId, c: number): number =>
    runs.filter((r) => r.target === id && r.result.connections === c).reduce((sum, r) => sum + runErrors(r.result), 0);
  const hasRuns = (id: TargetId): boolean => runs.some((r) => r.target === id);

  const medians: Record<
    string,
    Record<string, { rps: number; p50Ms: number; p99Ms: number; errors: number; cpu: Record<string, number> }>
  > = {};
  for (const t of targets) {
    log(`${t.label}${settings.rounds > 1 ? ` (median of ${settings.rounds} rounds)` : ''}`);
    if (t.broken) {
      log(`  not loaded: ${t.broken}`);
      log('');
      continue;
    }
    log(
      `  ${pad('conns', 5)}  ${pad('req/s', 9)}  ${pad('p50 ms', 7)}  ${pad('p99 ms', 7)}  ${pad('errors', 7)}   cpu ${settings.serverCpu}: server / other / idle`,
    );
    medians[t.id] = {};
    for (const c of settings.connections) {
      const cpuOf = (pick: (s: CpuShare) => number): number =>
        median(
          runs
            .filter((r) => r.target === t.id && r.result.connections === c && r.cpu !== null)
            .map((r) => pick(r.cpu!)),
        );
      const row = {
        rps: med(t.id, c, (r) => r.rps),
        p50Ms: med(t.id, c, (r) => r.p50Ms),
        p99Ms: med(t.id, c, (r) => r.p99Ms),
        errors: errorsAt(t.id, c),
        cpu: {
          serverPct: cpuOf((s) => s.serverPct),
          otherPct: cpuOf((s) => s.otherPct),
          idlePct: cpuOf((s) => s.idlePct),
        },
      };
      medians[t.id]![String(c)] = row;
      const pct = (n: number): string => (Number.isFinite(n) ? `${Math.round(n)}%` : '—');
      log(
        `  ${pad(String(c), 5)}  ${pad(fmtInt(row.rps), 9)}  ${pad(fmtMs(row.p50Ms), 7)}  ${pad(fmtMs(row.p99Ms), 7)}  ${pad(String(row.errors), 7)}   ` +
          `${pad(pct(row.cpu.serverPct), 12)} / ${pad(pct(row.cpu.otherPct), 5)} / ${pad(pct(row.cpu.idlePct), 4)}`,
      );
    }
    log('');
  }

  const checks: Check[] = [];
  const judge = (
    value: number,
    op: Check['op'],
    threshold: number,
    errors: number,
    available: boolean,
  ): Pick<Check, 'result' | 'note'> => {
    if (!available || !Number.isFinite(value)) return { result: 'n/a' };
    if (errors > 0) return { result: 'ERR', note: `${errors} error responses/socket errors during the run` };
    return { result: (op === '>=' ? value >= threshold : value < threshold) ? 'PASS' : 'MISS' };
  };
  /** req/s ratio of target to floor in each round (the two runs of a round are close in time). */
  /** req/s, or with `perCpu` requests per second of server cpu time (what the server got of its core). */
  const throughput = (r: RunRecord, perCpu: boolean): number =>
    perCpu ? (r.cpu && r.cpu.serverPct > 0 ? r.result.rps / (r.cpu.serverPct / 100) : Number.NaN) : r.result.rps;
  const roundRatios = (id: TargetId, floor: TargetId, c: number, perCpu = false): number[] => {
    const out: number[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const a = runs.find((r) => r.target === id && r.round === round && r.result.connections === c);
      const b = runs.find((r) => r.target === floor && r.round === round && r.result.connections === c);
      if (!a || !b) continue;
      const ratio = throughput(a, perCpu) / throughput(b, perCpu);
      if (Number.isFinite(ratio)) out.push(ratio);
    }
    return out;
  };
  const ratioCheck = (
    name: string,
    id: TargetId,
    floor: TargetId,
    c: number,
    threshold: number,
    perCpu = false,
  ): void => {
    const ratios = roundRatios(id, floor, c, perCpu);
    const value = median(ratios);
    const verdict = judge(value, '>=', threshold, errorsAt(id, c) + errorsAt(floor, c), ratios.length > 0);
    const spread = ratios.length > 1 ? `rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}` : '';
    checks.push({
      name,
      value,
      unit: 'ratio',
      op: '>=',
      threshold,
      ...verdict,
      note: [verdict.note, spread].filter(Boolean).join('; ') || undefined,
    });
  };
  for (const c of settings.connections) ratioCheck(`verify (admin) / floor 2 @${c}`, 'verify', 'floor2', c, 0.8);
  for (const c of settings.connections)
    ratioCheck(`verify (keys:verify) / floor 2 @${c}`, 'verifyOnly', 'floor2', c, 0.8);
  for (const c of settings.connections) ratioCheck(`GET /me / floor 1 @${c}`, 'me', 'floor1', c, 0.6);
  // The same ratios per second of server cpu: on a shared machine the server gets what the
  // neighbours leave of its core, which moves req/s far more than keygate's own cost does.
  for (const c of settings.connections) {
    ratioCheck(`per cpu: verify (admin) @${c}`, 'verify', 'floor2', c, 0.8, true);
    ratioCheck(`per cpu: verify (keys:verify) @${c}`, 'verifyOnly', 'floor2', c, 0.8, true);
    ratioCheck(`per cpu: GET /me @${c}`, 'me', 'floor1', c, 0.6, true);
  }
  const p99At = settings.connections.includes(100) ? 100 : Math.max(...settings.connections);
  const p99Names = { verify: 'verify (admin)', verifyOnly: 'verify (keys:verify)', me: 'GET /me' } as const;
  for (const id of ['verify', 'verifyOnly', 'me'] as const) {
    const value = med(id, p99At, (r) => r.p99Ms);
    checks.push({
      name: `${p99Names[id]} p99 @${p99At}`,
      value,
      unit: 'ms',
      op: '<',
      threshold: 5,
      ...judge(value, '<', 5, errorsAt(id, p99At), hasRuns(id)),
    });
  }

  log(
    `summary — ratios of req/s (and, "per cpu", of requests per second of server cpu) measured in this run${settings.rounds > 1 ? ' (median of the per-round ratios)' : ''}`,
  );
  const ref = settings.connections.map((c) => {
    const floorRatio = median(roundRatios('floor2', 'floor1', c));
    return `@${c} ${Number.isFinite(floorRatio) ? floorRatio.toFixed(2) : '—'}`;
  });
  log(
    `  reference: floor 2 / floor 1 req/s ${ref.join(', ')} (reference only; ≈ 0.55 was seen earlier on this machine)`,
  );
  const floorP99 = (['floor1', 'floor2'] as const).map(
    (id) => `${id === 'floor1' ? 'floor 1' : 'floor 2'} ${fmtMs(med(id, p99At, (r) => r.p99Ms))} ms`,
  );
  log(
    `  reference: floor p99 @${p99At}: ${floorP99.join(', ')} (a p99 MISS that the floors share is the machine, not keygate)`,
  );
  log(`  ${padEnd('target', 34)}  ${pad('value', 8)}  ${pad('needs', 9)}  result`);
  for (const ch of checks) {
    const value = Number.isFinite(ch.value)
      ? ch.unit === 'ratio'
        ? ch.value.toFixed(2)
        : `${ch.value.toFixed(2)} ms`
      : '—';
    const needs = `${ch.op === '>=' ? '≥' : '<'} ${ch.unit === 'ratio' ? ch.threshold.toFixed(2) : `${ch.threshold} ms`}`;
    log(`  ${padEnd(ch.name, 34)}  ${pad(value, 8)}  ${pad(needs, 9)}  ${ch.result}${ch.note ? `  (${ch.note})` : ''}`);
  }
  const maxOf = (pick: (r: RunRecord) => number | undefined): number =>
    runs.reduce((m, r) => Math.max(m, pick(r) ?? 0), 0);
  if (runs.some((r) => r.cpu !== null)) {
    const otherServer = maxOf((r) => r.cpu?.otherPct);
    const otherLoad = maxOf((r) => r.loadCpu?.otherPct);
    const steal = Math.max(
      maxOf((r) => r.cpu?.stealPct),
      maxOf((r) => r.loadCpu?.stealPct),
    );
    const noisy = maxOf(disturbance) > settings.maxOtherPct;
    log(
      `  noise: other processes took up to ${otherServer}% of cpu ${settings.serverCpu} (servers) and ${otherLoad}% of cpu ${settings.loadCpu} (wrk) in a run, steal ≤ ${steal}%` +
        (noisy
          ? ' — the machine was busy even after retries; trust the ratios over the absolute figures, or rerun'
          : ''),
    );
  }
  if (keygateSkipped) log(`  keygate not measured: ${keygateSkipped}`);
  if (stale) log(`  warning: ${stale}`);

  const finishedAt = new Date();
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `verify-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const report = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    settings,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model.trim() ?? null,
      node: process.version,
      wrk: wrkVersion(),
      loadavgAtEnd: loadavg(),
    },
    keygate: keygate
      ? {
          measured: true,
          tokenCount: keygate.tokenCount,
          seedMs: keygate.seedMs,
          startMs: keygate.startMs,
          staleBuild: stale,
        }
      : { measured: false, reason: keygateSkipped },
    targets: targets.map((t) => ({
      id: t.id,
      label: t.label,
      path: new URL(t.url).pathname,
      broken: t.broken ? redactKeys(t.broken) : null,
    })),
    runs: attempts.map((r) => ({
      target: r.target,
      round: r.round,
      attempt: r.attempt,
      kept: runs.includes(r),
      ...r.result,
      cpu: r.cpu,
      loadCpu: r.loadCpu,
    })),
    medians,
    checks,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log('');
  log(`results written to ${file.slice(ROOT.length + 1)}`);
}

runBenchmark(main);
