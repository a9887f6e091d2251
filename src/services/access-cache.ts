import type { AccessModel } from '../domain/model.js';
import { levelPermissions } from '../domain/model.js';
import type { Ancestry, TokenFacts, UserFacts } from '../domain/policy.js';
import type { Stores } from '../store/index.js';
import type { TokenRow } from '../store/tokens.js';
import type { Change } from '../domain/change.js';

interface Entry<T> {
  value: T;
  loadedAt: number;
}

/** A token as the hot path needs it: the row, and its facts parsed once. */
export interface CachedToken {
  row: TokenRow;
  facts: TokenFacts;
}

/** What a synchronous look-up returns when the entry is absent or stale: the caller must load it. */
export const MISS: unique symbol = Symbol('cache miss');
export type Miss = typeof MISS;

export interface CachedKey {
  /** The stored hash, compared again in constant time by whoever reads this entry. */
  hash: string;
  tokenId: string;
  expiresAt: string | null;
}

/** Turns a stored token row into the policy's facts (level resolved to its bundle). */
export function tokenFacts(model: AccessModel, row: TokenRow): TokenFacts {
  return {
    id: row.id,
    active: row.active === 1,
    expiresAt: row.expires_at,
    resourceId: row.resource_id,
    permissions: row.level !== null ? levelPermissions(model, row.level) : (JSON.parse(row.permissions) as string[]),
    apiGroups: JSON.parse(row.api_groups) as string[],
    ownerId: row.owner_id,
    impersonateUserId: row.impersonate_user_id,
  };
}

/** A bounded map that forgets its oldest entries first, telling `onEvict` which it forgot. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(
    private readonly max: number,
    private readonly onEvict: (key: K, value: V) => void = () => {},
  ) {
    super();
  }
  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) {
      const oldest = this.entries().next();
      if (!oldest.done) {
        this.delete(oldest.value[0]);
        this.onEvict(oldest.value[0], oldest.value[1]);
      }
    }
    return super.set(key, value);
  }
}

interface KeyEntry extends Entry<CachedKey | null> {
  /** For "no such key" answers: the key generation they were read in; a new key anywhere ends it. */
  generation: number;
}

interface AncestryEntry {
  value: Ancestry;
  /** When the oldest parent on the way up was read: the ancestry is as stale as that. */
  loadedAt: number;
  /** The tree version it was walked in; a change to any resource ends it. */
  version: number;
}

/** Whether two ancestries name the same resources in the same order. */
function sameIds(a: Ancestry, b: Ancestry): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/**
 * What verification reads on every request — key → token, token, user, resource ancestry —
 * kept in memory so the hot path does no I/O once warm. Every entry is re-read after `ttlMs`,
 * which bounds how stale a change this process has not heard of can be; the changes it hears
 * from the change feed (`drop`) end the entries they touch at once. `drop` is the one place that
 * invalidates.
 */
export class AccessCache {
  private readonly keys = new BoundedMap<string, KeyEntry>(200_000, (hash, entry) => this.unlinkKey(hash, entry));
  /** The hashes of cached keys by token id, so a change to a token's keys drops them without naming a hash. */
  private readonly keysByToken = new Map<string, Set<string>>();
  /** Bumped whenever a key may have appeared, ending every cached "no such key". */
  private keyGeneration = 0;
  private readonly tokens = new BoundedMap<string, Entry<CachedToken | null>>(200_000);
  private readonly users = new BoundedMap<string, Entry<UserFacts | null>>(100_000);
  /** Parent by resource id. */
  private readonly parents = new BoundedMap<string, Entry<string | null>>(500_000);
  /** Whole ancestries, so the same resource always yields the very same array (identity matters to Access's memo). */
  private readonly ancestries = new BoundedMap<string, AncestryEntry>(200_000);
  /** Bumped by every resource change: an ancestry walked before it is walked again before use. */
  private treeVersion = 0;
  /** Bumped by every invalidation, so a load that raced one is not cached. */
  private epoch = 0;
  /** Look-ups answered from memory, and loads from the store; plain numbers, read by /metrics when scraped. */
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    private readonly stores: Stores,
    private readonly model: AccessModel,
    private ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  private fresh<T>(entry: Entry<T> | undefined, now = this.clock()): entry is Entry<T> {
    return entry !== undefined && now - entry.loadedAt < this.ttlMs;
  }

  private freshKey(entry: KeyEntry | undefined): entry is KeyEntry {
    return this.fresh(entry) && (entry.value !== null || entry.generation === this.keyGeneration);
  }

  /**
   * Reads through a cache map. A value loaded while an invalidation happened is returned but
   * not kept: it may predate the change, and keeping it would undo the invalidation.
   */
  private async through<T>(
    map: Map<string, Entry<T | null>>,
    id: string,
    load: () => Promise<T | null>,
  ): Promise<T | null> {
    const hit = map.get(id);
    if (this.fresh(hit)) {
      this.stats.hits++;
      return hit.value;
    }
    this.stats.misses++;
    const epoch = this.epoch;
    const value = await load();
    if (epoch === this.epoch) map.set(id, { value, loadedAt: this.clock() });
    return value;
  }

  private peek<T>(map: Map<string, Entry<T | null>>, id: string): T | null | Miss {
    const hit = map.get(id);
    if (!this.fresh(hit)) return MISS;
    this.stats.hits++;
    return hit.value;
  }

  /** Synchronous look-ups for the hot path: the cached value, or MISS when it must be loaded. */
  peekKey(hash: string): CachedKey | null | Miss {
    const hit = this.keys.get(hash);
    if (!this.freshKey(hit)) return MISS;
    this.stats.hits++;
    return hit.value;
  }

  peekToken(id: string): CachedToken | null | Miss {
    return this.peek(this.tokens, id);
  }

  peekUser(id: string): UserFacts | null | Miss {
    return this.peek(this.users, id);
  }

  /**
   * Walks cached parents from a resource to its root. Answers the ancestry (cached whole, so the
   * same resource always yields the very same array while its chain is unchanged), the first
   * resource whose parent is not cached or no longer fresh, or null for a corrupt tree (a cycle,
   * or deeper than 256).
   */
  private walk(resourceId: string): Ancestry | { missing: string } | null {
    const now = this.clock();
    const known = this.ancestries.get(resourceId);
    if (known !== undefined && known.version === this.treeVersion && now - known.loadedAt < this.ttlMs)
      return known.value;
    const out: string[] = [];
    let oldest = now;
    let id: string | null = resourceId;
    while (id !== null) {
      if (out.length > 256 || out.includes(id)) return null;
      out.push(id);
      const parent = this.parents.get(id);
      if (!this.fresh(parent, now)) return { missing: id };
      oldest = Math.min(oldest, parent.loadedAt);
      id = parent.value;
    }
    const value = known !== undefined && sameIds(known.value, out) ? known.value : out;
    this.ancestries.set(resourceId, { value, loadedAt: oldest, version: this.treeVersion });
    return value;
  }

  /** The ancestry from cached parents alone, or MISS when it needs loading (or the tree is corrupt). */
  peekAncestry(resourceId: string): Ancestry | Miss {
    const walked = this.walk(resourceId);
    return walked === null || 'missing' in walked ? MISS : walked;
  }

  /** The key entry for a hash, or null when no token has that key. */
  async key(hash: string): Promise<CachedKey | null> {
    const hit = this.keys.get(hash);
    if (this.freshKey(hit)) {
      this.stats.hits++;
      return hit.value;
    }
    this.stats.misses++;
    const epoch = this.epoch;
    const generation = this.keyGeneration;
    const row = await this.stores.tokens.findKey(hash);
    const value = row ? { hash: row.key_hash, tokenId: row.token_id, expiresAt: row.expires_at } : null;
    if (epoch === this.epoch) {
      const old = this.keys.get(hash);
      if (old !== undefined) this.unlinkKey(hash, old);
      this.keys.set(hash, { value, loadedAt: this.clock(), generation });
      if (value !== null) {
        const hashes = this.keysByToken.get(value.tokenId) ?? new Set<string>();
        hashes.add(hash);
        this.keysByToken.set(value.tokenId, hashes);
      }
    }
    return value;
  }

  private unlinkKey(hash: string, entry: KeyEntry): void {
    if (entry.value === null) return;
    const hashes = this.keysByToken.get(entry.value.tokenId);
    hashes?.delete(hash);
    if (hashes?.size === 0) this.keysByToken.delete(entry.value.tokenId);
  }

  token(id: string): Promise<CachedToken | null> {
    return this.through(this.tokens, id, async () => {
      const row = await this.stores.tokens.findById(id);
      return row ? { row, facts: tokenFacts(this.model, row) } : null;
    });
  }

  user(id: string): Promise<UserFacts | null> {
    return this.through(this.users, id, async () => {
      const row = await this.stores.users.findById(id);
      return row
        ? {
            id: row.id,
            active: row.active === 1,
            systemRole: row.system_role,
            roles: await this.stores.resources.rolesOf(row.id),
          }
        : null;
    });
  }

  /**
   * Ids from the resource up to its root, or null when the resource does not exist. `reads`, when
   * given, counts the store reads it took (0 when all was cached).
   */
  async ancestry(resourceId: string, reads?: { count: number }): Promise<Ancestry | null> {
    // Load one missing parent at a time; each load caches it, so this ends within the depth bound.
    for (let loads = 0; loads <= 257; loads++) {
      const walked = this.walk(resourceId);
      if (walked === null || !('missing' in walked)) return walked;
      const epoch = this.epoch;
      if (reads) reads.count++;
      const row = await this.stores.resources.findById(walked.missing);
      if (!row) {
        this.parents.delete(walked.missing);
        return null;
      }
      if (epoch === this.epoch) this.parents.set(row.id, { value: row.parent_id, loadedAt: this.clock() });
    }
    return null;
  }

  /** Reads a resource's row from the store, past the cache: what looking up an id that does not exist costs. */
  async readResource(resourceId: string): Promise<void> {
    await this.stores.resources.findById(resourceId);
  }

  /** Forgets what committed changes make stale; the cache listens to the change feed with this. */
  drop(changes: readonly Change[]): void {
    this.epoch++;
    for (const change of changes) {
      switch (change.kind) {
        case 'token':
          this.tokens.delete(change.id);
          break;
        case 'keys': {
          for (const hash of this.keysByToken.get(change.tokenId) ?? []) this.keys.delete(hash);
          this.keysByToken.delete(change.tokenId);
          // A created or rolled token's new key may have been cached as "no such key".
          this.keyGeneration++;
          break;
        }
        case 'user':
          this.users.delete(change.id);
          break;
        case 'membership':
          this.users.delete(change.userId);
          break;
        case 'resource':
          this.parents.delete(change.id);
          this.treeVersion++;
          break;
      }
    }
  }

  /**
   * Changes how long entries are used before being read again, effective at once for entries
   * already held (their age is measured, not their expiry stored): the cluster link shortens it
   * while changes from other instances may go unheard.
   */
  setTtl(ms: number): void {
    this.ttlMs = ms;
  }

  /** How long entries are used now before being read again. */
  get ttl(): number {
    return this.ttlMs;
  }

  /** Forgets everything (the change channel came back: what changed while it was lost is unknown). */
  clear(): void {
    this.epoch++;
    this.keyGeneration++;
    this.treeVersion++;
    this.keys.clear();
    this.keysByToken.clear();
    this.tokens.clear();
    this.users.clear();
    this.parents.clear();
    this.ancestries.clear();
  }

  /** For tools and tests that change a token's row behind the services' back. */
  invalidateToken(id: string): void {
    this.drop([{ kind: 'token', id }]);
  }

  /** For tools and tests that change a user's row behind the services' back. */
  invalidateUser(id: string): void {
    this.drop([{ kind: 'user', id }]);
  }
}
