import type { Kysely } from 'kysely';

// Frozen in time: this migration imports nothing of today's code, so it means the same thing in a year.

/**
 * Per-token limits. A rate limit (null: the permission level's default; a limit of 0: unlimited),
 * credits (remaining uses, decremented in place by one conditional UPDATE, with an optional
 * refill every interval; epoch milliseconds, so the refill is arithmetic inside that statement)
 * and an IP allowlist (a JSON array of addresses and CIDR ranges; null: any address).
 */
export async function up(db: Kysely<any>): Promise<void> {
  // One column per statement: SQLite adds one per ALTER TABLE.
  for (const [name, type] of COLUMNS) await db.schema.alterTable('tokens').addColumn(name, type).execute();
}

const COLUMNS = [
  ['rate_limit', 'integer'],
  ['rate_window_ms', 'integer'],
  ['rate_per', 'varchar(16)'],
  ['credits_remaining', 'bigint'],
  ['credits_refill_amount', 'bigint'],
  ['credits_refill_interval_ms', 'bigint'],
  ['credits_refilled_at', 'bigint'],
  ['ip_allowlist', 'text'],
] as const;

export async function down(db: Kysely<any>): Promise<void> {
  for (const [name] of [...COLUMNS].reverse()) await db.schema.alterTable('tokens').dropColumn(name).execute();
}
