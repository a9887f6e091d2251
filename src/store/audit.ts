import type { Kysely, Selectable } from 'kysely';
import { before, inSubtreeOf, inSubtreesOf, startsWith, type Reach } from './log-filters.js';
import type { AuditEventsTable, Database } from './schema.js';

export type AuditRow = Selectable<AuditEventsTable>;

/** Rows per multi-row INSERT, far below SQLite's bound-variable limit (12 columns a row). */
const ROWS_PER_STATEMENT = 1_000;

/** The audit trail: who changed which token or membership, when. Append-only. */
export class AuditStore {
  /** `appended` hears each written row: at once outside a transaction, else gathered until it commits. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly appended: (row: AuditRow) => void = () => {},
  ) {}

  async append(row: AuditRow): Promise<void> {
    await this.db.insertInto('audit_events').values(row).execute();
    this.appended(row);
  }

  /** Appends many records in multi-row INSERTs (a bulk import writes one per token). */
  async appendMany(rows: readonly AuditRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
      await this.db
        .insertInto('audit_events')
        .values(rows.slice(i, i + ROWS_PER_STATEMENT))
        .execute();
    }
    for (const row of rows) this.appended(row);
  }

  /** Events about one target, oldest first. */
  forTarget(targetType: string, targetId: string): Promise<AuditRow[]> {
    return this.db
      .selectFrom('audit_events')
      .selectAll()
      .where('target_type', '=', targetType)
      .where('target_id', '=', targetId)
      .orderBy('at')
      .orderBy('id')
      .execute();
  }

  /** A filtered page, newest first; ask for one more than you show to know whether another page follows. */
  page(f: AuditFilter, limit: number): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit_events').selectAll();
    const { reach } = f;
    if (!reach.everything) {
      const me = reach.ownerId;
      const myTokens = (eb: typeof this.db) =>
        eb
          .selectFrom('tokens')
          .select('id')
          .where('owner_id', '=', me ?? '');
      q = q.where((eb) =>
        eb.or([
          inSubtreesOf(reach.resourceRoots),
          ...(me !== null
            ? [
                // What they did themselves, or through one of their tokens, and what was done to their tokens.
                eb.and([eb('actor_type', '=', 'user'), eb('actor_id', '=', me)]),
                eb.and([eb('actor_type', '=', 'token'), eb('actor_id', 'in', myTokens(this.db))]),
                eb.and([eb('target_type', '=', 'token'), eb('target_id', 'in', myTokens(this.db))]),
              ]
            : []),
        ]),
      );
    }
    if (reach.within !== null) q = q.where(inSubtreeOf(reach.within));
    if (f.actorId !== undefined) q = q.where('actor_id', '=', f.actorId);
    if (f.action !== undefined)
      q = f.action.endsWith('.') ? q.where(startsWith('action', f.action)) : q.where('action', '=', f.action);
    if (f.targetType !== undefined) q = q.where('target_type', '=', f.targetType);
    if (f.targetId !== undefined) q = q.where('target_id', '=', f.targetId);
    if (f.resourceId !== undefined) q = q.where(inSubtreeOf(f.resourceId));
    if (f.from !== undefined) q = q.where('at', '>=', f.from);
    if (f.to !== undefined) q = q.where('at', '<=', f.to);
    if (f.before !== undefined) q = q.where(before(f.before.at, f.before.id));
    return q.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }
}

/** Filters for reading the audit trail; every one narrows. Times are ISO 8601 UTC, both ends inclusive. */
export interface AuditFilter {
  reach: Reach;
  actorId?: string | undefined;
  /** An exact action, or a prefix when it ends with a dot (`token.`). */
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  /** That resource and its whole subtree. */
  resourceId?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  /** Only events older than this (at, id): the keyset cursor. */
  before?: { at: string; id: string } | undefined;
}
