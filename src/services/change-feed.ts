/**
 * A committed change, as whatever keeps a copy of access facts must hear it: plain JSON carrying
 * ids only, never a key or a key hash, so it may cross a process boundary (PostgreSQL NOTIFY,
 * Redis, an event stream to SDKs) and appear in a log line.
 */
export type Change =
  /** The token's row changed or is gone: its state, rights, expiry or owner. */
  | { kind: 'token'; id: string }
  /** The token's set of keys changed: a token was created, rolled or deleted. */
  | { kind: 'keys'; tokenId: string }
  /** The user's row changed: active, system role. */
  | { kind: 'user'; id: string }
  /** The resource changed or is gone, and with it its place in the tree. */
  | { kind: 'resource'; id: string }
  /** The user's role on the resource was set or removed. */
  | { kind: 'membership'; userId: string; resourceId: string };

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
}
