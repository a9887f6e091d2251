import type { Kysely } from 'kysely';

// Frozen in time: this migration imports nothing of today's code, so it means the same thing in a year.

/**
 * Tokens remember who deactivated them (a user id; null while active or when unknown), so a
 * deactivation by an administrator holds against the owner. No foreign key: the hold must outlive
 * the account of whoever made it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tokens').addColumn('deactivated_by', 'varchar(64)').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tokens').dropColumn('deactivated_by').execute();
}
