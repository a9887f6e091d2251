import type { Kysely, Selectable } from 'kysely';
import type { Database, WebhookDeliveriesTable, WebhooksTable } from './schema.js';
import type { TokenRow } from './tokens.js';

export type WebhookRow = Selectable<WebhooksTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/** Webhooks, their delivery outbox, and the notices and addresses that keep events from repeating. */
export class WebhookStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: WebhookRow): Promise<void> {
    await this.db.insertInto('webhooks').values(row).execute();
  }

  findById(id: string): Promise<WebhookRow | undefined> {
    return this.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Webhooks in id order: on one resource, system-wide only (`null`), or all (`undefined`). */
  list(resourceId: string | null | undefined, limit: number, cursor?: string): Promise<WebhookRow[]> {
    let q = this.db.selectFrom('webhooks').selectAll().orderBy('id').limit(limit);
    if (resourceId === null) q = q.where('resource_id', 'is', null);
    else if (resourceId !== undefined) q = q.where('resource_id', '=', resourceId);
    if (cursor) q = q.where('id', '>', cursor);
    return q.execute();
  }

  /** Active webhooks that hear events on a resource with this ancestry: its own, its ancestors', and system-wide. */
  listening(ancestry: readonly string[]): Promise<WebhookRow[]> {
    return this.db
      .selectFrom('webhooks')
      .selectAll()
      .where('active', '=', 1)
      .where((eb) =>
        ancestry.length === 0
          ? eb('resource_id', 'is', null)
          : eb.or([eb('resource_id', 'is', null), eb('resource_id', 'in', [...ancestry])]),
      )
      .orderBy('id')
      .execute();
  }

  async update(id: string, set: Partial<Omit<WebhookRow, 'id' | 'created_at' | 'created_by'>>): Promise<void> {
    await this.db.updateTable('webhooks').set(set).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async insertDeliveries(rows: readonly DeliveryRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insertInto('webhook_deliveries')
      .values(rows as DeliveryRow[])
      .execute();
  }

  findDelivery(webhookId: string, id: string): Promise<DeliveryRow | undefined> {
    return this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** A webhook's deliveries, newest first (ids sort by creation). */
  deliveries(
    webhookId: string,
    filter: { status?: DeliveryRow['status'] | undefined; limit: number; cursor?: string | undefined },
  ): Promise<DeliveryRow[]> {
    let q = this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .orderBy('id', 'desc')
      .limit(filter.limit);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.cursor) q = q.where('id', '<', filter.cursor);
    return q.execute();
  }

  /** Pending deliveries whose time has come, oldest due first. */
  due(now: string, limit: number): Promise<DeliveryRow[]> {
    return this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /**
   * Takes a due delivery for one attempt: counts the attempt and moves its next try past `leaseUntil`,
   * so another worker (or this one after a crash) tries it again only once the lease has passed.
   * False when another worker took it first.
   */
  async claim(row: DeliveryRow, leaseUntil: string, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_deliveries')
      .set({ attempts: row.attempts + 1, next_attempt_at: leaseUntil, updated_at: now })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .where('attempts', '=', row.attempts)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Records how an attempt ended. */
  async settle(
    id: string,
    set: Pick<DeliveryRow, 'status' | 'next_attempt_at' | 'last_status' | 'last_error' | 'updated_at'>,
  ): Promise<void> {
    await this.db.updateTable('webhook_deliveries').set(set).where('id', '=', id).execute();
  }

  /** Active tokens expiring in (from, to] with no notice of `kind` for that expiry yet. */
  expiringWithout(kind: string, from: string, to: string, limit: number): Promise<TokenRow[]> {
    return this.db
      .selectFrom('tokens')
      .selectAll('tokens')
      .where('tokens.active', '=', 1)
      .where('tokens.expires_at', '>', from)
      .where('tokens.expires_at', '<=', to)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('token_notices')
              .select('token_notices.token_id')
              .whereRef('token_notices.token_id', '=', 'tokens.id')
              .whereRef('token_notices.expires_at', '=', 'tokens.expires_at')
              .where('token_notices.kind', '=', kind),
          ),
        ),
      )
      .orderBy('tokens.expires_at')
      .limit(limit)
      .execute();
  }

  /** Notices already sent for a token's expiry. */
  async noticesFor(tokenId: string, expiresAt: string): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('token_notices')
      .select('kind')
      .where('token_id', '=', tokenId)
      .where('expires_at', '=', expiresAt)
      .execute();
    return new Set(rows.map((r) => r.kind));
  }

  /** Records a notice; false when it was recorded already (by this or another instance). */
  async markNotice(tokenId: string, kind: string, expiresAt: string, now: string): Promise<boolean> {
    const result = await this.db
      .insertInto('token_notices')
      .values({ token_id: tokenId, kind, expires_at: expiresAt, created_at: now })
      .onConflict((oc) => oc.columns(['token_id', 'kind', 'expires_at']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /** Records an address a token was used from; true when it is the first time. */
  async markAddress(tokenId: string, ip: string, at: string): Promise<boolean> {
    const result = await this.db
      .insertInto('token_addresses')
      .values({ token_id: tokenId, ip, first_seen_at: at })
      .onConflict((oc) => oc.columns(['token_id', 'ip']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }
}
