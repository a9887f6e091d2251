import type { Kysely } from 'kysely';

// Frozen in time: this migration imports nothing of today's code, so it means the same thing in a year.

/**
 * External ids: the id a platform gives a resource it mirrors into keygate (a UUID, a number), so
 * the platform and its gateway routes can name resources by their own ids. One external id per
 * type at most; rows without one (null) do not collide. The second index serves lookups that do
 * not know the type.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('resources').addColumn('external_id', 'varchar(256)').execute();
  await db.schema
    .createIndex('resources_type_external_id_idx')
    .on('resources')
    .columns(['type', 'external_id'])
    .unique()
    .execute();
  await db.schema.createIndex('resources_external_id_idx').on('resources').column('external_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('resources_external_id_idx').execute();
  await db.schema.dropIndex('resources_type_external_id_idx').execute();
  await db.schema.alterTable('resources').dropColumn('external_id').execute();
}
