import { fail } from '../domain/errors.js';
import { validate } from '../domain/validate.js';
import { newWebhookSecret, webhookUrlProblem } from '../domain/webhook-delivery.js';
import { newEventId, newWebhookId, PING_EVENT } from '../domain/webhook-events.js';
import { WebhookCreate, WebhookDeliveryQuery, WebhookPatch } from '../schemas.js';
import type { DeliveryRow, WebhookRow } from '../store/webhooks.js';
import type { Access } from './access.js';
import type { Notifications } from './notifications.js';
import { actingUser, isSystemAdmin, type Principal } from './principal.js';

export interface WebhookInput {
  url: string;
  resourceId?: string | null | undefined;
  events?: string[] | undefined;
  active?: boolean | undefined;
  secret?: string | undefined;
}

export interface WebhookChanges {
  url?: string | undefined;
  events?: string[] | undefined;
  active?: boolean | undefined;
}

/** The right that makes someone a resource's administrator, and so lets them manage its webhooks. */
const MANAGE = 'members:manage';

const NO_SUCH_WEBHOOK = 'There is no such webhook, or it is outside your reach.';

/**
 * Managing webhooks: system-wide ones by system administrators, a resource's by those who may
 * manage its members (its administrators). The signing secret is given out at creation and at
 * rotation only.
 */
export class WebhookService {
  constructor(
    private readonly access: Access,
    private readonly notifications: Notifications,
    private readonly allowPrivate: boolean,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private get store() {
    return this.notifications.store;
  }

  /** Refuses a caller who may not manage webhooks on this resource (null: system-wide). */
  private async authorize(p: Principal, resourceId: string | null, hidden: boolean): Promise<void> {
    if (resourceId !== null) {
      await this.access.require(p, resourceId, MANAGE);
      return;
    }
    if (isSystemAdmin(p)) return;
    // An existing system-wide webhook is not shown to anyone else; asking to create one is plainly refused.
    if (hidden) fail('NOT_FOUND', NO_SUCH_WEBHOOK);
    fail('FORBIDDEN', 'Only system administrators manage system-wide webhooks.', 'resourceId');
  }

  private checkUrl(url: string): void {
    const problem = webhookUrlProblem(url, this.allowPrivate);
    if (problem !== null) fail('VALIDATION_FAILED', `url ${problem}.`, 'url');
  }

  /** Creates a webhook; the secret is in the answer, and never again. */
  async create(p: Principal, input: WebhookInput): Promise<{ row: WebhookRow; secret: string }> {
    validate(WebhookCreate, input);
    const resourceId = input.resourceId ?? null;
    await this.authorize(p, resourceId, false);
    this.checkUrl(input.url);
    const now = this.clock().toISOString();
    const secret = input.secret ?? newWebhookSecret();
    const row: WebhookRow = {
      id: newWebhookId(),
      resource_id: resourceId,
      url: input.url,
      secret,
      events: JSON.stringify([...new Set(input.events ?? [])].sort()),
      active: input.active === false ? 0 : 1,
      created_by: p.kind === 'user' ? p.user.id : p.token.id,
      created_at: now,
      updated_at: now,
    };
    await this.store.insert(row);
    return { row, secret };
  }

  /** A webhook the caller may manage. */
  async get(p: Principal, id: string): Promise<WebhookRow> {
    const row = (await this.store.findById(id)) ?? fail('NOT_FOUND', NO_SUCH_WEBHOOK);
    await this.authorize(p, row.resource_id, true);
    return row;
  }

  /**
   * Webhooks the caller may manage, by id: on one resource when `resourceId` is given; else every
   * one for system administrators, and for others those on resources they administer.
   */
  async list(
    p: Principal,
    q: { resourceId?: string | undefined; limit: number; cursor?: string | undefined },
  ): Promise<WebhookRow[]> {
    if (q.resourceId !== undefined) {
      await this.authorize(p, q.resourceId, false);
      return this.store.list(q.resourceId, q.limit, q.cursor);
    }
    if (isSystemAdmin(p)) return this.store.list(undefined, q.limit, q.cursor);
    // Webhooks are few; filter a page at a time by what the caller may manage.
    const out: WebhookRow[] = [];
    let cursor = q.cursor;
    for (;;) {
      const rows = await this.store.list(undefined, 200, cursor);
      for (const row of rows) {
        if (row.resource_id === null) continue;
        const ancestry = await this.access.ancestryOf(row.resource_id).catch(() => null);
        if (ancestry && this.access.permissionsAt(p, ancestry).has(MANAGE)) out.push(row);
        if (out.length === q.limit) return out;
      }
      if (rows.length < 200) return out;
      cursor = rows[rows.length - 1]!.id;
    }
  }

  /** Changes a webhook's URL, events or whether it is on. */
  async update(p: Principal, id: string, patch: WebhookChanges): Promise<WebhookRow> {
    validate(WebhookPatch, patch);
    const row = await this.get(p, id);
    const set: Partial<WebhookRow> = { updated_at: this.clock().toISOString() };
    if (patch.url !== undefined) {
      this.checkUrl(patch.url);
      set.url = patch.url;
    }
    if (patch.events !== undefined) set.events = JSON.stringify([...new Set(patch.events)].sort());
    if (patch.active !== undefined) set.active = patch.active ? 1 : 0;
    await this.store.update(id, set);
    return { ...row, ...set };
  }

  /** Deletes a webhook and its delivery log. */
  async delete(p: Principal, id: string): Promise<void> {
    await this.get(p, id);
    if (!(await this.store.delete(id))) fail('NOT_FOUND', NO_SUCH_WEBHOOK);
  }

  /** Gives the webhook a new signing secret, returned this once; the old one stops signing at once. */
  async rotateSecret(p: Principal, id: string, secret?: string): Promise<{ row: WebhookRow; secret: string }> {
    const row = await this.get(p, id);
    const next = secret ?? newWebhookSecret();
    const updatedAt = this.clock().toISOString();
    await this.store.update(id, { secret: next, updated_at: updatedAt });
    return { row: { ...row, secret: next, updated_at: updatedAt }, secret: next };
  }

  /** The webhook's deliveries, newest first. */
  async deliveries(
    p: Principal,
    id: string,
    q: { status?: DeliveryRow['status'] | undefined; limit: number; cursor?: string | undefined },
  ): Promise<DeliveryRow[]> {
    validate(WebhookDeliveryQuery, q);
    await this.get(p, id);
    return this.store.deliveries(id, q);
  }

  /** Sends an earlier delivery's event again, as a new delivery due now. */
  async redeliver(p: Principal, id: string, deliveryId: string): Promise<DeliveryRow> {
    await this.get(p, id);
    const earlier =
      (await this.store.findDelivery(id, deliveryId)) ?? fail('NOT_FOUND', 'This webhook has no such delivery.');
    return this.notifications.redeliver(earlier);
  }

  /** Sends this webhook a `ping` event, to check that it is reachable and verifies signatures. */
  async ping(p: Principal, id: string): Promise<DeliveryRow> {
    const row = await this.get(p, id);
    const now = this.clock();
    return this.notifications.deliverTo(row, {
      id: newEventId(now.getTime()),
      type: PING_EVENT,
      createdAt: now.toISOString(),
      data: { webhook: { id: row.id }, actor: { type: p.kind, id: p.kind === 'user' ? actingUser(p).id : p.token.id } },
    });
  }
}
