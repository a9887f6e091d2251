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
