import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

/**
 * The in-Node HTTP client of bench:scale and bench:soak: each request timed on its own, so that
 * every key can be presented exactly once (wrk's Lua scripts cycle through a fixed list, and a key
 * seen twice is served from the cache). Runs in the benchmark's own process, pinned to the load core.
 */

/** Pins this process (the benchmark, and so its client) to `cpu`, as taskset pins the children. */
export function pinSelf(cpu: number): void {
  spawnSync('taskset', ['-cp', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/** Resident memory of a process from /proc (`VmRSS`, or `VmHWM` for its peak), in MB; NaN when gone. */
export function rssMb(pid: number | undefined, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The p-th percentile (0–100) of ascending `sorted`, nearest rank; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** What one verify call answered. */
export interface VerifyAnswer {
  ms: number;
  status: number;
  valid: boolean | null;
}

/** A keep-alive connection pool to one keygate, calling POST /api/v1.0/verify as `callerKey`. */
export class VerifyClient {
  readonly pool: Pool;

  constructor(
    baseUrl: string,
    private readonly callerKey: string,
    connections: number,
  ) {
    this.pool = new Pool(baseUrl, { connections, pipelining: 1 });
  }

  /** Verifies one key; the time is from sending to the whole answer read. Throws on a socket error. */
  async verify(key: string): Promise<VerifyAnswer> {
    const t0 = process.hrtime.bigint();
    const res = await this.pool.request({
      method: 'POST',
      path: '/api/v1.0/verify',
      headers: { 'content-type': 'application/json', 'x-api-key': this.callerKey },
      body: JSON.stringify({ key }),
    });
    const text = await res.body.text();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    let valid: boolean | null = null;
    if (res.statusCode === 200) valid = (JSON.parse(text) as { valid?: unknown }).valid === true;
    return { ms, status: res.statusCode, valid };
  }

  /** Sends any request with the given key; resolves with the status and parsed JSON body. */
  async send(method: string, path: string, key: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await this.pool.request({
      method: method as 'GET',
      path,
      // No content type without a body: Fastify refuses an empty JSON body (a DELETE).
      headers: body === undefined ? { 'x-api-key': key } : { 'content-type': 'application/json', 'x-api-key': key },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text === '' ? null : JSON.parse(text) };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * Verifies each key once with `connections` requests in flight; returns the latencies, ascending,
 * and how many answers were not `200 {valid: true}`.
 */
export async function verifyEachOnce(
  client: VerifyClient,
  keys: readonly string[],
  connections: number,
): Promise<{ sorted: number[]; wrong: number; seconds: number }> {
  const times: number[] = [];
  let wrong = 0;
  let next = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (next < keys.length) {
      const answer = await client.verify(keys[next++]!);
      times.push(answer.ms);
      if (answer.status !== 200 || answer.valid !== true) wrong++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  return { sorted: times.sort((a, b) => a - b), wrong, seconds: (Date.now() - t0) / 1000 };
}
