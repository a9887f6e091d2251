import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Frozen in time: this migration imports nothing of today's code, so it means the same thing in a year.

/**
 * The access log: one row per request that presented a key. Times are epoch milliseconds (bigint)
 * so that PostgreSQL can partition by range on them and pruning drops whole partitions; SQLite
 * stores the same numbers. The primary key starts with the time because a partitioned table's key
 * must hold the partition key. No foreign keys: records outlive the tokens and users they name.
 *
 * The audit trail gains who acted through which token (impersonation), with which user agent,
 * and indexes for reading it by resource, actor and time.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;

  let table = db.schema
    .createTable('access_log')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('id', 'varchar(64)', (c) => c.notNull())
    .addColumn('request_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('token_id', 'varchar(64)')
    .addColumn('owner_id', 'varchar(64)')
    .addColumn('resource_id', 'varchar(64)')
    .addColumn('method', 'varchar(16)', (c) => c.notNull())
    .addColumn('route', 'varchar(300)')
    .addColumn('path', 'varchar(2048)', (c) => c.notNull())
    .addColumn('api_version', 'varchar(16)')
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('duration_us', 'bigint', (c) => c.notNull())
    .addColumn('ip', 'varchar(64)')
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('outcome', 'varchar(64)', (c) => c.notNull())
    .addColumn('carrier', 'varchar(32)')
    .addColumn('key_prefix', 'varchar(32)')
    .addColumn('key_fingerprint', 'varchar(16)')
    .addColumn('capture', 'text')
    .addPrimaryKeyConstraint('access_log_pk', ['at', 'id']);
  if (postgres) table = table.modifyEnd(sql`partition by range (at)`);
  await table.execute();
  if (postgres) {
    // Rows outside every daily partition (none made yet, a clock far off) land here, never fail.
    await sql`create table access_log_default partition of access_log default`.execute(db);
  }
  for (const column of ['token_id', 'owner_id', 'resource_id']) {
    await db.schema.createIndex(`access_log_${column}_idx`).on('access_log').columns([column, 'at', 'id']).execute();
  }

  await db.schema.alterTable('audit_events').addColumn('via_token_id', 'varchar(64)').execute();
  await db.schema.alterTable('audit_events').addColumn('user_agent', 'varchar(512)').execute();
  await db.schema.createIndex('audit_events_resource_idx').on('audit_events').columns(['resource_id', 'at']).execute();
  await db.schema.createIndex('audit_events_actor_idx').on('audit_events').columns(['actor_id', 'at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('audit_events_actor_idx').execute();
  await db.schema.dropIndex('audit_events_resource_idx').execute();
  await db.schema.alterTable('audit_events').dropColumn('user_agent').execute();
  await db.schema.alterTable('audit_events').dropColumn('via_token_id').execute();
  await db.schema.dropTable('access_log').execute();
}
