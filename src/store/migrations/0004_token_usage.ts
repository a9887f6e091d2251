import type { Kysely } from 'kysely';

// Frozen in time: this migration imports nothing of today's code, so it means the same thing in a year.

/**
 * Per-token usage counts per hour and per day, summed from the access log as it is written, so a
 * token's chart is read from at most 138 small rows instead of scanning the log. Buckets start at
 * epoch milliseconds (UTC). No foreign key: counts of a deleted token age out with the rest.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('token_usage')
    .addColumn('token_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('span', 'varchar(8)', (c) => c.notNull())
    .addColumn('bucket', 'bigint', (c) => c.notNull())
    .addColumn('requests', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('refusals', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('errors', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('token_usage_pk', ['token_id', 'span', 'bucket'])
    .execute();
  // Pruning deletes by span and age across all tokens.
  await db.schema.createIndex('token_usage_span_bucket_idx').on('token_usage').columns(['span', 'bucket']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('token_usage').execute();
}
