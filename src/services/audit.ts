import { newSortableId } from '../domain/ids.js';
import type { AuditStore } from '../store/audit.js';
import type { Principal } from './principal.js';

export interface AuditEvent {
  action: string;
  targetType: 'token' | 'user' | 'resource' | 'membership';
  targetId: string;
  resourceId?: string | null | undefined;
  /** What changed. Callers never put a key, hash or password here. */
  details?: Record<string, unknown>;
  ip?: string | null | undefined;
}

/** Appends who-changed-what records to the audit trail. */
export class AuditTrail {
  constructor(
    private readonly store: AuditStore,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Appends one record; pass the transaction's audit store to write it with the change it describes. */
  async record(actor: Principal | 'system', event: AuditEvent, store: AuditStore = this.store): Promise<void> {
    const now = this.clock();
    await store.append({
      id: newSortableId('aud', now.getTime()),
      at: now.toISOString(),
      actor_type: actor === 'system' ? 'system' : actor.kind,
      actor_id: actor === 'system' ? null : actor.kind === 'user' ? actor.user.id : actor.token.id,
      action: event.action,
      target_type: event.targetType,
      target_id: event.targetId,
      resource_id: event.resourceId ?? null,
      details: JSON.stringify(event.details ?? {}),
      ip: event.ip ?? null,
      via_token_id: null,
      user_agent: null,
    });
  }
}
