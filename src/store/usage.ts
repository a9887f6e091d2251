import type { Kysely } from 'kysely';
import type { LastUse, UsageDelta, UsageSpan } from '../domain/usage.js';
import type { Database } from './schema.js';
import { inTransaction } from './transaction.js';

// SQLite allows 32,766 bound values per statement; 6 a row leaves ample room for 1,000 rows.
const ROWS_PER_UPSERT = 1_000;

/** Per-token usage buckets (hour and day) and the tokens' last use. */
export class UsageStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Adds a batch's counts to their buckets and moves each token's last use forward (never back: a
   * late batch does not hide a newer use), all in one transaction.
   */
  async apply(deltas: readonly UsageDelta[], lastUses: readonly LastUse[]): Promise<void> {
    if (deltas.length === 0 && lastUses.length === 0) return;
    await inTransaction(this.db, async (trx) => {
      for (let i = 0; i < deltas.length; i += ROWS_PER_UPSERT) {
        await trx
          .insertInto('token_usage')
          .values(
            deltas.slice(i, i + ROWS_PER_UPSERT).map((d) => ({
              token_id: d.tokenId,
              span: d.span,
              bucket: d.bucket,
              requests: d.requests,
              refusals: d.refusals,
              errors: d.errors,
            })),
          )
          .onConflict((oc) =>
            oc.columns(['token_id', 'span', 'bucket']).doUpdateSet((eb) => ({
              requests: eb('token_usage.requests', '+', eb.ref('excluded.requests')),
              refusals: eb('token_usage.refusals', '+', eb.ref('excluded.refusals')),
              errors: eb('token_usage.errors', '+', eb.ref('excluded.errors')),
            })),
          )
          .execute();
      }
      for (const u of lastUses) {
        const at = new Date(u.at).toISOString();
        await trx
          .updateTable('tokens')
          .set({ last_used_at: at, last_used_ip: u.ip })
          .where('id', '=', u.tokenId)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', at)]))
          .execute();
      }
    });
  }

  /** A token's buckets of one span from `since` (epoch ms) on. */
  buckets(
    tokenId: string,
    span: UsageSpan,
    since: number,
  ): Promise<{ bucket: number; requests: number; refusals: number; errors: number }[]> {
    return this.db
      .selectFrom('token_usage')
      .select(['bucket', 'requests', 'refusals', 'errors'])
      .where('token_id', '=', tokenId)
      .where('span', '=', span)
      .where('bucket', '>=', since)
      .orderBy('bucket')
      .execute();
  }

  /** Deletes buckets older than the given starts (epoch ms); returns how many went. */
  async prune(hoursBefore: number, daysBefore: number): Promise<number> {
    let deleted = 0;
    for (const [span, before] of [
      ['hour', hoursBefore],
      ['day', daysBefore],
    ] as const) {
      const r = await this.db
        .deleteFrom('token_usage')
        .where('span', '=', span)
        .where('bucket', '<', before)
        .executeTakeFirst();
      deleted += Number(r.numDeletedRows);
    }
    return deleted;
  }
}
