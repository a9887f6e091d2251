import type { Kysely } from 'kysely';
import { fail } from '../domain/errors.js';
import type { Database } from './schema.js';

/** Runs `fn` in a transaction, joining the one `db` is already in (Kysely does not nest them). */
export function inTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/**
 * Whether a write failed because a row it refers to is gone (PostgreSQL 23503, SQLite's foreign
 * key constraint): another process deleted it after this one last looked.
 */
export function isMissingReference(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** Whether a write failed on a unique index (PostgreSQL 23505, SQLite's unique constraint): another process wrote the same key first. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** Runs a service's unit of work: a write that refers to a row deleted meanwhile is the caller's 404, not a crash. */
export async function unitOfWork<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  try {
    return await inTransaction(db, fn);
  } catch (err) {
    if (isMissingReference(err)) fail('NOT_FOUND', 'What this change refers to no longer exists.');
    throw err;
  }
}
