import { randomBase62 } from './keys.js';

/** What webhooks are told about: the token events, in one list that validation and docs share. */
export const WEBHOOK_EVENTS = [
  'token.created',
  'token.edited',
  'token.activated',
  'token.deactivated',
  'token.deleted',
  'token.rolled',
  'token.expiring',
  'token.expired',
  'token.new_address',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** Sent to one webhook by hand to check it is reachable; never subscribed to. */
export const PING_EVENT = 'ping';

/**
 * Audit actions → webhook events: the one place an audit rename is followed. An action not listed
 * (reveal, membership changes …) is no webhook event.
 */
export const AUDIT_EVENTS: Readonly<Record<string, WebhookEventType>> = {
  'token.create': 'token.created',
  'token.update': 'token.edited',
  'token.activate': 'token.activated',
  'token.deactivate': 'token.deactivated',
  'token.delete': 'token.deleted',
  'token.roll': 'token.rolled',
};

/** The audit actions webhooks listen to start with this. */
export const AUDIT_PREFIX = 'token.';

/** The webhook event an audit action is, or null. */
export function eventOfAudit(action: string): WebhookEventType | null {
  if (!action.startsWith(AUDIT_PREFIX)) return null;
  return Object.hasOwn(AUDIT_EVENTS, action) ? (AUDIT_EVENTS[action] ?? null) : null;
}

/** Whether a webhook subscribed to `events` (empty: all) hears `type`. */
export function subscribes(events: readonly string[], type: string): boolean {
  return type === PING_EVENT || events.length === 0 || events.includes(type);
}

/** A token as a payload names it: never its key, hash or anything secret. */
export interface EventToken {
  id: string;
  name: string | null;
  resourceId: string | null;
  ownerId: string | null;
  expiresAt: string | null;
}

export interface EventData {
  token?: EventToken;
  actor?: { type: string; id: string | null };
  changes?: unknown;
  daysLeft?: number;
  ip?: string;
  webhook?: { id: string };
}

export interface WebhookEvent {
  id: string;
  type: string;
  createdAt: string;
  data: EventData;
}

/** A new event id. */
export function newEventId(nowMs: number): string {
  return `evt_${nowMs.toString(36).padStart(9, '0')}${randomBase62(12)}`;
}

// Field names that could carry a credential; dropped from anything copied into a payload.
const SECRET_NAME = /^(key|keys|secret|password)$|hash|secret|password|encrypted/i;

/** A copy of audit details without any field whose name suggests a key, hash or secret. */
export function withoutSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return null;
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) if (!SECRET_NAME.test(name)) out[name] = withoutSecrets(v, depth + 1);
  return out;
}

/**
 * What an audit record says changed, as a payload's `changes`: its before → after when it has
 * them, else the list of changed fields, else undefined (create, delete, roll say no more).
 */
export function changesOf(action: string, details: Record<string, unknown>): unknown {
  if (details.changes !== undefined) return withoutSecrets(details.changes);
  if (details.before !== undefined || details.after !== undefined)
    return withoutSecrets({ before: details.before ?? null, after: details.after ?? null });
  if (action === 'token.roll') return withoutSecrets(details);
  return Array.isArray(details.changed) ? details.changed : undefined;
}

/** The JSON body a webhook receives (the exact string that is signed). */
export function payloadOf(event: WebhookEvent): string {
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(event.data)) if (v !== undefined) data[k] = v;
  return JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt, data });
}

const DAY_MS = 86_400_000;

/**
 * The expiry notice due for a token now, given the notice days (e.g. [7, 1]) and those already
 * sent for this expiry: the tightest window the token is in, and every wider one it covers (so a
 * token made with 12 hours left hears "1 day", not "7 days" as well). Null when nothing is due.
 */
export function dueExpiryNotice(
  expiresAtMs: number,
  nowMs: number,
  noticeDays: readonly number[],
  sent: ReadonlySet<string>,
): { kind: string; covers: string[]; daysLeft: number } | null {
  if (expiresAtMs <= nowMs) return sent.has('expired') ? null : { kind: 'expired', covers: ['expired'], daysLeft: 0 };
  const left = expiresAtMs - nowMs;
  const windows = [...noticeDays].filter((d) => d > 0 && left <= d * DAY_MS).sort((a, b) => a - b);
  const tightest = windows[0];
  if (tightest === undefined) return null;
  const kind = `expiring:${tightest}`;
  if (sent.has(kind)) return null;
  return { kind, covers: windows.map((d) => `expiring:${d}`), daysLeft: Math.ceil(left / DAY_MS) };
}

let sequence = 0;

/** A new delivery id that sorts by creation, so the delivery log reads newest first by id. */
export function newDeliveryId(nowMs: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  return `whd_${nowMs.toString(36).padStart(9, '0')}${sequence.toString(36).padStart(4, '0')}${randomBase62(10)}`;
}

/** A new webhook id. */
export function newWebhookId(): string {
  return `whk_${randomBase62(20)}`;
}
