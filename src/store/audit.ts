import type { Kysely, Selectable } from 'kysely';
import type { AuditEventsTable, Database } from './schema.js';

export type AuditRow = Selectable<AuditEventsTable>;

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
}
