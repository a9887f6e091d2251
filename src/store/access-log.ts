import { sql, type Kysely, type Selectable } from 'kysely';
import { before, inSubtreeOf, inSubtreesOf, startsWith, type Reach } from './log-filters.js';
import type { AccessLogTable, Database } from './schema.js';

export type AccessLogRow = Selectable<AccessLogTable>;

// SQLite allows 32,766 bound values per statement; 20 columns a row leaves room for 1,000 rows.
const ROWS_PER_INSERT = 1_000;

/** The access log's rows: written in batches, read by filters. */
export class AccessLogStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** A filtered page, newest first; ask for one more than you show to know whether another page follows. */
  page(filter: AccessLogFilter, limit: number): Promise<AccessLogRow[]> {
    const f = filter;
    let q = this.db.selectFrom('access_log').selectAll();
    const { reach } = f;
    if (!reach.everything) {
      const ownerId = reach.ownerId;
      q = q.where((eb) =>
        eb.or([...(ownerId !== null ? [eb('owner_id', '=', ownerId)] : []), inSubtreesOf(reach.resourceRoots)]),
      );
    }
    if (reach.within !== null) q = q.where(inSubtreeOf(reach.within));
    if (f.tokenId !== undefined) q = q.where('token_id', '=', f.tokenId);
    if (f.ownerId !== undefined) q = q.where('owner_id', '=', f.ownerId);
    if (f.resourceId !== undefined) q = q.where(inSubtreeOf(f.resourceId));
    if (f.fromMs !== undefined) q = q.where('at', '>=', f.fromMs);
    if (f.toMs !== undefined) q = q.where('at', '<=', f.toMs);
    if (f.statusMin !== undefined) q = q.where('status', '>=', f.statusMin);
    if (f.statusMax !== undefined) q = q.where('status', '<=', f.statusMax);
    if (f.outcome !== undefined) q = q.where('outcome', '=', f.outcome);
    if (f.pathPrefix !== undefined) q = q.where(startsWith('path', f.pathPrefix));
    if (f.ip !== undefined) q = q.where('ip', '=', f.ip);
    if (f.before !== undefined) q = q.where(before(f.before.at, f.before.id));
    return q.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /** Deletes records older than `cutoffMs`; answers how many. */
  async deleteOlderThan(cutoffMs: number): Promise<number> {
    const r = await this.db.deleteFrom('access_log').where('at', '<', cutoffMs).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Drops the captured headers and bodies of records older than `cutoffMs`; answers how many. */
  async clearCapturesOlderThan(cutoffMs: number): Promise<number> {
    const r = await this.db
      .updateTable('access_log')
      .set({ capture: null })
      .where('at', '<', cutoffMs)
      .where('capture', 'is not', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Deletes all but the newest `keep` records; answers how many went. */
  async keepNewest(keep: number): Promise<number> {
    // An offset here is one scan of the (at, id) key per run of a background job, not paging.
    const oldestKept = await this.db
      .selectFrom('access_log')
      .select(['at', 'id'])
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .offset(keep - 1)
      .limit(1)
      .executeTakeFirst();
    if (!oldestKept) return 0;
    const r = await this.db.deleteFrom('access_log').where(before(oldestKept.at, oldestKept.id)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** PostgreSQL: the names of access_log's partitions in the current schema (the default one included). */
  async partitions(): Promise<string[]> {
    const { rows } = await sql<{ name: string }>`
      select c.relname as name
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
      join pg_class p on p.oid = i.inhparent
      join pg_namespace n on n.oid = p.relnamespace
      where p.relname = 'access_log' and n.nspname = current_schema()
      order by c.relname`.execute(this.db);
    return rows.map((r) => r.name);
  }

  /** PostgreSQL: adds a partition for [fromMs, toMs) in the current schema, unless one of that name exists. */
  async createPartition(name: string, fromMs: number, toMs: number): Promise<void> {
    // Bounds are literals in DDL (no parameters there); they are integers we computed.
    const schema = await this.currentSchema();
    await sql`create table if not exists ${sql.id(schema, name)} partition of ${sql.id(schema, 'access_log')} for values from (${sql.lit(fromMs)}) to (${sql.lit(toMs)})`.execute(
      this.db,
    );
  }

  /** PostgreSQL: drops a partition and every record in it. */
  async dropPartition(name: string): Promise<void> {
    // Qualified: with a search_path of several schemas, a bare name could be another schema's table.
    const schema = await this.currentSchema();
    await sql`drop table if exists ${sql.id(schema, name)}`.execute(this.db);
  }

  private async currentSchema(): Promise<string> {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(this.db);
    return rows[0]?.schema ?? 'public';
  }

  /** Writes a batch of records in one transaction: all of them, or none. */
  async insertBatch(rows: readonly AccessLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        await trx
          .insertInto('access_log')
          .values(rows.slice(i, i + ROWS_PER_INSERT) as AccessLogRow[])
          .execute();
      }
    });
  }
}

/** Filters for reading the access log; every one narrows. Times are epoch ms, both ends inclusive. */
export interface AccessLogFilter {
  reach: Reach;
  tokenId?: string | undefined;
  ownerId?: string | undefined;
  /** That resource and its whole subtree. */
  resourceId?: string | undefined;
  fromMs?: number | undefined;
  toMs?: number | undefined;
  statusMin?: number | undefined;
  statusMax?: number | undefined;
  outcome?: string | undefined;
  pathPrefix?: string | undefined;
  ip?: string | undefined;
  /** Only rows older than this (at, id): the keyset cursor. */
  before?: { at: number; id: string } | undefined;
}
