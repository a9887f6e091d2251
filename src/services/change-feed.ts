import type { Change } from '../domain/change.js';
import type { AuditRow } from '../store/audit.js';

export type { Change };

/** Hears audit records once they are committed (webhooks react to token events this way). */
export type AuditListener = (rows: readonly AuditRow[]) => void;

/** Hears the changes of one committed transaction, together and in order. */
export type ChangeListener = (changes: readonly Change[]) => void;

/**
 * Publishes committed changes to whoever subscribed: in process today (the access cache); a
 * cross-instance channel and an event stream for SDKs subscribe and publish through this same
 * feed. Stores publish a transaction's changes once it has committed, never when it rolls back.
 *
 * @example
 *   const feed = new ChangeFeed();
 *   const stop = feed.subscribe((changes) => console.log(changes));
 *   feed.publish([{ kind: 'token', id: 'tok_1' }]); // logs [{ kind: 'token', id: 'tok_1' }]
 *   stop();
 */
export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();
  private readonly auditListeners = new Set<AuditListener>();

  /** `onListenerError` hears a listener's failure; the change is committed, so the caller must not. */
  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  /** Tells every listener about committed changes; one listener failing does not keep the others from hearing. */
  publish(changes: readonly Change[]): void {
    if (changes.length === 0) return;
    const frozen = Object.freeze([...changes]);
    for (const listener of this.listeners) {
      try {
        listener(frozen);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ChangeListener): () => void {
    // A wrapper per subscription, so subscribing one function twice gives two independent subscriptions.
    const own: ChangeListener = (changes) => listener(changes);
    this.listeners.add(own);
    return () => {
      this.listeners.delete(own);
    };
  }

  /** Tells every audit listener about committed audit records (in this process only). */
  audited(rows: readonly AuditRow[]): void {
    for (const listener of this.auditListeners) {
      try {
        listener(rows);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /** Adds an audit listener; returns the function that removes it. */
  onAudited(listener: AuditListener): () => void {
    const own: AuditListener = (rows) => listener(rows);
    this.auditListeners.add(own);
    return () => {
      this.auditListeners.delete(own);
    };
  }
}
