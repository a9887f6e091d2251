import type { Kysely } from 'kysely';

// Frozen in time: this migration imports nothing of today's code, so it means the same thing in a year.

/**
 * Webhooks and what they need: the hooks themselves (per resource, or system-wide with a null
 * resource), a durable outbox of deliveries (a row is written before anything is sent, so a crash
 * leaves it pending to be retried), the expiry notices already sent (keyed by the expiry they were
 * for, so a new expiry re-arms them), and the addresses each token has been used from (for "first
 * use from a new address"). Times are ISO 8601 UTC text, as in the core tables.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('resource_id', 'varchar(64)', (c) => c.references('resources.id').onDelete('cascade'))
    .addColumn('url', 'varchar(2048)', (c) => c.notNull())
    .addColumn('secret', 'varchar(256)', (c) => c.notNull())
    .addColumn('events', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_resource_idx').on('webhooks').column('resource_id').execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('webhook_id', 'varchar(64)', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('event_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('event_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'varchar(500)')
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_due_idx')
    .on('webhook_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('webhook_deliveries_webhook_idx')
    .on('webhook_deliveries')
    .columns(['webhook_id', 'created_at'])
    .execute();

  await db.schema
    .createTable('token_notices')
    .addColumn('token_id', 'varchar(64)', (c) => c.notNull().references('tokens.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(32)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('token_notices_pk', ['token_id', 'kind', 'expires_at'])
    .execute();

  await db.schema
    .createTable('token_addresses')
    .addColumn('token_id', 'varchar(64)', (c) => c.notNull().references('tokens.id').onDelete('cascade'))
    .addColumn('ip', 'varchar(64)', (c) => c.notNull())
    .addColumn('first_seen_at', 'varchar(32)', (c) => c.notNull())
    .addPrimaryKeyConstraint('token_addresses_pk', ['token_id', 'ip'])
    .execute();

  // The expiry scan asks for tokens expiring in a window on every run.
  await db.schema.createIndex('tokens_expires_idx').on('tokens').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('tokens_expires_idx').execute();
  for (const table of ['token_addresses', 'token_notices', 'webhook_deliveries', 'webhooks']) {
    await db.schema.dropTable(table).execute();
  }
}
