import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import type { Keygate } from '../../src/keygate.js';
import { dayPartition, LogRetention, partitionRange } from '../../src/services/log-retention.js';
import type { AccessLogRow } from '../../src/store/access-log.js';
import { forEachDialect } from '../support/harness.js';

/** The retention job, with injected times: age, body age, count, and PostgreSQL's daily partitions. */

const DAY = 86_400_000;
const JAN_1 = Date.UTC(2031, 0, 1);

function row(at: number, id: string, capture: string | null = null): AccessLogRow {
  return {
    at,
    id,
    request_id: `req-${id}`,
    token_id: 'tok_r',
    owner_id: 'usr_r',
    resource_id: null,
    method: 'GET',
    route: null,
    path: '/x',
    api_version: null,
    status: 200,
    duration_us: 10,
    ip: null,
    user_agent: null,
    outcome: 'VALID',
    carrier: null,
    key_prefix: null,
    key_fingerprint: null,
    capture,
  };
}

const job = (
  kg: Keygate,
  settings: { retentionMs?: number | null; bodyRetentionMs?: number | null; maxRecords?: number } = {},
) =>
  new LogRetention(
    kg.stores.accessLog,
    kg.dialect,
    { retentionMs: null, bodyRetentionMs: null, maxRecords: 0, pruneIntervalMs: 60_000, ...settings },
    () => JAN_1,
    (err) => {
      throw err;
    },
  );

async function ids(kg: Keygate): Promise<string[]> {
  const rows = await kg.stores.db.selectFrom('access_log').select('id').orderBy('id').execute();
  return rows.map((r) => r.id);
}

async function clear(kg: Keygate): Promise<void> {
  await kg.stores.db.deleteFrom('access_log').execute();
}

/** PostgreSQL: the partitions of access_log in this test's schema, as the catalogue says. */
async function partitions(kg: Keygate): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i
    join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
    join pg_namespace n on n.oid = p.relnamespace
    where p.relname = 'access_log' and n.nspname = current_schema()`.execute(kg.stores.db);
  return rows.map((r) => r.name).sort();
}

/** PostgreSQL: which table a record is stored in. */
async function home(kg: Keygate, id: string): Promise<string | undefined> {
  const { rows } = await sql<{
    t: string;
  }>`select tableoid::regclass::text as t from access_log where id = ${id}`.execute(kg.stores.db);
  return rows[0]?.t;
}

it('names daily partitions by their UTC day, and reads the range back from the name', () => {
  const p = dayPartition(JAN_1 + 5 * DAY + 3_600_000);
  assert.deepEqual(p, { name: 'access_log_p20310106', fromMs: JAN_1 + 5 * DAY, toMs: JAN_1 + 6 * DAY });
  assert.deepEqual(partitionRange(p.name), { fromMs: p.fromMs, toMs: p.toMs });
  assert.equal(partitionRange('access_log_default'), null);
});

forEachDialect('access-log retention', (env, dialect) => {
  if (dialect === 'postgres') {
    // First: the other tests' injected times lie years ahead, and their runs drop today's partition.
    it('made the current day’s partition when the instance started', async () => {
      const { kg } = env();
      assert.ok((await partitions(kg)).includes(dayPartition(Date.now()).name));
    });
  }

  it('deletes records older than the retention and only those', async () => {
    const { kg } = env();
    await clear(kg);
    const now = JAN_1 + 10 * DAY;
    await kg.stores.accessLog.insertBatch([
      row(now - 31 * DAY, 'r1'),
      row(now - 30 * DAY - 1, 'r2'),
      row(now - 30 * DAY, 'r3'),
      row(now - DAY, 'r4'),
    ]);
    const report = await job(kg, { retentionMs: 30 * DAY }).runOnce(now);
    assert.equal(report.deletedRows, 2);
    assert.deepEqual(await ids(kg), ['r3', 'r4']);
  });

  it('clears captured bodies past the body retention, keeping the records', async () => {
    const { kg } = env();
    await clear(kg);
    const now = JAN_1 + 20 * DAY;
    await kg.stores.accessLog.insertBatch([
      row(now - 8 * DAY, 'b1', '{"request":{}}'),
      row(now - 8 * DAY, 'b2', null),
      row(now - 6 * DAY, 'b3', '{"request":{}}'),
    ]);
    const report = await job(kg, { retentionMs: 90 * DAY, bodyRetentionMs: 7 * DAY }).runOnce(now);
    assert.equal(report.clearedCaptures, 1);
    assert.equal(report.deletedRows, 0);
    const rows = await kg.stores.db.selectFrom('access_log').select(['id', 'capture']).orderBy('id').execute();
    assert.deepEqual(rows, [
      { id: 'b1', capture: null },
      { id: 'b2', capture: null },
      { id: 'b3', capture: '{"request":{}}' },
    ]);
  });

  it('keeps only the newest maxRecords', async () => {
    const { kg } = env();
    await clear(kg);
    const now = JAN_1 + 30 * DAY;
    // Two share the time at the boundary: the id decides which is newer.
    await kg.stores.accessLog.insertBatch([
      row(now - 5000, 'm1'),
      row(now - 4000, 'm2'),
      row(now - 3000, 'm3a'),
      row(now - 3000, 'm3b'),
      row(now - 1000, 'm4'),
    ]);
    const report = await job(kg, { maxRecords: 3 }).runOnce(now);
    assert.equal(report.deletedRows, 2);
    assert.deepEqual(await ids(kg), ['m3a', 'm3b', 'm4']);
    assert.equal((await job(kg, { maxRecords: 3 }).runOnce(now)).deletedRows, 0);
    assert.equal((await job(kg, { maxRecords: 0 }).runOnce(now)).deletedRows, 0);
    assert.deepEqual(await ids(kg), ['m3a', 'm3b', 'm4']);
  });

  if (dialect === 'postgres') {
    it('makes daily partitions ahead and drops whole ones past retention', async () => {
      const { kg } = env();
      await clear(kg);
      const retention = job(kg, { retentionMs: 3 * DAY });
      const first = await retention.runOnce(JAN_1 + 12 * 3_600_000);
      assert.deepEqual(first.createdPartitions, [
        'access_log_p20310101',
        'access_log_p20310102',
        'access_log_p20310103',
      ]);
      // Rows now land in their day's partition; a day with none yet goes to the default one.
      await kg.stores.accessLog.insertBatch([
        row(JAN_1 + 1000, 'p1'),
        row(JAN_1 + DAY + 1000, 'p2'),
        row(JAN_1 + 2 * DAY + 7_200_000, 'p3'),
        row(JAN_1 - 40 * DAY, 'old-in-default'),
      ]);
      assert.equal(await home(kg, 'p1'), 'access_log_p20310101');
      assert.equal(await home(kg, 'old-in-default'), 'access_log_default');

      // Five days on, with three days' retention: 1 and 2 January are wholly past it, the 3rd is not.
      const later = await retention.runOnce(JAN_1 + 5 * DAY + 3_600_000);
      assert.ok(later.droppedPartitions.includes('access_log_p20310101'), JSON.stringify(later));
      assert.ok(later.droppedPartitions.includes('access_log_p20310102'));
      assert.ok(!later.droppedPartitions.includes('access_log_p20310103'));
      assert.equal(later.deletedRows, 1, 'the old row in the default partition is deleted');
      const now = await partitions(kg);
      assert.ok(!now.includes('access_log_p20310101') && !now.includes('access_log_p20310102'), now.join());
      for (const day of ['20310103', '20310106', '20310107', '20310108']) assert.ok(now.includes(`access_log_p${day}`));
      assert.ok(now.includes('access_log_default'));
      assert.deepEqual(await ids(kg), ['p3']);
    });

    it('leaves a day in the default partition when the default already holds its rows', async () => {
      const { kg } = env();
      await clear(kg);
      const day = JAN_1 + 200 * DAY;
      await kg.stores.accessLog.insertBatch([row(day + 5000, 'stray')]);
      const report = await job(kg).runOnce(day + 3_600_000);
      const name = dayPartition(day).name;
      assert.deepEqual(report.skippedPartitions, [name]);
      assert.deepEqual(report.createdPartitions, [dayPartition(day + DAY).name, dayPartition(day + 2 * DAY).name]);
      assert.ok(!(await partitions(kg)).includes(name));
      assert.equal(await home(kg, 'stray'), 'access_log_default');
      // Still written and read as before.
      await kg.stores.accessLog.insertBatch([row(day + 6000, 'stray2')]);
      assert.deepEqual(await ids(kg), ['stray', 'stray2']);
    });
  }
});
