import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Runs `fn` in a transaction, joining the one `db` is already in (Kysely does not nest them). */
export function inTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
