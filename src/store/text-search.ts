import { sql, type Expression, type SqlBool } from 'kysely';

/** Escapes LIKE's wildcards (and the escape itself) so text matches literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * `column` contains `text`, ignoring case: lower() on both sides, as PostgreSQL's LIKE is
 * case-sensitive and SQLite's folds ASCII only. (SQLite's lower() folds ASCII only too, so there
 * a non-ASCII letter matches only in the case given.) The escape is spelled out: neither dialect
 * defaults to it alike.
 */
export function containsIgnoringCase(column: string, text: string): Expression<SqlBool> {
  return sql<SqlBool>`lower(${sql.ref(column)}) like lower(${`%${escapeLike(text)}%`}) escape '\\'`;
}
