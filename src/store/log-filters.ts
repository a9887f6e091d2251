import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { escapeLike } from './text-search.js';

/**
 * SQL pieces both logs (access and audit) filter with, so the two read the same way.
 * Columns are named plainly (`resource_id`, `at`, `id`): both tables use those names.
 */

/**
 * Ids of the resources at and below the anchor rows. Cast to text on both sides of the union:
 * PostgreSQL refuses a recursive query whose two terms differ in type (varchar(64) vs unknown).
 */
function subtreeFrom(anchor: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`(with recursive sub(id) as (${anchor} union all select cast(r.id as text) from resources r join sub on r.parent_id = sub.id) select id from sub)`;
}

/** `resource_id` lies in the subtree of this resource (the id itself counts, even when the resource was deleted). */
export function inSubtreeOf(resourceId: string): Expression<SqlBool> {
  return sql<SqlBool>`resource_id in ${subtreeFrom(sql`select cast(${resourceId} as text)`)}`;
}

/** `resource_id` lies in the subtree of any of these existing resources (false for none). */
export function inSubtreesOf(resourceIds: readonly string[]): Expression<SqlBool> {
  if (resourceIds.length === 0) return sql<SqlBool>`1 = 0`;
  const anchor = sql`select cast(a.id as text) from resources a where a.id in (${sql.join(resourceIds)})`;
  return sql<SqlBool>`resource_id in ${subtreeFrom(anchor)}`;
}

/** Rows after the cursor in newest-first order: a row-value comparison the (…, at, id) indexes answer. */
export function before(at: number | string, id: string): Expression<SqlBool> {
  return sql<SqlBool>`(at, id) < (${at}, ${id})`;
}

/** Escapes LIKE wildcards so a path prefix matches literally. */
export function likePrefix(prefix: string): string {
  return `${escapeLike(prefix)}%`;
}

/** `column like pattern escape '\'`, the escape spelled out: neither dialect defaults to it alike. */
export function startsWith(column: string, prefix: string): Expression<SqlBool> {
  return sql<SqlBool>`${sql.ref(column)} like ${likePrefix(prefix)} escape '\\'`;
}

/** What a reader may see of a log, worked out by the service (see services/log-reading.ts). */
export interface Reach {
  /** Everything (a system administrator); `within` may still narrow it. */
  everything: boolean;
  /** The user whose own tokens' records (and own acts, in the audit trail) are visible; null for none. */
  ownerId: string | null;
  /** Resources whose subtrees are visible. */
  resourceRoots: readonly string[];
  /** Only this subtree, whatever else (a token's scope); null for no limit. */
  within: string | null;
}
