import { sql, type Kysely, type Selectable } from 'kysely';
import { inTransaction } from './transaction.js';
import type { Database, TokenKeysTable, TokensTable } from './schema.js';

export type TokenRow = Selectable<TokensTable>;
export type TokenKeyRow = Selectable<TokenKeysTable>;

export interface TokenFilter {
  ownerId?: string | undefined;
  resourceId?: string | undefined;
  state?: 'active' | 'inactive' | 'expired' | undefined;
  expiresBefore?: string | undefined;
  expiresAfter?: string | undefined;
  now: string;
  limit: number;
  cursor?: string | undefined;
}

/** Rows per multi-row INSERT: a token row has about 30 columns, so 500 rows stay far below SQLite's bound-variable limit. */
const ROWS_PER_STATEMENT = 500;

/** Tokens and their key hashes. Keys themselves are never given to this store. */
export class TokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Inserts tokens and their first key hashes in one transaction (one for create, many for a bulk import): multi-row
   * INSERTs of at most ROWS_PER_STATEMENT rows, under SQLite's 32,766 bound variables per statement.
   */
  async insertMany(tokens: readonly { row: TokenRow; keyHash: string }[]): Promise<void> {
    if (tokens.length === 0) return;
    await inTransaction(this.db, async (trx) => {
      for (let i = 0; i < tokens.length; i += ROWS_PER_STATEMENT) {
        const chunk = tokens.slice(i, i + ROWS_PER_STATEMENT);
        await trx
          .insertInto('tokens')
          .values(chunk.map((t) => t.row))
          .execute();
        await trx
          .insertInto('token_keys')
          .values(
            chunk.map((t) => ({
              key_hash: t.keyHash,
              token_id: t.row.id,
              expires_at: null,
              created_at: t.row.created_at,
            })),
          )
          .execute();
      }
    });
  }

  findById(id: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The key entry for a hash: which token, and until when this key works. */
  findKey(keyHash: string): Promise<TokenKeyRow | undefined> {
    return this.db.selectFrom('token_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
  }

  async keyExists(keyHash: string): Promise<boolean> {
    return (await this.findKey(keyHash)) !== undefined;
  }

  /** Tokens matching the filter, newest id order for stable paging. */
  list(filter: TokenFilter): Promise<TokenRow[]> {
    let q = this.db.selectFrom('tokens').selectAll().orderBy('id').limit(filter.limit);
    if (filter.ownerId) q = q.where('owner_id', '=', filter.ownerId);
    if (filter.resourceId) q = q.where('resource_id', '=', filter.resourceId);
    if (filter.state === 'active')
      q = q
        .where('active', '=', 1)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', filter.now)]));
    if (filter.state === 'inactive') q = q.where('active', '=', 0);
    if (filter.state === 'expired') q = q.where('expires_at', '<=', filter.now);
    if (filter.expiresBefore) q = q.where('expires_at', '<', filter.expiresBefore);
    if (filter.expiresAfter)
      q = q.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', filter.expiresAfter!)]));
    if (filter.cursor) q = q.where('id', '>', filter.cursor);
    return q.execute();
  }

  async update(id: string, patch: Partial<Omit<TokenRow, 'id' | 'created_at' | 'created_by'>>): Promise<void> {
    await this.db.updateTable('tokens').set(patch).where('id', '=', id).execute();
  }

  /**
   * Switches a token off only if it is still active and unexpired at `now`; whether it did. One
   * conditional statement, so of two concurrent calls exactly one wins (PostgreSQL re-checks the
   * condition on the locked row; SQLite has one writer).
   */
  async deactivateIfLive(id: string, patch: Partial<TokenRow>, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('tokens')
      .set({ ...patch, active: 0 })
      .where('id', '=', id)
      .where('active', '=', 1)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Gives a token a new key. The old keys stop at `oldKeysUntil` (a grace period), or at once
   * when it is null. Caches hear of it from the change feed, by token id.
   */
  async roll(
    id: string,
    newHash: string,
    patch: Partial<TokenRow>,
    oldKeysUntil: string | null,
    now: string,
  ): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      if (oldKeysUntil === null) {
        await trx.deleteFrom('token_keys').where('token_id', '=', id).execute();
      } else {
        await trx.deleteFrom('token_keys').where('token_id', '=', id).where('expires_at', '<=', now).execute();
        await trx
          .updateTable('token_keys')
          .set({ expires_at: oldKeysUntil })
          .where('token_id', '=', id)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', oldKeysUntil)]))
          .execute();
      }
      await trx
        .insertInto('token_keys')
        .values({ key_hash: newHash, token_id: id, expires_at: null, created_at: now })
        .execute();
      await trx.updateTable('tokens').set(patch).where('id', '=', id).execute();
    });
  }

  /**
   * Spends `cost` credits of a token in ONE conditional UPDATE, folding in the lazy refill (every
   * whole interval since the last refill sets the remaining to the refill amount): exact under
   * concurrency on both dialects, across instances, without Redis. Returns what remains, or
   * undefined when too few are left (cost 0 needs at least one left). Publishes no change: a
   * spend is not an access fact, and the updated time stays as it was.
   */
  async spendCredits(id: string, cost: number, nowMs: number): Promise<number | undefined> {
    const now = sql`CAST(${nowMs} AS BIGINT)`;
    const due = sql`(credits_refill_interval_ms IS NOT NULL AND credits_refill_amount IS NOT NULL AND ${now} >= credits_refilled_at + credits_refill_interval_ms)`;
    const available = sql`(CASE WHEN ${due} THEN credits_refill_amount ELSE credits_remaining END)`;
    const row = await this.db
      .updateTable('tokens')
      .set({
        credits_remaining: sql`${available} - CAST(${cost} AS BIGINT)`,
        credits_refilled_at: sql`(CASE WHEN ${due} THEN credits_refilled_at + ((${now} - credits_refilled_at) / credits_refill_interval_ms) * credits_refill_interval_ms ELSE credits_refilled_at END)`,
      })
      .where('id', '=', id)
      .where('credits_remaining', 'is not', null)
      .where(sql<boolean>`${available} >= CAST(${Math.max(cost, 1)} AS BIGINT)`)
      .returning('credits_remaining')
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.credits_remaining);
  }

  /** The credits a token has now (its refill not applied), read from the database, never a cache. */
  async creditsRemaining(id: string): Promise<number | null> {
    const row = await this.db.selectFrom('tokens').select('credits_remaining').where('id', '=', id).executeTakeFirst();
    return row?.credits_remaining === null || row === undefined ? null : Number(row.credits_remaining);
  }

  /** Deletes a token and its keys. */
  async delete(id: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      await trx.deleteFrom('token_keys').where('token_id', '=', id).execute();
      await trx.deleteFrom('tokens').where('id', '=', id).execute();
    });
  }
}
