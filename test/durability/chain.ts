import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { randomBase62 } from '../../src/domain/keys.js';
import { createKeygate } from '../../src/keygate.js';
import { assertNoSecretsAtRest } from '../support/secret-scan.js';
import { type Session, call, exportNdjson, request, signIn } from './http.js';
import { type Launcher, type ServerProcess, startServer } from './keygate-process.js';
import { type KeyedRequest, checkAccessLog, checkKeys, observe, settle } from './verify.js';
import { type Tally, type TokenModel, World, seededRandom, writeLoad } from './workload.js';

/** How a chain of crashes is run. */
export interface ChainSettings {
  rounds: number;
  /** Concurrent writers: several writes in flight when the kill lands. */
  writers: number;
  /** The load runs this long (a seeded random pick) before the kill. */
  loadMs: { min: number; max: number };
  /** KEYGATE_ACCESS_LOG_FLUSH_MS of the processes. */
  flushMs: number;
  /** Beyond the interval, the time a batch may take to be written (see README), per dialect. */
  writeAllowanceMs: Record<'sqlite' | 'postgres', number>;
  admin: { email: string; password: string };
}

/** What one round found. */
export interface RoundResult {
  problems: string[];
  /** One line for the test's diagnostics: what the round did and checked. */
  summary: string;
}

/** What the whole chain did, for the suite's last checks. */
export interface ChainSummary {
  tally: Tally;
  accessLog: {
    checked: number;
    lost: number;
    oldestLostMs: number;
    longestStallMs: number;
    lostSpanMs: number;
    vouched: number;
  };
  /** Keys the answers gave out that some keygate process printed (should be 0). */
  printedKeys: number;
}

/** A chain under way: each round's result as it comes, and the summary once all ran and were cleaned up. */
export interface Chain {
  rounds: Promise<RoundResult>[];
  done: Promise<ChainSummary>;
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Awaited by the round's test; a chain that fails early must not also count as unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sum(tally: Tally, field: 'acked' | 'unackedApplied' | 'unackedNotApplied'): number {
  return Object.values(tally).reduce((total, v) => total + v[field], 0);
}

/**
 * Starts a chain of crashes on one fresh database (a SQLite data directory, or a PostgreSQL schema):
 * round after round, write load against a real keygate process, SIGKILL at a random moment, restart
 * on the same data and check. The process restarted to check round N takes round N+1's load, so
 * each crash also lands on the history of all the earlier ones. Chains of different databases run
 * side by side; within one, nothing overlaps.
 */
export function startChain(
  dialect: { name: 'sqlite' | 'postgres'; url: string | undefined },
  seed: number,
  launcher: Launcher,
  settings: ChainSettings,
): Chain {
  const results = Array.from({ length: settings.rounds }, () => deferred<RoundResult>());
  const done = deferred<ChainSummary>();
  void run(dialect, seed, launcher, settings, results).then(done.resolve, (err) => {
    for (const r of results) r.reject(err);
    done.reject(err);
  });
  return { rounds: results.map((r) => r.promise), done: done.promise };
}

async function run(
  dialect: { name: 'sqlite' | 'postgres'; url: string | undefined },
  seed: number,
  launcher: Launcher,
  settings: ChainSettings,
  results: ReturnType<typeof deferred<RoundResult>>[],
): Promise<ChainSummary> {
  // Two streams: the kill delays repeat exactly for a seed; the choice of operations repeats as far
  // as the interleaving of answers (which decides how many are drawn) allows.
  const delays = seededRandom(seed);
  const choices = seededRandom(seed ^ 0x5bd1e995);
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-sigkill-'));
  const pgSchema = dialect.url ? `d_${randomBase62(10).toLowerCase()}` : undefined;
  const store = { url: dialect.url, dataDir, pgSchema };
  const env: Record<string, string> = {
    KEYGATE_DATA_DIR: dataDir,
    KEYGATE_ADMIN_EMAIL: settings.admin.email,
    KEYGATE_ADMIN_PASSWORD: settings.admin.password,
    KEYGATE_ACCESS_LOG_FLUSH_MS: String(settings.flushMs),
    // The checks present many refused keys from 127.0.0.1; the guessing block would answer them 429.
    KEYGATE_REFUSED_KEY_LIMIT: '0',
    ...(dialect.url ? { KEYGATE_DATABASE_URL: dialect.url, KEYGATE_DATABASE_SCHEMA: pgSchema! } : {}),
  };
  const world = new World(choices);
  const outputs: string[] = [];
  const accessLog = { checked: 0, lost: 0, oldestLostMs: 0, longestStallMs: 0, lostSpanMs: 0, vouched: 0 };
  let server: ServerProcess | undefined;
  try {
    server = await startServer(launcher, env);
    const session: Session = await signIn(server.base, settings.admin.email, settings.admin.password);
    const account: string = (await call(server.base, session, 'POST', '/resources', { type: 'account', name: 'Acme' }))
      .id;
    // The access-log probe's token: outside the load, its key presented all through every round.
    const probe = await call(server.base, session, 'POST', `/resources/${account}/tokens`, {
      name: 'access-log probe',
      permissions: ['resources:read'],
    });
    const probeKey: string = probe.key;
    world.noteKey(probeKey);
    const probeToken: TokenModel = {
      label: 'access-log probe',
      id: probe.id,
      fields: { name: probe.name, description: '', active: true, permissions: ['resources:read'] },
      keyPrefix: probe.keyPrefix,
      key: probeKey,
      graced: [],
      gracedRows: 0,
      actions: ['token.create'],
      busy: true,
      pending: null,
      reserved: true,
    };
    world.adopt(probeToken);

    /** Keyed requests sent to the running process, for the access-log check after its kill. */
    let sent: KeyedRequest[] = [];
    /** Wall-clock start of the running process, to read only its part of the access log. */
    let startedAt = Date.now();
    let life = 1;

    /** Keyed GET /me with the probe's key, one after another, until `stopped()`. */
    const probeLoop = async (base: string, tag: string, stopped: () => boolean) => {
      for (let n = 0; !stopped(); n++) {
        const entry: KeyedRequest = { id: `${tag}-p${n}`, sentAt: performance.now(), answeredAt: null };
        sent.push(entry);
        try {
          entry.answeredAt = (await request(base, 'GET', '/me', { key: probeKey, requestId: entry.id })).at;
        } catch {
          return;
        }
        await sleep(10);
      }
    };
    /** Polls the process's own access-log counters; resolves to the last ones it gave. */
    const statsLoop = async (base: string, stopped: () => boolean) => {
      let last = { written: 0, queued: 0, failedWrites: 0, droppedRecords: 0 };
      while (!stopped()) {
        try {
          const res = await request(base, 'GET', '/logs/access/stats', { session });
          if (res.status === 200) last = JSON.parse(res.text);
        } catch {
          break;
        }
        await sleep(50);
      }
      return last;
    };

    for (let round = 1; round <= settings.rounds; round++) {
      const running = server;
      const tag = `${dialect.name}-L${life}`;
      const loadMs = settings.loadMs.min + Math.floor(delays() * (settings.loadMs.max - settings.loadMs.min));
      const before = structuredClone(world.tally);
      let killed = false;
      const stopped = () => killed;
      const load = writeLoad(world, running.base, session, account, round, settings.writers, stopped);
      const probes = probeLoop(running.base, tag, stopped);
      const stats = statsLoop(running.base, stopped);
      await sleep(loadMs);
      killed = true;
      const killedAt = performance.now();
      await running.kill();
      server = undefined;
      await Promise.all([load, probes]);
      const said = await stats;
      outputs.push(running.output());
      const killedSent = sent;
      const killedStart = startedAt;

      server = await startServer(launcher, env);
      sent = [];
      startedAt = Date.now();
      life++;
      const base = server.base;
      // The killed process's records, read before any key is shown to the new one.
      const records = await exportNdjson(
        base,
        session,
        `/logs/access/export?format=ndjson&from=${new Date(killedStart - 5000).toISOString()}`,
      );
      const finding = checkAccessLog(
        records,
        killedSent,
        killedAt,
        settings.flushMs + settings.writeAllowanceMs[dialect.name],
        said.written,
      );
      accessLog.checked += finding.checked;
      accessLog.vouched += said.written;
      accessLog.lost += finding.lost;
      accessLog.oldestLostMs = Math.max(accessLog.oldestLostMs, finding.oldestLostMs);
      accessLog.longestStallMs = Math.max(accessLog.longestStallMs, finding.stalledMs);
      accessLog.lostSpanMs = Math.max(accessLog.lostSpanMs, finding.lostSpanMs);

      const seen = await observe(base, session, store);
      const { problems, keys } = settle(world, seen);
      let n = 0;
      problems.push(...(await checkKeys(base, keys, () => `${dialect.name}-L${life}-k${n++}`, sent)));
      problems.push(...finding.problems);
      problems.push(...world.refusals.splice(0).map((r) => `refused: ${r}`));

      const acked = sum(world.tally, 'acked') - sum(before, 'acked');
      const applied = sum(world.tally, 'unackedApplied') - sum(before, 'unackedApplied');
      const notApplied = sum(world.tally, 'unackedNotApplied') - sum(before, 'unackedNotApplied');
      results[round - 1]!.resolve({
        problems,
        summary:
          `killed after ${loadMs} ms: ${acked} writes acknowledged, ${applied + notApplied} not (${applied} found applied); ` +
          `${keys.length} keys presented; access log: ${finding.checked} records older than the bound checked, ` +
          `${finding.lost} younger lost (oldest answered ${Math.round(finding.oldestLostMs)} ms before the kill, ` +
          `the last answered request sent ${Math.round(finding.stalledMs)} ms before it; ` +
          `lost at most ${Math.round(finding.lostSpanMs)} ms before that); last stats ${JSON.stringify(said)}`,
      });
    }
    await server.stop();
    outputs.push(server.output());
    server = undefined;
    // Opened on what the crashes left: the database (and SQLite's WAL) holds no key or password.
    const kg = await createKeygate(loadConfig({ KEYGATE_DATA_DIR: dataDir, KEYGATE_DATABASE_URL: dialect.url ?? '' }), {
      pgSchema,
    });
    try {
      await assertNoSecretsAtRest(kg, dataDir);
    } finally {
      await kg.close();
    }
  } finally {
    await server?.kill();
    if (pgSchema) {
      const client = new pg.Client({ connectionString: dialect.url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
      await client.end();
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  const everything = outputs.join('\n');
  const printedKeys = world.minted.filter((key) => everything.includes(key)).length;
  return { tally: world.tally, accessLog, printedKeys };
}
