import type { Kysely, Selectable } from 'kysely';
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

/** Tokens and their key hashes. Keys themselves are never given to this store. */
export class TokenStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts a token and its first key hash in one transaction. */
  async insert(row: TokenRow, keyHash: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      await trx.insertInto('tokens').values(row).execute();
      await trx
        .insertInto('token_keys')
        .values({ key_hash: keyHash, token_id: row.id, expires_at: null, created_at: row.created_at })
        .execute();
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

  /** Deletes a token and its keys. */
  async delete(id: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      await trx.deleteFrom('token_keys').where('token_id', '=', id).execute();
      await trx.deleteFrom('tokens').where('id', '=', id).execute();
    });
  }
}
