import type { Kysely } from 'kysely';
import type { Change } from '../domain/change.js';
import type { AuditRow } from '../store/audit.js';
import type { Database } from '../store/schema.js';

export type { Change };

/** Hears audit records once they are committed (webhooks react to token events this way). */
export type AuditListener = (rows: readonly AuditRow[]) => void;

/** Hears the changes of one committed transaction, together and in order. */
export type ChangeListener = (changes: readonly Change[]) => void;

/** Where a batch of changes was committed: in this process, or by another instance (heard on the channel). */
export type ChangeOrigin = 'local' | 'remote';

/**
 * The cross-instance channel's state. `lost`: changes committed elsewhere may go unheard, so
 * whoever keeps a copy must bound its age. `restored`: heard again, but whatever was committed
 * while it was lost is unknown, so every copy must be dropped.
 */
export type ChannelState = 'lost' | 'restored';

/** Runs inside the transaction, just before it commits, with the changes it made (PostgreSQL NOTIFY is sent this way: delivered if and only if the transaction commits). */
export type CommitHook = (trx: Kysely<Database>, changes: readonly Change[]) => Promise<void>;

/**
 * Publishes committed changes to whoever keeps a copy of access facts: the access cache, the
 * gateway's target cache and the event stream for SDKs. The cluster link (src/cluster/link.ts)
 * sends this process's changes to other instances and publishes theirs here as `remote`. Stores
 * publish a transaction's changes once it has committed, never when it rolls back.
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
  private readonly localListeners = new Set<ChangeListener>();
  private readonly channelListeners = new Set<(state: ChannelState) => void>();
  /** Set by the PostgreSQL channel: the transaction's changes are sent with it, not after it. */
  beforeCommit: CommitHook | undefined;

  /** `onListenerError` hears a listener's failure; the change is committed, so the caller must not. */
  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  /**
   * Tells every listener about committed changes; one listener failing does not keep the others
   * from hearing. Changes committed here (`local`) are also told to `onLocal` listeners, which
   * pass them on to other instances; changes heard from them (`remote`) are not sent back.
   */
  publish(changes: readonly Change[], origin: ChangeOrigin = 'local'): void {
    if (changes.length === 0) return;
    const frozen = Object.freeze([...changes]);
    this.tell(this.listeners, frozen);
    if (origin === 'local') this.tell(this.localListeners, frozen);
  }

  private tell<T>(listeners: Set<(value: T) => void>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /** Adds a listener for changes committed in this process only; returns the function that removes it. */
  onLocal(listener: ChangeListener): () => void {
    return this.add(this.localListeners, listener);
  }

  /** Tells every copy-keeper that the cross-instance channel was lost or restored. */
  channel(state: ChannelState): void {
    this.tell(this.channelListeners, state);
  }

  /** Adds a listener for the channel's state; returns the function that removes it. */
  onChannel(listener: (state: ChannelState) => void): () => void {
    return this.add(this.channelListeners, listener);
  }

  private add<T>(listeners: Set<(value: T) => void>, listener: (value: T) => void): () => void {
    // A wrapper per subscription, so adding one function twice gives two independent subscriptions.
    const own = (value: T) => listener(value);
    listeners.add(own);
    return () => {
      listeners.delete(own);
    };
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: ChangeListener): () => void {
    return this.add(this.listeners, listener);
  }

  /** Tells every audit listener about committed audit records (in this process only). */
  audited(rows: readonly AuditRow[]): void {
    this.tell(this.auditListeners, rows);
  }

  /** Adds an audit listener; returns the function that removes it. */
  onAudited(listener: AuditListener): () => void {
    return this.add(this.auditListeners, listener);
  }
}
