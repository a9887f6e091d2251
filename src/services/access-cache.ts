import type { AccessModel } from '../domain/model.js';
import { levelPermissions } from '../domain/model.js';
import type { Ancestry, TokenFacts, UserFacts } from '../domain/policy.js';
import type { Stores } from '../store/index.js';
import type { TokenRow } from '../store/tokens.js';

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

/** A bounded map that forgets its oldest entries first. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }
  override set(key: K, value: V): this {
    if (this.size >= this.max && !this.has(key)) {
      const oldest = this.keys().next();
      if (!oldest.done) this.delete(oldest.value);
    }
    return super.set(key, value);
  }
}

/**
 * What verification reads on every request — key → token, token, user, resource ancestry —
 * kept in memory so the hot path does no I/O once warm. Entries are re-read after `ttlMs`,
 * which bounds how stale another instance's change can be; this instance's own changes drop
 * entries at once through the `invalidate*` methods, the one place that invalidates.
 */
export class AccessCache {
  private readonly keys = new BoundedMap<string, Entry<CachedKey | null>>(200_000);
  private readonly tokens = new BoundedMap<string, Entry<CachedToken | null>>(200_000);
  private readonly users = new BoundedMap<string, Entry<UserFacts | null>>(100_000);
  /** Parent by resource id. A resource never changes parent, so these entries need no expiry. */
  private readonly parents = new BoundedMap<string, string | null>(500_000);
  /** Whole ancestries, so the same resource always yields the very same array (identity matters to Access's memo). */
  private readonly ancestries = new BoundedMap<string, Ancestry>(200_000);
  /** Bumped by every invalidation, so a load that raced one is not cached. */
  private epoch = 0;

  constructor(
    private readonly stores: Stores,
    private readonly model: AccessModel,
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  private fresh<T>(entry: Entry<T> | undefined): entry is Entry<T> {
    return entry !== undefined && this.clock() - entry.loadedAt < this.ttlMs;
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
    if (this.fresh(hit)) return hit.value;
    const epoch = this.epoch;
    const value = await load();
    if (epoch === this.epoch) map.set(id, { value, loadedAt: this.clock() });
    return value;
  }

  private peek<T>(map: Map<string, Entry<T | null>>, id: string): T | null | Miss {
    const hit = map.get(id);
    return this.fresh(hit) ? hit.value : MISS;
  }

  /** Synchronous look-ups for the hot path: the cached value, or MISS when it must be loaded. */
  peekKey(hash: string): CachedKey | null | Miss {
    return this.peek(this.keys, hash);
  }

  peekToken(id: string): CachedToken | null | Miss {
    return this.peek(this.tokens, id);
  }

  peekUser(id: string): UserFacts | null | Miss {
    return this.peek(this.users, id);
  }

  /**
   * Walks cached parents from a resource to its root. Answers the ancestry (cached whole, so the
   * same resource always yields the very same array), the first resource whose parent is not
   * cached yet, or null for a corrupt tree (a cycle, or deeper than 256).
   */
  private walk(resourceId: string): Ancestry | { missing: string } | null {
    const known = this.ancestries.get(resourceId);
    if (known !== undefined) return known;
    const out: string[] = [];
    let id: string | null = resourceId;
    while (id !== null) {
      if (out.length > 256 || out.includes(id)) return null;
      out.push(id);
      const parent: string | null | undefined = this.parents.get(id);
      if (parent === undefined) return { missing: id };
      id = parent;
    }
    this.ancestries.set(resourceId, out);
    return out;
  }

  /** The ancestry from cached parents alone, or MISS when it needs loading (or the tree is corrupt). */
  peekAncestry(resourceId: string): Ancestry | Miss {
    const walked = this.walk(resourceId);
    return walked === null || 'missing' in walked ? MISS : walked;
  }

  /** The key entry for a hash, or null when no token has that key. */
  key(hash: string): Promise<CachedKey | null> {
    return this.through(this.keys, hash, async () => {
      const row = await this.stores.tokens.findKey(hash);
      return row ? { hash: row.key_hash, tokenId: row.token_id, expiresAt: row.expires_at } : null;
    });
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

  /** Ids from the resource up to its root, or null when the resource does not exist. */
  async ancestry(resourceId: string): Promise<Ancestry | null> {
    // Load one missing parent at a time; each load caches it, so this ends within the depth bound.
    for (let loads = 0; loads <= 257; loads++) {
      const walked = this.walk(resourceId);
      if (walked === null || !('missing' in walked)) return walked;
      const row = await this.stores.resources.findById(walked.missing);
      if (!row) return null;
      this.parents.set(row.id, row.parent_id);
    }
    return null;
  }

  invalidateKeys(hashes: readonly string[]): void {
    this.epoch++;
    for (const h of hashes) this.keys.delete(h);
  }

  invalidateToken(id: string): void {
    this.epoch++;
    this.tokens.delete(id);
  }

  invalidateUser(id: string): void {
    this.epoch++;
    this.users.delete(id);
  }

  invalidateResource(id: string): void {
    this.epoch++;
    this.parents.delete(id);
    this.ancestries.delete(id);
  }
}
