import { sql } from 'kysely';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { isStoreUnavailable } from '../../src/http/errors.js';
import { assertError, call, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

describe('which errors mean "the database is unavailable"', () => {
  it('recognises connection and availability failures, and nothing else', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      '57P01',
      '57P03',
      '08006',
      '53300',
      'SQLITE_BUSY',
      'SQLITE_BUSY_SNAPSHOT',
    ]) {
      assert.ok(isStoreUnavailable({ code }), code);
    }
    assert.ok(isStoreUnavailable({ message: 'Connection terminated unexpectedly' }));
    for (const code of ['23505', '42P01', 'SQLITE_CONSTRAINT', 'ERR_ASSERTION', undefined])
      assert.ok(!isStoreUnavailable({ code, message: 'x' }), String(code));
  });
});

forEachDialect('a lost database connection', (env, dialect) => {
  if (dialect !== 'postgres') return; // SQLite is in-process: there is no connection to lose.
  it('is answered 503 UNAVAILABLE, does not crash the process, and the next request works again', async () => {
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    assert.equal((await call(app, 'GET', '/api/v1.0/me', { cookie: admin.cookie })).status, 200);
    // Kill every connection of this keygate's pool, as a PostgreSQL restart would; only its own, so
    // other test runs sharing the database are not hit.
    const { rows } = await sql<{ name: string }>`SELECT current_setting('application_name') AS name`.execute(
      kg.stores.db,
    );
    const poolName = rows[0]?.name;
    assert.match(poolName ?? '', /^keygate:t_/);
    const killer = new pg.Client({ connectionString: process.env.KEYGATE_TEST_POSTGRES_URL });
    await killer.connect();
    try {
      const killed = await killer.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
        [poolName],
      );
      assert.ok(killed.rowCount !== null && killed.rowCount > 0);
    } finally {
      await killer.end();
    }
    const seen = new Set<number>();
    for (let i = 0; i < 5 && !seen.has(200); i++) {
      const r = await call(app, 'GET', '/api/v1.0/me', { cookie: admin.cookie });
      seen.add(r.status);
      if (r.status !== 200) assertError(r, 503, 'UNAVAILABLE');
    }
    assert.ok(seen.has(200), 'the pool reconnects');
  });
});

forEachDialect('a connection lost while checked out', (env, dialect) => {
  if (dialect !== 'postgres') return; // SQLite is in-process: there is no connection to lose.
  it("fails that transaction and nothing else: the client's error event does not end the process", async () => {
    const { kg } = env();
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    try {
      await assert.rejects(
        kg.stores.db.transaction().execute(async (trx) => {
          const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx);
          const killer = new pg.Client({ connectionString: process.env.KEYGATE_TEST_POSTGRES_URL });
          await killer.connect();
          try {
            await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
          } finally {
            await killer.end();
          }
          // The checked-out connection is gone: this fails, and its client emits 'error' too.
          await sql`SELECT 1`.execute(trx);
        }),
      );
      await kg.ping();
      assert.deepEqual(uncaught, [], 'no error escaped');
    } finally {
      process.removeListener('uncaughtException', onUncaught);
    }
  });
});
