import type { Kysely, Selectable } from 'kysely';
import type { AccessLogTable, Database } from './schema.js';

export type AccessLogRow = Selectable<AccessLogTable>;

// SQLite allows 32,766 bound values per statement; 20 columns a row leaves room for 1,000 rows.
const ROWS_PER_INSERT = 1_000;

/** The access log's rows: written in batches, read by filters. */
export class AccessLogStore {
  constructor(private readonly db: Kysely<Database>) {}

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
