/**
 * bench:soak — keygate held at 70 % of its measured maximum verify rate for 10 minutes while
 * tokens are created, edited and revoked through the API.
 *
 *  1. A fresh SQLite keygate (bench/keygate.ts: BENCH_TOKENS seeded tokens), pinned to the server core.
 *  2. The maximum: wrk (bench/wrk.ts) on POST /api/v1.0/verify cycling through the sample keys.
 *  3. The soak: an open-loop in-Node client (bench/client.ts, pinned to the load core) sends verify
 *     requests at BENCH_SOAK_SHARE × that maximum, for BENCH_SOAK_SECONDS; beside it, BENCH_MUTATIONS
 *     a second create a token (its key joins the pool), edit one, or revoke one (its key leaves the
 *     pool and is presented now and then: the expected refusal is 200 {valid: false}).
 *  4. Per window (BENCH_SOAK_WINDOW s): requests, p50/p99, errors, the server's RSS; at the end RSS
 *     at start and end, and whether p99 stayed within 2 × its median window.
 * An error is anything but the expected answer: a live key not valid, a revoked key valid, a
 * non-200, a socket error, a refused mutation. Keys stay in memory and in the temp dir's Lua script.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile, pinSelf, rssMb, VerifyClient } from './client.js';
import { keygateUnavailable, staleBuildWarning, startKeygate } from './keygate.js';
import { freePort, installExitHooks, isStopping, killAll, runBenchmark } from './proc.js';
import { envNumber, loadSettings } from './settings.js';
import { luaScript, runWrk } from './wrk.js';

const ROOT = join(import.meta.dirname, '..');
const seconds = Math.round(envNumber('BENCH_SOAK_SECONDS', 600, 10));
const windowS = Math.round(envNumber('BENCH_SOAK_WINDOW', 60, 5));
const share = envNumber('BENCH_SOAK_SHARE', 0.7, 0.01);
const tokenCount = Math.round(envNumber('BENCH_TOKENS', 100_000, 100));
const sampleCount = Math.round(envNumber('BENCH_SAMPLE', 10_000, 10));
const maxSeconds = Math.round(envNumber('BENCH_MAX_SECONDS', 10, 1));
const maxConnections = Math.round(envNumber('BENCH_MAX_CONNECTIONS', 50, 1));
const mutationsPerS = envNumber('BENCH_MUTATIONS', 10, 0);
/** Requests in flight at most: past it the client is behind, and says so, rather than queueing without end. */
const IN_FLIGHT = 256;
/** Share of verify requests that present a revoked key (once there is one). */
const REVOKED_SHARE = 0.03;
const { serverCpu, loadCpu } = loadSettings();

const temps: string[] = [];
const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface Window {
  index: number;
  times: number[];
  errors: number;
  refusals: number;
  /** Live keys whose revoke committed while their request was in flight, answered not valid. */
  raced: number;
  behind: number;
  mutations: { create: number; edit: number; revoke: number; failed: number };
  rssMb: number;
}

function newWindow(index: number): Window {
  return {
    index,
    times: [],
    errors: 0,
    refusals: 0,
    raced: 0,
    behind: 0,
    mutations: { create: 0, edit: 0, revoke: 0, failed: 0 },
    rssMb: Number.NaN,
  };
}

async function main(): Promise<void> {
  installExitHooks(async () => {
    for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  });
  const missing = keygateUnavailable(ROOT);
  if (missing) throw new Error(missing);
  const stale = staleBuildWarning(ROOT);
  if (stale) log(`warning: ${stale}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-soak-'));
  temps.push(dataDir);
  log(`keygate soak benchmark — ${new Date().toISOString()}`);
  log(
    `${fmt(seconds)} s at ${Math.round(share * 100)} % of the maximum verify rate, windows of ${windowS} s; ` +
      `${fmt(tokenCount)} seeded tokens (SQLite); server on core ${serverCpu}, load on core ${loadCpu}; ${mutationsPerS} mutations/s`,
  );

  const keygate = await startKeygate({
    root: ROOT,
    dataDir,
    port: await freePort(),
    cpu: serverCpu,
    tokenCount,
    sampleCount,
    log,
  });
  const pid = keygate.server.child.pid;

  // The maximum, by wrk over the sample keys (they are cached after their first round: the soak's
  // traffic mostly is, too, and both see the same mix of hits).
  const script = join(dataDir, 'verify.lua');
  writeFileSync(
    script,
    luaScript(
      keygate.sampleKeys.map((key) => ({
        method: 'POST',
        path: '/api/v1.0/verify',
        headers: { 'content-type': 'application/json', 'x-api-key': keygate.verifierKey },
        body: JSON.stringify({ key }),
      })),
    ),
  );
  const { result: max, loadCpu: maxLoad } = await runWrk({
    url: `${keygate.baseUrl}/api/v1.0/verify`,
    connections: maxConnections,
    durationS: maxSeconds,
    cpu: loadCpu,
    script,
  });
  rmSync(script, { force: true });
  if (max.non2xx > 0) throw new Error(`the maximum's run saw ${max.non2xx} non-2xx answers`);
  const rate = max.rps * share;
  log(
    `maximum verify rate (wrk, ${maxConnections} connections, ${maxSeconds} s): ${fmt(max.rps)} req/s, p99 ${max.p99Ms.toFixed(2)} ms` +
      (maxLoad ? ` (wrk's core: wrk ${maxLoad.serverPct}%, others ${maxLoad.otherPct}%)` : ''),
  );
  log(`soak rate: ${fmt(rate)} req/s`);

  pinSelf(loadCpu);
  const client = new VerifyClient(keygate.baseUrl, keygate.verifierKey, 64);
  const admin = new VerifyClient(keygate.baseUrl, keygate.callerKey, 4);
  const me = (await admin.send('GET', '/api/v1.0/me', keygate.callerKey)) as {
    status: number;
    body: { token?: { resourceId?: string } };
  };
  const account = me.body.token?.resourceId;
  if (me.status !== 200 || !account) throw new Error(`GET /me answered ${me.status}`);

  /** Keys that must verify; tokens the soak made (which it may edit or revoke); keys that must not. */
  const live: string[] = [...keygate.sampleKeys];
  const made: { id: string; key: string }[] = [];
  const revoked: string[] = [];
  /** Keys taken out of the pool to be revoked: requests already in flight with one may hear either answer. */
  const retired = new Set<string>();
  /** Counts an error, and says what the first of each window was. */
  const error = (w: Window, what: string): void => {
    if (w.errors++ === 0) log(`  window ${w.index}: first error: ${what}`);
  };
  const rssStart = rssMb(pid);
  log(`server RSS at start: ${fmt(rssStart)} MB`);

  const started = Date.now();
  const endAt = started + seconds * 1000;
  const windows: Window[] = [newWindow(1)];
  const current = (): Window => windows[windows.length - 1]!;
  let inFlight = 0;
  let sent = 0;

  const verifyOne = (): void => {
    const w = current();
    const useRevoked = revoked.length > 0 && Math.random() < REVOKED_SHARE;
    const key = useRevoked
      ? revoked[Math.floor(Math.random() * revoked.length)]!
      : live[Math.floor(Math.random() * live.length)]!;
    inFlight++;
    client.verify(key).then(
      (answer) => {
        inFlight--;
        w.times.push(answer.ms);
        if (answer.status === 200 && answer.valid === !useRevoked) {
          if (useRevoked) w.refusals++;
        } else if (answer.status === 200 && answer.valid === false && retired.has(key)) {
          // Sent while its token was live, answered after its revoke committed: the refusal is right.
          w.raced++;
        } else
          error(w, `verify answered ${answer.status} valid=${answer.valid} (${useRevoked ? 'revoked' : 'live'} key)`);
      },
      (err: Error) => {
        inFlight--;
        error(w, `verify failed: ${err.message}`);
      },
    );
  };

  const mutate = async (): Promise<void> => {
    const w = current();
    const roll = Math.random();
    try {
      if (roll < 0.4 || made.length < 5) {
        const r = (await admin.send('POST', `/api/v1.0/resources/${account}/tokens`, keygate.callerKey, {
          name: `soak ${made.length}`,
          level: 'reader',
        })) as { status: number; body: { id: string; key: string } };
        if (r.status !== 201) throw new Error(`create answered ${r.status}`);
        made.push({ id: r.body.id, key: r.body.key });
        live.push(r.body.key);
        w.mutations.create++;
      } else if (roll < 0.7) {
        const t = made[Math.floor(Math.random() * made.length)]!;
        const r = await admin.send('PATCH', `/api/v1.0/tokens/${t.id}`, keygate.callerKey, {
          description: `edited at ${Date.now()}`,
        });
        if (r.status !== 200) throw new Error(`edit answered ${r.status}`);
        w.mutations.edit++;
      } else {
        const t = made.splice(Math.floor(Math.random() * made.length), 1)[0]!;
        // Out of the pool before the request: an answer during the revoke may be either.
        const at = live.indexOf(t.key);
        if (at >= 0) live.splice(at, 1);
        retired.add(t.key);
        const r = await admin.send('DELETE', `/api/v1.0/tokens/${t.id}`, keygate.callerKey);
        if (r.status !== 204) throw new Error(`revoke answered ${r.status}`);
        revoked.push(t.key);
        w.mutations.revoke++;
      }
    } catch (err) {
      if (w.mutations.failed++ === 0) log(`  a mutation failed: ${(err as Error).message}`);
    }
  };

  const mutator = (async () => {
    if (mutationsPerS <= 0) return;
    const every = 1000 / mutationsPerS;
    for (let next = Date.now(); Date.now() < endAt && !isStopping(); next += every) {
      await mutate();
      await sleep(Math.max(0, next + every - Date.now()));
    }
  })();

  const report = (w: Window): void => {
    // A copy: answers still in flight join this window's times after it is printed.
    const sorted = [...w.times].sort((a, b) => a - b);
    w.rssMb = rssMb(pid);
    log(
      `window ${String(w.index).padStart(2)}: ${fmt(sorted.length)} verify (${fmt(sorted.length / windowS)}/s), ` +
        `p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms, ` +
        `errors ${w.errors}, expected refusals ${w.refusals}${w.raced ? ` (+${w.raced} in flight during their revoke)` : ''}${w.behind ? `, ${fmt(w.behind)} sends late (client behind)` : ''}; ` +
        `created ${w.mutations.create}, edited ${w.mutations.edit}, revoked ${w.mutations.revoke}` +
        `${w.mutations.failed ? `, ${w.mutations.failed} MUTATIONS FAILED` : ''}; RSS ${fmt(w.rssMb)} MB`,
    );
  };

  // Open loop: every tick sends what the schedule says is due by now, whatever came back.
  while (Date.now() < endAt && !isStopping()) {
    const now = Date.now();
    const windowIndex = Math.floor((now - started) / (windowS * 1000)) + 1;
    if (windowIndex > current().index) {
      report(current());
      windows.push(newWindow(windowIndex));
    }
    const due = Math.floor(((now - started) / 1000) * rate) - sent;
    for (let i = 0; i < due; i++) {
      sent++;
      if (inFlight >= IN_FLIGHT) current().behind++;
      else verifyOne();
    }
    await sleep(2);
  }
  await mutator;
  while (inFlight > 0) await sleep(10);
  report(current());
  const rssEnd = rssMb(pid);
  await client.close();
  await admin.close();

  // The last window may be short; it is reported, but judged only when it is the only one.
  const whole = windows.length > 1 ? windows.slice(0, -1) : windows;
  const p99s = whole.map((w) =>
    percentile(
      [...w.times].sort((a, b) => a - b),
      99,
    ),
  );
  const medianP99 = percentile(
    [...p99s].sort((a, b) => a - b),
    50,
  );
  const worstP99 = Math.max(...p99s);
  const errors = windows.reduce((n, w) => n + w.errors + w.mutations.failed, 0);
  const refusals = windows.reduce((n, w) => n + w.refusals + w.raced, 0);
  const behind = windows.reduce((n, w) => n + w.behind, 0);
  const answered = windows.reduce((n, w) => n + w.times.length, 0);
  const mutations = windows.reduce((n, w) => n + w.mutations.create + w.mutations.edit + w.mutations.revoke, 0);

  log('\n== summary ==');
  log(
    `verify: ${fmt(answered)} answered in ${fmt((Date.now() - started) / 1000)} s (${fmt(answered / seconds)}/s of ${fmt(rate)}/s asked)` +
      `${behind ? `; ${fmt(behind)} not sent: the client was ${IN_FLIGHT} requests behind` : ''}`,
  );
  log(`mutations: ${fmt(mutations)} (created, edited, revoked); tokens made and still live: ${made.length}`);
  log(`errors: ${errors} (expected refusals of revoked keys: ${refusals}) — ${errors === 0 ? 'PASS' : 'MISS'}`);
  log(
    `RSS: ${fmt(rssStart)} MB at start, ${fmt(rssEnd)} MB at end (${rssEnd >= rssStart ? '+' : ''}${fmt(rssEnd - rssStart)} MB)`,
  );
  log(
    `p99 per window: ${p99s.map((p) => p.toFixed(2)).join(', ')} ms; worst ${worstP99.toFixed(2)} ms vs median ${medianP99.toFixed(2)} ms — ` +
      `stable (worst ≤ 2 × median): ${worstP99 <= 2 * medianP99 ? 'PASS' : 'MISS'}`,
  );
  await keygate.server.stop();
  await killAll();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
}

runBenchmark(main);
