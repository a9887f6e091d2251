import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import type { Insertable } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { newId } from '../src/domain/ids.js';
import { KeyRing } from '../src/services/key-ring.js';
import { migrateToLatest, openDatabase } from '../src/store/database.js';
import type { ResourcesTable, TokenKeysTable, TokensTable, UsersTable } from '../src/store/schema.js';

/**
 * Seeding for the logging benchmark: the callers and a population of owners, resources and tokens
 * through the store modules, then millions of access-log records straight into the database with
 * one INSERT … SELECT per chunk (a recursive CTE on SQLite, generate_series on PostgreSQL), so no
 * row crosses from JavaScript. Records are a pure function of their index: the same count gives
 * the same log in both dialects.
 */

export const DAY_MS = 86_400_000;
/** How far back the seeded records reach. */
export const LOG_SPAN_MS = 30 * DAY_MS;
/** Records younger than this carry a captured request, as the default body retention would leave them. */
const CAPTURE_AGE_MS = 7 * DAY_MS;

export interface Population {
  tokens: number;
  owners: number;
  resources: number;
}

/** The seeded ids are readable and fixed-width: `tok_bench000000000000042`, the length of a real id. */
const seededId = (kind: 'tok' | 'usr' | 'res', n: number): string => `${kind}_bench${String(n).padStart(15, '0')}`;
export const tokenIdOf = (t: number): string => seededId('tok', t);
/** Owner of seeded token t (the same rule as the SQL below). */
export const ownerIdOf = (t: number, p: Population): string => seededId('usr', t % p.owners);
/** Resource of seeded token t (the same rule as the SQL below). */
export const resourceIdOf = (t: number, p: Population): string => seededId('res', (t * 7) % p.resources);

export interface SeededCallers {
  /** Administrator-level token on the bench account with logging `none`. */
  quietKey: string;
  quietId: string;
  /** The same, with logging `request+response`: every call is recorded with its bodies. */
  loudKey: string;
  loudId: string;
  /** A system token (no resource, administrator level) of the system administrator: reads every log. */
  systemKey: string;
}

/**
 * Migrates a fresh store and writes the system administrator, the bench account, the three
 * callers and the population: `owners` users, `resources` accounts and `tokens` tokens spread
 * over them. Plain keys exist only in memory.
 */
export async function seedPopulation(env: NodeJS.ProcessEnv, p: Population): Promise<SeededCallers> {
  const config = loadConfig(env);
  const ring = new KeyRing(config);
  const { db, close } = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    pgSchema: config.databaseSchema,
  });
  try {
    await migrateToLatest(db);
    const now = new Date().toISOString();
    const adminId = newId('usr');
    const accountId = newId('res');
    const user = (id: string, email: string, role: 'admin' | 'user'): Insertable<UsersTable> => ({
      id,
      email,
      name: email.split('@')[0]!,
      password_hash: null,
      system_role: role,
      active: 1,
      created_at: now,
      updated_at: now,
    });
    const account = (id: string, name: string): Insertable<ResourcesTable> => ({
      id,
      type: 'account',
      name,
      parent_id: null,
      created_at: now,
      updated_at: now,
    });
    const token = (
      id: string,
      key: string,
      name: string,
      ownerId: string,
      resourceId: string | null,
      level: string,
      logging: TokensTable['logging'],
    ): Insertable<TokensTable> => ({
      id,
      name,
      description: '',
      owner_id: ownerId,
      resource_id: resourceId,
      level,
      permissions: '[]',
      api_groups: '["native"]',
      expires_at: null,
      active: 1,
      impersonate_user_id: null,
      logging,
      key_prefix: ring.displayPrefix(key),
      encrypted_key: null,
      created_by: adminId,
      created_at: now,
      updated_at: now,
      last_used_at: null,
      last_used_ip: null,
    });

    const callers = { quiet: ring.generate(), loud: ring.generate(), system: ring.generate() };
    const ids = { quiet: newId('tok'), loud: newId('tok'), system: newId('tok') };
    const users: Insertable<UsersTable>[] = [user(adminId, 'bench-admin@example.invalid', 'admin')];
    for (let o = 0; o < p.owners; o++) users.push(user(seededId('usr', o), `bench-owner-${o}@example.invalid`, 'user'));
    const resources: Insertable<ResourcesTable>[] = [account(accountId, 'Bench account')];
    for (let r = 0; r < p.resources; r++) resources.push(account(seededId('res', r), `Bench account ${r}`));
    const tokens: Insertable<TokensTable>[] = [
      token(ids.quiet, callers.quiet, 'bench logging none', adminId, accountId, 'administrator', 'none'),
      token(
        ids.loud,
        callers.loud,
        'bench logging request+response',
        adminId,
        accountId,
        'administrator',
        'request+response',
      ),
      token(ids.system, callers.system, 'bench system reader', adminId, null, 'administrator', 'none'),
    ];
    for (let t = 0; t < p.tokens; t++)
      tokens.push(
        token(tokenIdOf(t), ring.generate(), `bench ${t}`, ownerIdOf(t, p), resourceIdOf(t, p), 'reader', 'none'),
      );
    const keys: Insertable<TokenKeysTable>[] = (['quiet', 'loud', 'system'] as const).map((c) => ({
      key_hash: ring.hash(callers[c]),
      token_id: ids[c],
      expires_at: null,
      created_at: now,
    }));
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < users.length; i += 500)
        await trx
          .insertInto('users')
          .values(users.slice(i, i + 500))
          .execute();
      for (let i = 0; i < resources.length; i += 500)
        await trx
          .insertInto('resources')
          .values(resources.slice(i, i + 500))
          .execute();
      for (let i = 0; i < tokens.length; i += 500)
        await trx
          .insertInto('tokens')
          .values(tokens.slice(i, i + 500))
          .execute();
      await trx.insertInto('token_keys').values(keys).execute();
    });
    return {
      quietKey: callers.quiet,
      quietId: ids.quiet,
      loudKey: callers.loud,
      loudId: ids.loud,
      systemKey: callers.system,
    };
  } finally {
    await close();
  }
}

type SqlDialect = 'sqlite' | 'postgres';

const COLUMNS =
  'at, id, request_id, token_id, owner_id, resource_id, method, route, path, api_version, status, duration_us, ' +
  'ip, user_agent, outcome, carrier, key_prefix, key_fingerprint, capture';

const CAPTURE_JSON = JSON.stringify({
  request: {
    query: '',
    headers: { 'user-agent': 'curl/8.5.0', accept: '*/*', 'x-api-key': '[redacted]' },
    body: { key: '[redacted]' },
  },
  truncated: false,
}).replace(/'/g, "''");

/**
 * The SELECT that makes records [lo, hi) of `count`, spread evenly over [startMs, startMs + span).
 * `h` is a multiplicative hash of the index; the token, status, route and address follow from it.
 * Shares of statuses (per mille): 200 82 %, 201 3 %, 204 1.5 %, 400 2.5 %, 401 unknown key 4 %,
 * 401 expired 1.5 %, 403 2.5 %, 404 2 %, 429 0.5 %, 500 0.5 %.
 */
function recordsSelect(
  dialect: SqlDialect,
  lo: number,
  hi: number,
  count: number,
  startMs: number,
  p: Population,
): string {
  const pad = (e: string): string => (dialect === 'sqlite' ? `printf('%015d', ${e})` : `lpad((${e})::text, 15, '0')`);
  const captureFrom = Math.ceil((count * (LOG_SPAN_MS - CAPTURE_AGE_MS)) / LOG_SPAN_MS);
  const unknownKey = 'b >= 890 AND b < 930';
  const tokenId = `'tok_bench' || ${pad('t')}`;
  const resourceId = `'res_bench' || ${pad(`(t * 7) % ${p.resources}`)}`;
  const source =
    dialect === 'sqlite'
      ? `(SELECT i, (i * 2654435761) % 4294967296 AS h FROM s)`
      : `(SELECT i, (i * 2654435761) % 4294967296 AS h FROM generate_series(${lo}::bigint, ${hi - 1}::bigint) AS s(i))`;
  return `SELECT
    ${startMs} + (i * ${LOG_SPAN_MS}) / ${count},
    'acc_' || ${pad('i')} || 'benchrec',
    'bench-' || i,
    CASE WHEN ${unknownKey} THEN NULL ELSE ${tokenId} END,
    CASE WHEN ${unknownKey} THEN NULL ELSE 'usr_bench' || ${pad(`t % ${p.owners}`)} END,
    CASE WHEN ${unknownKey} THEN NULL ELSE ${resourceId} END,
    CASE WHEN r < 4 THEN 'POST' WHEN r = 9 THEN 'PATCH' ELSE 'GET' END,
    CASE WHEN r < 4 THEN '/api/v1.0/verify' WHEN r < 6 THEN '/api/v1.0/me' WHEN r < 8 THEN '/api/v1.0/tokens'
         WHEN r = 8 THEN '/api/v1.0/resources/:id' ELSE '/api/v1.0/tokens/:id' END,
    CASE WHEN r < 4 THEN '/api/v1.0/verify' WHEN r < 6 THEN '/api/v1.0/me' WHEN r < 8 THEN '/api/v1.0/tokens'
         WHEN r = 8 THEN '/api/v1.0/resources/' || ${resourceId} ELSE '/api/v1.0/tokens/' || ${tokenId} END,
    'v1.0',
    CASE WHEN b < 820 THEN 200 WHEN b < 850 THEN 201 WHEN b < 865 THEN 204 WHEN b < 890 THEN 400
         WHEN b < 945 THEN 401 WHEN b < 970 THEN 403 WHEN b < 990 THEN 404 WHEN b < 995 THEN 429 ELSE 500 END,
    200 + (h % 25000) + CASE WHEN h % 97 = 0 THEN 250000 ELSE 0 END,
    '10.' || (t % 200) || '.' || (h % 3) || '.' || (t % 250 + 1),
    CASE t % 4 WHEN 0 THEN 'curl/8.5.0' WHEN 1 THEN 'python-requests/2.32.3' WHEN 2 THEN 'Go-http-client/1.1'
         ELSE 'keygate-sdk/1.4 (node 20)' END,
    CASE WHEN b < 865 THEN 'VALID' WHEN b < 890 THEN 'VALIDATION_FAILED' WHEN b < 930 THEN 'KEY_INVALID'
         WHEN b < 945 THEN 'KEY_EXPIRED' WHEN b < 970 THEN 'INSUFFICIENT_PERMISSIONS' WHEN b < 990 THEN 'NOT_FOUND'
         WHEN b < 995 THEN 'HTTP_429' ELSE 'HTTP_500' END,
    CASE WHEN t % 5 = 0 THEN 'header:authorization' ELSE 'header:x-api-key' END,
    CASE WHEN ${unknownKey} THEN 'kg_' || (h % 9973) ELSE NULL END,
    CASE WHEN ${unknownKey} THEN 'fp' || (h % 999983) ELSE NULL END,
    CASE WHEN i % 20 = 0 AND i >= ${captureFrom} THEN '${CAPTURE_JSON}' ELSE NULL END
  FROM (SELECT i, h, h % ${p.tokens} AS t, (h / 1000) % 1000 AS b, (h / 1000000) % 10 AS r FROM ${source} AS x) AS g`;
}

export type Progress = (done: number, total: number) => void;

export interface SeedLogOptions {
  count: number;
  /** The newest record is just before this. */
  nowMs: number;
  population: Population;
  /** Records per INSERT statement (and per progress step). */
  chunk?: number;
  progress: Progress;
  /** Told when a slow step without progress starts (index builds, VACUUM). */
  phase?: (what: string) => void;
}

/** The time of the oldest seeded record. */
export const logStartMs = (nowMs: number): number => nowMs - LOG_SPAN_MS;

/**
 * Seeds the SQLite file of a stopped keygate. Durability is off for this connection only (a lost
 * seed is simply redone); the WAL is checkpointed at the end so the server starts on a clean file.
 * Returns the time the index builds took.
 */
export function seedAccessLogSqlite(dataDir: string, opts: SeedLogOptions): { indexMs: number } {
  const db = new SQLite(join(dataDir, 'keygate.db'));
  try {
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const chunk = opts.chunk ?? 100_000;
    const start = logStartMs(opts.nowMs);
    // Secondary indexes are dropped and built again afterwards (as the migration made them: their
    // SQL is read back), because one sorted build is several times faster than millions of inserts.
    const indexes = db
      .prepare(
        `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'access_log' AND sql IS NOT NULL`,
      )
      .all() as { name: string; sql: string }[];
    for (const ix of indexes) db.exec(`DROP INDEX ${ix.name}`);
    for (let lo = 0; lo < opts.count; lo += chunk) {
      const hi = Math.min(opts.count, lo + chunk);
      db.exec(
        `WITH RECURSIVE s(i) AS (SELECT ${lo} UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ${hi})
         INSERT INTO access_log (${COLUMNS}) ${recordsSelect('sqlite', lo, hi, opts.count, start, opts.population)}`,
      );
      opts.progress(hi, opts.count);
    }
    opts.phase?.(`building ${indexes.length} indexes…`);
    const t0 = Date.now();
    for (const ix of indexes) db.exec(ix.sql);
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { indexMs: Date.now() - t0 };
  } finally {
    db.close();
  }
}

/** `access_log_pYYYYMMDD` for the UTC day holding `ms`. */
export function partitionName(ms: number): string {
  return `access_log_p${new Date(ms).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

/**
 * Seeds a PostgreSQL schema: first a daily partition [day start, next day start) for every day the
 * records cover and two days ahead (so nothing lands in the default partition), then the records
 * in time order, chunk by chunk, then VACUUM ANALYZE (what autovacuum would soon do) so the
 * planner has statistics and index-only scans see the visibility map.
 * Returns the times the index builds and VACUUM ANALYZE took.
 */
export async function seedAccessLogPostgres(
  url: string,
  schema: string,
  opts: SeedLogOptions,
  log: (line: string) => void,
): Promise<{ partitions: number; indexMs: number; vacuumMs: number }> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    const start = logStartMs(opts.nowMs);
    let partitions = 0;
    for (let day = Math.floor(start / DAY_MS); day <= Math.floor(opts.nowMs / DAY_MS) + 2; day++) {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${partitionName(day * DAY_MS)} PARTITION OF access_log FOR VALUES FROM (${day * DAY_MS}) TO (${(day + 1) * DAY_MS})`,
      );
      partitions++;
    }
    log(`created ${partitions} daily partitions`);
    const chunk = opts.chunk ?? 250_000;
    await client.query('SET synchronous_commit = off');
    // As on SQLite: secondary indexes (on the parent, so on every partition) are built after the load.
    const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
      `SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = $1 AND i.tablename = 'access_log'
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.connamespace = $1::regnamespace)`,
      [schema],
    );
    for (const ix of indexes) await client.query(`DROP INDEX ${ix.indexname}`);
    for (let lo = 0; lo < opts.count; lo += chunk) {
      const hi = Math.min(opts.count, lo + chunk);
      await client.query(
        `INSERT INTO access_log (${COLUMNS}) ${recordsSelect('postgres', lo, hi, opts.count, start, opts.population)}`,
      );
      opts.progress(hi, opts.count);
    }
    opts.phase?.(`building ${indexes.length} indexes…`);
    const t0 = Date.now();
    // pg_indexes shows a partitioned index as `ON ONLY access_log`, which would not reach the partitions.
    for (const ix of indexes) await client.query(ix.indexdef.replace(' ON ONLY ', ' ON '));
    const indexMs = Date.now() - t0;
    opts.phase?.('VACUUM ANALYZE…');
    const t1 = Date.now();
    await client.query('VACUUM (ANALYZE) access_log');
    return { partitions, indexMs, vacuumMs: Date.now() - t1 };
  } finally {
    await client.end();
  }
}

/** Drops the benchmark's schema and everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * After part 1: how many records each /me caller left, and how many carry a capture — the proof
 * that the request+response token was really logged with bodies.
 */
export async function countCallerRecords(
  env: NodeJS.ProcessEnv,
  ids: readonly string[],
): Promise<Record<string, { records: number; captured: number }>> {
  const config = loadConfig(env);
  const { db, close } = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    pgSchema: config.databaseSchema,
  });
  try {
    const out: Record<string, { records: number; captured: number }> = {};
    for (const id of ids) {
      const row = await db
        .selectFrom('access_log')
        .select((eb) => [
          eb.fn.countAll<number | string>().as('records'),
          eb.fn.count<number | string>('capture').as('captured'),
        ])
        .where('token_id', '=', id)
        .executeTakeFirstOrThrow();
      out[id] = { records: Number(row.records), captured: Number(row.captured) };
    }
    return out;
  } finally {
    await close();
  }
}
