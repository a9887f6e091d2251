import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import { newId } from '../src/domain/ids.js';
import { cpuShare, cpuSnapshot, type CpuShare } from './cpu.js';
import { KEYGATE_ENTRY, keygateEnv, keygateUnavailable, serveKeygate, staleBuildWarning } from './keygate.js';
import { freePort, installExitHooks, killAll, runBenchmark, type Pinned } from './proc.js';
import { envNumber, loadSettings } from './settings.js';
import { summarize, trimTop, welch, type Summary, type Welch } from './stats.js';

/**
 * bench:enumeration — does keygate's timing tell an attacker what exists? Issue 11, item 4.
 *
 * A built keygate (real argon2id cost) answers, over keep-alive HTTP and one request at a time,
 * pairs of requests that must look the same from outside: a sign-in with an unknown email against
 * one with a known email and a wrong password, and a 404 for an id that does not exist against one
 * for an id that exists outside the caller's reach (resources and tokens, asked with a token and
 * with a console session). The two conditions of a pair are interleaved in random order, so a
 * neighbour's load on this shared machine lands on both alike. Per pair it checks that every
 * answer is the same (status, code, message, headers), then prints each condition's timings and
 * Welch's t-test of the difference, also with the slowest 1 % of each condition dropped.
 * It prints; it does not fail on a difference.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const API = '/api/v1.0';
/** Below this p-value a difference is reported as real. */
const ALPHA = 0.01;
/** Top share of each condition dropped for the trimmed test (GC pauses, scheduler stalls). */
const TRIM = 0.01;
/** Failed sign-ins per account and per address: the throttle lets 5 through before its first wait. */
const GUESSES_PER_ACCOUNT = 4;

const PAIR_IDS = ['sign-in', 'resource-token', 'resource-session', 'token-token', 'token-session'] as const;
type PairId = (typeof PAIR_IDS)[number];

const load = loadSettings();
const settings = {
  samples: Math.round(envNumber('BENCH_SAMPLES', 2_000, 10)),
  warmup: Math.round(envNumber('BENCH_WARMUP_SAMPLES', 200, 0)),
  pairs: parsePairs(process.env.BENCH_PAIRS),
  serverCpu: load.serverCpu,
  loadCpu: load.loadCpu,
  keepTmp: process.env.BENCH_KEEP_TMP === '1',
};

function parsePairs(raw: string | undefined): PairId[] {
  if (raw === undefined || raw.trim() === '') return [...PAIR_IDS];
  const ids = raw.split(',').map((s) => s.trim());
  for (const id of ids)
    if (!(PAIR_IDS as readonly string[]).includes(id))
      throw new Error(`BENCH_PAIRS: unknown pair ${JSON.stringify(id)} (known: ${PAIR_IDS.join(', ')})`);
  return ids as PairId[];
}

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

// ---------------------------------------------------------------- HTTP

interface Request {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers?: Record<string, string>;
  body?: unknown;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Time from sending to the last byte of the body, in µs. */
  us: number;
}

/** One keep-alive connection; requests go one at a time, so each timing is one request alone. */
class Http {
  private readonly client: Client;

  constructor(baseUrl: string) {
    this.client = new Client(baseUrl, { pipelining: 1, keepAliveTimeout: 120_000, keepAliveMaxTimeout: 600_000 });
  }

  async send(req: Request): Promise<Answer> {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] = 'application/json';
    }
    const t0 = process.hrtime.bigint();
    const res = await this.client.request({ method: req.method, path: req.path, headers, body });
    const text = await res.body.text();
    const us = Number(process.hrtime.bigint() - t0) / 1_000;
    return { status: res.statusCode, headers: res.headers, text, us };
  }

  /** A setup call that must answer `status`; its JSON body. */
  async expect(req: Request, status: number): Promise<Record<string, unknown>> {
    const a = await this.send(req);
    if (a.status !== status)
      throw new Error(`${req.method} ${req.path} answered ${a.status}, not ${status}: ${a.text.slice(0, 300)}`);
    return a.text === '' ? {} : (JSON.parse(a.text) as Record<string, unknown>);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

/** Headers that differ between any two answers (time, request id, body length from the request id). */
const VARYING_HEADERS = new Set(['date', 'x-request-id', 'content-length', 'keep-alive', 'connection']);

/**
 * What an observer can compare between two answers besides their timing: the status, the body
 * with its request id blanked, and the names of the headers (with the values of the steady ones).
 */
function signature(a: Answer): string {
  let body: unknown = a.text;
  try {
    const parsed = JSON.parse(a.text) as { error?: Record<string, unknown> };
    if (parsed.error && typeof parsed.error === 'object' && 'requestId' in parsed.error) parsed.error.requestId = '…';
    body = parsed;
  } catch {
    // Not JSON: compared as text.
  }
  const headers = Object.keys(a.headers)
    .map((h) => h.toLowerCase())
    .sort()
    .map((h) => (VARYING_HEADERS.has(h) ? h : `${h}: ${String(a.headers[h])}`));
  return JSON.stringify({ status: a.status, body, headers });
}

// ---------------------------------------------------------------- set-up

interface World {
  adminKey: string;
  /** Administrator-level token on the reachable account: the token caller. */
  callerKey: string;
  /** Session of a user with the administrator role on the reachable account. */
  sessionCookie: string;
  reachableResource: string;
  farResource: string;
  reachableToken: string;
  farToken: string;
  /** Emails of users with `password`, GUESSES_PER_ACCOUNT wrong guesses each. */
  knownEmails: string[];
  wrongPassword: string;
}

const pad6 = (n: number): string => String(n).padStart(6, '0');

/**
 * Makes what the pairs ask about, through the public API as an administrator would: two accounts
 * (one the callers hold a role on, one they do not), a token in each, a caller token and a session
 * user on the first, and enough users with a password for the wrong-password guesses.
 */
async function seed(http: Http, admin: { email: string; password: string }, knownCount: number): Promise<World> {
  const session = await http.send({ method: 'POST', path: `${API}/session`, body: admin });
  if (session.status !== 200)
    throw new Error(`admin sign-in answered ${session.status}: ${session.text.slice(0, 300)}`);
  const adminCookie = cookieFrom(session);
  const csrf = (JSON.parse(session.text) as { csrfToken: string }).csrfToken;
  const adminToken = await http.expect(
    {
      method: 'POST',
      path: `${API}/tokens`,
      headers: { cookie: adminCookie, 'x-csrf-token': csrf },
      body: { name: 'bench admin', level: 'administrator' },
    },
    201,
  );
  const adminKey = String(adminToken.key);
  const asAdmin = { 'x-api-key': adminKey };
  const account = async (name: string): Promise<string> =>
    String(
      (
        await http.expect(
          { method: 'POST', path: `${API}/resources`, headers: asAdmin, body: { type: 'account', name } },
          201,
        )
      ).id,
    );
  const reachableResource = await account('Within reach');
  const farResource = await account('Out of reach');
  const token = async (resource: string, name: string): Promise<{ id: string; key: string }> => {
    const t = await http.expect(
      {
        method: 'POST',
        path: `${API}/resources/${resource}/tokens`,
        headers: asAdmin,
        body: { name, level: 'administrator' },
      },
      201,
    );
    return { id: String(t.id), key: String(t.key) };
  };
  const caller = await token(reachableResource, 'bench caller');
  const reachableToken = (await token(reachableResource, 'within reach')).id;
  const farToken = (await token(farResource, 'out of reach')).id;

  const password = randomBytes(18).toString('base64url');
  const member = await http.expect(
    {
      method: 'POST',
      path: `${API}/users`,
      headers: asAdmin,
      body: { email: 'bench-member@example.invalid', password, name: 'Bench member' },
    },
    201,
  );
  await http.expect(
    {
      method: 'PUT',
      path: `${API}/resources/${reachableResource}/members/${String(member.id)}`,
      headers: asAdmin,
      body: { role: 'administrator' },
    },
    200,
  );
  const memberSession = await http.send({
    method: 'POST',
    path: `${API}/session`,
    body: { email: 'bench-member@example.invalid', password },
  });
  if (memberSession.status !== 200) throw new Error(`member sign-in answered ${memberSession.status}`);

  // Each known user takes GUESSES_PER_ACCOUNT wrong passwords: the sign-in throttle stays out of the way
  // without a setting that would make this server unlike a deployed one.
  const knownEmails: string[] = [];
  const t0 = Date.now();
  for (let i = 0; i < knownCount; i++) {
    const email = `member-${pad6(i)}@example.invalid`;
    await http.expect({ method: 'POST', path: `${API}/users`, headers: asAdmin, body: { email, password } }, 201);
    knownEmails.push(email);
    if ((i + 1) % 100 === 0 || i + 1 === knownCount)
      process.stderr.write(`  users with a password: ${i + 1}/${knownCount}\r`);
  }
  process.stderr.write('\n');
  log(
    `  ${knownCount} users with a password created in ${((Date.now() - t0) / 1000).toFixed(1)} s (one argon2id hash each)`,
  );

  let wrongPassword = randomBytes(18).toString('base64url');
  while (wrongPassword === password) wrongPassword = randomBytes(18).toString('base64url');
  return {
    adminKey,
    callerKey: caller.key,
    sessionCookie: cookieFrom(memberSession),
    reachableResource,
    farResource,
    reachableToken,
    farToken,
    knownEmails,
    wrongPassword,
  };
}

/** `keygate_session=…` from a sign-in answer's Set-Cookie. */
function cookieFrom(a: Answer): string {
  const set = a.headers['set-cookie'];
  const line = (Array.isArray(set) ? set : [set ?? '']).find((c) => c.startsWith('keygate_session='));
  if (!line) throw new Error('sign-in set no session cookie');
  return line.split(';')[0] as string;
}

// ---------------------------------------------------------------- the pairs

interface Condition {
  label: string;
  /** The request for this condition's i-th sample (warm-up included). */
  request: (i: number) => Request;
}

interface Pair {
  id: PairId;
  title: string;
  a: Condition;
  b: Condition;
  /** A request the caller may make, to show the caller works (200) before its 404s are compared. */
  control?: Request;
}

/** A client address of its own per group of guesses, through the trusted proxy's X-Forwarded-For. */
const addressOf = (lane: number, group: number): string => `10.${lane}.${(group >> 8) & 255}.${group & 255}`;

function pairs(w: World): Pair[] {
  const asToken = { 'x-api-key': w.callerKey };
  const asSession = { cookie: w.sessionCookie };
  const signIn = (lane: number, email: (group: number) => string) => (i: number) => {
    const group = Math.floor(i / GUESSES_PER_ACCOUNT);
    return {
      method: 'POST' as const,
      path: `${API}/session`,
      headers: { 'x-forwarded-for': addressOf(lane, group) },
      body: { email: email(group), password: w.wrongPassword },
    };
  };
  const get = (path: string, headers: Record<string, string>): Request => ({ method: 'GET', path, headers });
  const lookups = (kind: 'resource' | 'token', who: 'token' | 'session'): Pair => {
    const headers = who === 'token' ? asToken : asSession;
    const collection = kind === 'resource' ? 'resources' : 'tokens';
    const far = kind === 'resource' ? w.farResource : w.farToken;
    const near = kind === 'resource' ? w.reachableResource : w.reachableToken;
    return {
      id: `${kind}-${who}`,
      title: `GET /${collection}/:id as a ${who === 'token' ? 'token' : 'session user'}: missing vs out of reach`,
      // A fresh id every time, as an attacker's guesses are: nothing can have cached it.
      a: {
        label: `missing ${kind}`,
        request: () => get(`${API}/${collection}/${newId(kind === 'resource' ? 'res' : 'tok')}`, headers),
      },
      b: { label: `out-of-reach ${kind}`, request: () => get(`${API}/${collection}/${far}`, headers) },
      control: get(`${API}/${collection}/${near}`, headers),
    };
  };
  const all: Pair[] = [
    {
      id: 'sign-in',
      title: 'POST /session: unknown email vs known email with a wrong password',
      a: { label: 'unknown email', request: signIn(1, (g) => `absent-${pad6(g)}@example.invalid`) },
      b: {
        label: 'wrong password',
        request: signIn(2, (g) => w.knownEmails[g] ?? fail(`no known user for guess group ${g}`)),
      },
    },
    lookups('resource', 'token'),
    lookups('resource', 'session'),
    lookups('token', 'token'),
    lookups('token', 'session'),
  ];
  return all.filter((p) => settings.pairs.includes(p.id));
}

function fail(message: string): never {
  throw new Error(message);
}

/** n a's and n b's in random order (Fisher–Yates over a CSPRNG, so no pattern lines up with the server's). */
function interleaving(n: number): ('a' | 'b')[] {
  const order: ('a' | 'b')[] = [...Array<'a'>(n).fill('a'), ...Array<'b'>(n).fill('b')];
  for (let i = order.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [order[i], order[j]] = [order[j] as 'a' | 'b', order[i] as 'a' | 'b'];
  }
  return order;
}

interface Tested {
  summaries: { a: Summary; b: Summary };
  welch: Welch;
}

interface PairResult {
  id: PairId;
  title: string;
  labels: { a: string; b: string };
  /** Distinct answers seen, by signature, with their count per condition. */
  answers: { signature: string; a: number; b: number }[];
  sameAnswers: boolean;
  all: Tested;
  trimmed: Tested;
  serverCpu: CpuShare | null;
  loadCpu: CpuShare | null;
  seconds: number;
  samples: { a: number[]; b: number[] };
}

function test(a: number[], b: number[]): Tested {
  return { summaries: { a: summarize(a), b: summarize(b) }, welch: welch(a, b) };
}

async function measure(http: Http, pair: Pair, server: Pinned): Promise<PairResult> {
  if (pair.control) {
    const c = await http.send(pair.control);
    if (c.status !== 200)
      throw new Error(
        `${pair.id}: the caller cannot read what is within its reach (${c.status}); its 404s would prove nothing`,
      );
  }
  const counters = { a: 0, b: 0 };
  const next = (which: 'a' | 'b'): Request => pair[which].request(counters[which]++);

  for (const which of interleaving(settings.warmup)) await http.send(next(which));

  const samples = { a: [] as number[], b: [] as number[] };
  const answers = new Map<string, { a: number; b: number }>();
  const order = interleaving(settings.samples);
  const t0 = Date.now();
  const serverBefore = cpuSnapshot(settings.serverCpu, server.child.pid);
  const loadBefore = cpuSnapshot(settings.loadCpu, process.pid);
  let done = 0;
  for (const which of order) {
    const answer = await http.send(next(which));
    samples[which].push(answer.us);
    const sig = signature(answer);
    const seen = answers.get(sig) ?? { a: 0, b: 0 };
    seen[which]++;
    answers.set(sig, seen);
    if (++done % 500 === 0) process.stderr.write(`  ${pair.id}: ${done}/${order.length}\r`);
  }
  process.stderr.write('\n');
  const serverCpu = cpuShare(serverBefore, cpuSnapshot(settings.serverCpu, server.child.pid));
  const loadCpu = cpuShare(loadBefore, cpuSnapshot(settings.loadCpu, process.pid));
  return {
    id: pair.id,
    title: pair.title,
    labels: { a: pair.a.label, b: pair.b.label },
    answers: [...answers].map(([signature, n]) => ({ signature, ...n })),
    sameAnswers: answers.size === 1,
    all: test(samples.a, samples.b),
    trimmed: test(trimTop(samples.a, TRIM), trimTop(samples.b, TRIM)),
    serverCpu,
    loadCpu,
    seconds: (Date.now() - t0) / 1000,
    samples,
  };
}

// ---------------------------------------------------------------- printing

const us = (n: number): string => Math.round(n).toLocaleString('en-US');
const signed = (n: number): string => `${n >= 0 ? '+' : '−'}${us(Math.abs(n))}`;

function verdict(w: Welch): string {
  if (w.p >= ALPHA) return `no detectable difference at p ≥ ${ALPHA}`;
  return `DIFFERENCE of ${us(Math.abs(w.diff))} µs (p < ${ALPHA})`;
}

function pValue(p: number): string {
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

function printTested(r: PairResult, t: Tested, heading: string): void {
  const width = Math.max(r.labels.a.length, r.labels.b.length);
  log(`  ${heading}`);
  log(`    ${''.padEnd(width)}      n      mean    median       p90        sd   (µs)`);
  for (const which of ['a', 'b'] as const) {
    const s = t.summaries[which];
    log(
      `    ${r.labels[which].padEnd(width)}  ${String(s.n).padStart(5)}  ${us(s.mean).padStart(8)}  ${us(s.median).padStart(8)}  ${us(s.p90).padStart(8)}  ${us(s.sd).padStart(8)}`,
    );
  }
  const w = t.welch;
  const se = Math.abs(w.t) > 0 ? Math.abs(w.diff / w.t) : 0;
  log(
    `    difference of means (${r.labels.a} − ${r.labels.b}): ${signed(w.diff)} µs (se ${us(se)} µs); ` +
      `Welch t = ${w.t.toFixed(2)}, df = ${w.df.toFixed(1)}, p = ${pValue(w.p)} → ${verdict(w)}`,
  );
}

function printPair(r: PairResult, index: number): void {
  log('');
  log(`(${String.fromCharCode(97 + index)}) ${r.title}`);
  const first = r.answers[0];
  if (r.sameAnswers && first) {
    const { status, body } = JSON.parse(first.signature) as {
      status: number;
      body: { error?: { code?: string; message?: string } };
    };
    log(
      `  answers: all ${r.all.summaries.a.n + r.all.summaries.b.n} identical — ${status} ${body.error?.code ?? ''} "${body.error?.message ?? ''}" (request id aside)`,
    );
  } else {
    log(`  ANSWERS DIFFER — ${r.answers.length} kinds:`);
    for (const a of r.answers) log(`    ${r.labels.a} ×${a.a}, ${r.labels.b} ×${a.b}: ${a.signature.slice(0, 400)}`);
  }
  printTested(r, r.all, 'all samples');
  printTested(r, r.trimmed, `slowest ${TRIM * 100} % of each dropped`);
  const cpu = (c: CpuShare | null, who: string): string =>
    c ? `${who} ${c.serverPct}%, other processes ${c.otherPct}%, idle ${c.idlePct}%` : 'n/a';
  log(
    `  ${r.seconds.toFixed(1)} s; cpu${settings.serverCpu}: ${cpu(r.serverCpu, 'keygate')}; cpu${settings.loadCpu}: ${cpu(r.loadCpu, 'harness')}`,
  );
}

// ---------------------------------------------------------------- main

function preflight(): void {
  const missing = keygateUnavailable(ROOT);
  if (missing) throw new Error(missing);
  const stale = staleBuildWarning(ROOT);
  if (stale) log(`warning: ${stale}`);
  for (const cpu of [settings.serverCpu, settings.loadCpu]) {
    const r = spawnSync('taskset', ['-c', String(cpu), 'true'], { stdio: 'pipe' });
    if (r.error || r.status !== 0) throw new Error(`cannot run taskset -c ${cpu}: ${r.error?.message ?? r.stderr}`);
  }
  // The harness times the requests: on its own core, away from the server's.
  spawnSync('taskset', ['-a', '-p', '-c', String(settings.loadCpu), String(process.pid)], { stdio: 'ignore' });
}

async function main(): Promise<void> {
  preflight();
  const tmp = mkdtempSync(join(tmpdir(), 'keygate-enumeration-'));
  const cleanup = async (): Promise<void> => {
    if (!settings.keepTmp) rmSync(tmp, { recursive: true, force: true });
  };
  installExitHooks(cleanup);
  let http: Http | undefined;
  try {
    const port = await freePort();
    const admin = { email: 'bench-admin@example.invalid', password: randomBytes(18).toString('base64url') };
    const env: NodeJS.ProcessEnv = {
      ...keygateEnv({ dataDir: join(tmp, 'data'), port }),
      KEYGATE_ADMIN_EMAIL: admin.email,
      KEYGATE_ADMIN_PASSWORD: admin.password,
      // The harness is the proxy: each group of sign-in guesses comes from an address of its own.
      KEYGATE_TRUSTED_PROXIES: '127.0.0.1',
      // No refused keys are presented; a high limit keeps the block out of the way all the same.
      KEYGATE_REFUSED_KEY_LIMIT: '1000000',
    };
    mkdirSync(join(tmp, 'data'));
    const { server, baseUrl } = await serveKeygate({ root: ROOT, cpu: settings.serverCpu, port, env });
    log(
      `bench:enumeration — keygate from ${KEYGATE_ENTRY} on cpu${settings.serverCpu} (SQLite, argon2id m=19 MiB t=2), harness on cpu${settings.loadCpu}; ` +
        `${settings.samples} samples per condition after ${settings.warmup} warm-up, interleaved at random; load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    http = new Http(baseUrl);
    const needsUsers = settings.pairs.includes('sign-in');
    const knownCount = needsUsers ? Math.ceil((settings.warmup + settings.samples) / GUESSES_PER_ACCOUNT) : 0;
    const world = await seed(http, admin, knownCount);

    const results: PairResult[] = [];
    const chosen = pairs(world);
    for (const [i, pair] of chosen.entries()) {
      const r = await measure(http, pair, server);
      results.push(r);
      printPair(r, i);
    }

    log('');
    log('summary (all samples | slowest 1 % dropped):');
    for (const r of results)
      log(
        `  ${r.id.padEnd(17)} ${r.sameAnswers ? 'same answers' : 'ANSWERS DIFFER'}; ${verdict(r.all.welch)} (${signed(r.all.welch.diff)} µs, p = ${pValue(r.all.welch.p)}) | ` +
          `${verdict(r.trimmed.welch)} (${signed(r.trimmed.welch.diff)} µs, p = ${pValue(r.trimmed.welch.p)})`,
      );
    log(
      `load average at the end: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );

    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `enumeration-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ settings: { ...settings, alpha: ALPHA, trim: TRIM, guessesPerAccount: GUESSES_PER_ACCOUNT }, results }, null, 1)}\n`,
    );
    log(`results: ${file}`);
  } finally {
    await http?.close().catch(() => {});
    await killAll();
    await cleanup();
  }
}

runBenchmark(main);
