import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresAdapter, PostgresDialect, SqliteDialect, sql, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { MIGRATIONS } from './migrations/index.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
  /** PostgreSQL's connection pool now, for /metrics; SQLite has none. */
  poolStats?: () => PoolStats;
}

/** Connections of the PostgreSQL pool: open, idle among them, and queries waiting for one. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface DatabaseOptions {
  /** A `postgres://` URL selects PostgreSQL; otherwise SQLite under `dataDir`. */
  url?: string | undefined;
  dataDir: string;
  /** PostgreSQL schema to use (created if missing); tests give each instance its own. */
  pgSchema?: string | undefined;
  /** Told when an idle PostgreSQL connection fails. */
  onIdleError?: ((err: Error) => void) | undefined;
}

/** PostgreSQL connections per instance: N instances hold up to N times this on the server. */
const POOL_SIZE = 10;

/** True when the URL names a PostgreSQL server. */
export function isPostgresUrl(url: string | undefined): boolean {
  return typeof url === 'string' && /^postgres(ql)?:\/\//.test(url);
}

/**
 * Opens the store: PostgreSQL when the URL says so, else SQLite in WAL mode with
 * `synchronous=FULL`, so a write is on disk before it is acknowledged.
 */
export async function openDatabase(options: DatabaseOptions): Promise<OpenedDatabase> {
  if (isPostgresUrl(options.url)) {
    const schema = options.pgSchema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
    if (schema) {
      const admin = new pg.Client({ connectionString: options.url! });
      await admin.connect();
      try {
        await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      } finally {
        await admin.end();
      }
    }
    const pool = new pg.Pool({
      connectionString: options.url,
      max: POOL_SIZE,
      // Named, so operators (and tests) can tell this pool's connections from anyone else's.
      application_name: schema ? `keygate:${schema}` : 'keygate',
      // bigint columns (epoch-ms times, counters) as numbers, as SQLite gives them: they stay far below 2^53.
      types: {
        getTypeParser: (oid: number, format?: string) =>
          oid === 20 ? Number : pg.types.getTypeParser(oid, format as 'text'),
      },
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle connection the server drops (a restart, a failover) is reported on the pool; without
    // a listener Node treats that as an uncaught error and exits. The pool replaces the connection.
    pool.on('error', (err) => options.onIdleError?.(err));
    // A connection dropped while checked out (pg_terminate_backend, a restart mid-query) fails its
    // query, and the client also emits 'error': with no listener that would end the process. The
    // failed query is answered as UNAVAILABLE; the pool discards the client when it is released.
    pool.on('connect', (client) => client.on('error', (err) => options.onIdleError?.(err)));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const poolStats = () => ({
      total: pool.totalCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
      max: POOL_SIZE,
    });
    return { db, dialect: 'postgres', close: () => db.destroy(), poolStats };
  }
  const file =
    options.url && options.url !== ''
      ? options.url.replace(/^sqlite:(\/\/)?/, '')
      : join(options.dataDir, 'keygate.db');
  if (file !== ':memory:') mkdirSync(options.dataDir, { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** Brings the schema up to date; returns the names of the migrations it ran. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  // Unless told a schema, Kysely looks for its migration tables in every schema of the database, so
  // another schema's (a second instance, another app) would be taken for ours and ours never made.
  let migrationTableSchema: string | undefined;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    migrationTableSchema = rows[0]?.schema ?? undefined;
  }
  const migrator = new Migrator({ db, provider, ...(migrationTableSchema ? { migrationTableSchema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** A cheap round trip, for the health check. */
export async function ping(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
