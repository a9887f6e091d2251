import { cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { spawnPinned } from './proc.js';

/** What one wrk run reports, latencies in milliseconds. */
export interface WrkResult {
  connections: number;
  durationS: number;
  requests: number;
  rps: number;
  avgMs: number;
  p50Ms: number;
  p75Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Responses with a status ≥ 400 (wrk's "Non-2xx or 3xx responses"). */
  non2xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

function toMs(value: string, unit: string): number {
  const scale = UNIT_MS[unit];
  if (scale === undefined) throw new Error(`unknown wrk time unit ${unit}`);
  return Number(value) * scale;
}

function percentile(out: string, p: string): number {
  const m = new RegExp(`^\\s*${p}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, 'm').exec(out);
  if (!m) throw new Error(`wrk output has no ${p}% latency line:\n${out}`);
  return toMs(m[1]!, m[2]!);
}

/** Parses wrk's text report (needs `--latency`). */
export function parseWrk(out: string, connections: number, durationS: number): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  if (!rps) throw new Error(`wrk output has no Requests/sec line:\n${out}`);
  const total = /^\s*(\d+) requests in /m.exec(out);
  const lat = /^\s*Latency\s+([\d.]+)(us|ms|s|m|h)\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m|h)/m.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    connections,
    durationS,
    requests: total ? Number(total[1]) : 0,
    rps: Number(rps[1]),
    avgMs: lat ? toMs(lat[1]!, lat[2]!) : Number.NaN,
    maxMs: lat ? toMs(lat[3]!, lat[4]!) : Number.NaN,
    p50Ms: percentile(out, '50'),
    p75Ms: percentile(out, '75'),
    p90Ms: percentile(out, '90'),
    p99Ms: percentile(out, '99'),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

export interface WrkRun {
  url: string;
  connections: number;
  durationS: number;
  /** wrk's core; a taskset list ('0-1') leaves it to the scheduler, and no load share is sampled. */
  cpu: number | string;
  /** Path of a Lua script, when the requests are not a plain GET of `url`. */
  script?: string | undefined;
}

/**
 * Runs `taskset -c <cpu> wrk -t1 -c<N> -d<s> --latency [-s script] url` and parses the report.
 * Also says how wrk's core was spent (`loadCpu`, sampled until just before wrk's end, where
 * `serverPct` is wrk itself): a busy neighbour on that core slows the load, not the server.
 */
export async function runWrk(run: WrkRun): Promise<{ result: WrkResult; loadCpu: CpuShare | null }> {
  const args = ['-t1', `-c${run.connections}`, `-d${run.durationS}s`, '--latency'];
  if (run.script) args.push('-s', run.script);
  args.push(run.url);
  const wrk = spawnPinned({
    name: `wrk -c${run.connections} ${run.url}`,
    cpu: run.cpu,
    command: 'wrk',
    args,
    keepStdout: true,
  });
  const cpu = run.cpu;
  const before = typeof cpu === 'number' ? cpuSnapshot(cpu, wrk.child.pid) : null;
  let loadCpu: CpuShare | null = null;
  const sampler = setTimeout(
    () => {
      if (before && typeof cpu === 'number') loadCpu = cpuShare(before, cpuSnapshot(cpu, wrk.child.pid));
    },
    Math.max(100, run.durationS * 1_000 - 250),
  );
  let timedOut = false;
  const killer = setTimeout(
    () => {
      timedOut = true;
      void wrk.stop(1_000);
    },
    (run.durationS + 30) * 1_000,
  );
  const code = await wrk.exited;
  clearTimeout(sampler);
  clearTimeout(killer);
  if (timedOut) throw new Error(`wrk did not finish within ${run.durationS + 30} s\n${wrk.output()}`);
  if (code !== 0) throw new Error(`wrk exited with ${code}:\n${wrk.output()}`);
  return { result: parseWrk(wrk.stdout(), run.connections, run.durationS), loadCpu };
}

/** One request shape for the Lua script. */
export interface LuaRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string | undefined;
}

/** A Lua string literal: printable ASCII kept, everything else as a decimal escape. */
function lua(s: string): string {
  let out = '"';
  for (const ch of Buffer.from(s, 'utf8')) {
    if (ch === 0x22 || ch === 0x5c) out += `\\${String.fromCharCode(ch)}`;
    else if (ch >= 0x20 && ch < 0x7f) out += String.fromCharCode(ch);
    else out += `\\${ch}`;
  }
  return `${out}"`;
}

/**
 * A wrk script that cycles through the given requests. Requests are formatted once per thread in
 * `init`, so the per-request cost in wrk is a table lookup, not string building.
 */
export function luaScript(requests: readonly LuaRequest[]): string {
  if (requests.length === 0) throw new Error('luaScript needs at least one request');
  const rows = requests.map((r) => {
    const headers = Object.entries(r.headers)
      .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
      .join(', ');
    return `  { ${lua(r.method)}, ${lua(r.path)}, { ${headers} }, ${r.body === undefined ? 'nil' : lua(r.body)} },`;
  });
  return [
    '-- generated by bench/verify.ts at run time; holds test keys, never commit',
    'local specs = {',
    ...rows,
    '}',
    'local reqs = {}',
    'local n = #specs',
    'local i = 0',
    'init = function(args)',
    '  for k = 1, n do',
    '    local s = specs[k]',
    '    reqs[k] = wrk.format(s[1], s[2], s[3], s[4])',
    '  end',
    'end',
    'request = function()',
    '  i = i + 1',
    '  if i > n then i = 1 end',
    '  return reqs[i]',
    'end',
    '',
  ].join('\n');
}
