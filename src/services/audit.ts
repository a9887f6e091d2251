import { newSortableId } from '../domain/ids.js';
import type { AuditRow, AuditStore } from '../store/audit.js';
import type { Principal } from './principal.js';

/** Where a change came from: the client's address and user agent. Routes build it; the CLI passes none. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

/** What a service is told about the request behind a change; null when there is none (CLI, start-up). */
export type Origin = RequestContext | null;

/**
 * Who acted. A principal (a signed-in user, or a token); `system` for keygate itself (start-up, the
 * CLI without --as); `anonymous` for someone not signed in (a failed sign-in).
 */
export type Actor = Principal | { kind: 'user'; user: { id: string } } | 'system' | 'anonymous';

export interface AuditEvent {
  action: string;
  targetType: 'token' | 'user' | 'resource' | 'membership';
  targetId: string;
  resourceId?: string | null | undefined;
  /** What changed. Callers never put a key, hash or password here. */
  details?: Record<string, unknown>;
  origin?: Origin | undefined;
}

/** One field's change, as the audit trail shows it. */
export interface FieldChange {
  from: unknown;
  to: unknown;
}

/** Longest user agent kept; the column is varchar(512). */
const USER_AGENT_LIMIT = 512;

/**
 * The fields whose values differ between two snapshots, as `{field: {from, to}}`. Values are
 * compared as JSON, so arrays with the same items in the same order are equal.
 */
export function fieldChanges(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): Record<string, FieldChange> {
  const out: Record<string, FieldChange> = {};
  for (const field of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const from = before[field] ?? null;
    const to = after[field] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) out[field] = { from, to };
  }
  return out;
}

/**
 * The actor columns of a record. A session or an ordinary token is the actor itself. A token that
 * impersonates a user acts as that user: the actor is the user, and `via_token_id` names the token.
 * `via_token_id` is set whenever a token made the change, so "what did token T do" is one column.
 */
export function actorColumns(actor: Actor): {
  actor_type: 'user' | 'token' | 'system' | 'anonymous';
  actor_id: string | null;
  via_token_id: string | null;
} {
  if (actor === 'system' || actor === 'anonymous') return { actor_type: actor, actor_id: null, via_token_id: null };
  if (actor.kind === 'user') return { actor_type: 'user', actor_id: actor.user.id, via_token_id: null };
  const as = actor.token.impersonateUserId;
  if (as !== null) return { actor_type: 'user', actor_id: as, via_token_id: actor.token.id };
  return { actor_type: 'token', actor_id: actor.token.id, via_token_id: actor.token.id };
}

/** Appends who-changed-what records to the audit trail. */
export class AuditTrail {
  constructor(
    private readonly store: AuditStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Appends one record; pass the transaction's audit store to write it with the change it describes. */
  async record(actor: Actor, event: AuditEvent, store: AuditStore = this.store): Promise<void> {
    await store.append(this.row(actor, event, this.clock()));
  }

  /** Appends one record per event, all at one time, in multi-row writes (a bulk import). */
  async recordMany(actor: Actor, events: readonly AuditEvent[], store: AuditStore = this.store): Promise<void> {
    const now = this.clock();
    await store.appendMany(events.map((event) => this.row(actor, event, now)));
  }

  private row(actor: Actor, event: AuditEvent, now: Date): AuditRow {
    const userAgent = event.origin?.userAgent ?? null;
    return {
      id: newSortableId('aud', now.getTime()),
      at: now.toISOString(),
      ...actorColumns(actor),
      action: event.action,
      target_type: event.targetType,
      target_id: event.targetId,
      resource_id: event.resourceId ?? null,
      details: JSON.stringify(event.details ?? {}),
      ip: event.origin?.ip ?? null,
      user_agent: userAgent === null ? null : userAgent.slice(0, USER_AGENT_LIMIT),
    };
  }
}
