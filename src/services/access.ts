import { fail } from '../domain/errors.js';
import { allPermissions, type AccessModel } from '../domain/model.js';
import {
  decideToken,
  userPermissionsAt,
  type Ancestry,
  type Decision,
  type TokenFacts,
  type UserFacts,
} from '../domain/policy.js';
import { MISS, type AccessCache, type CachedKey, type CachedToken, type Miss } from './access-cache.js';
import { hashesEqual, type KeyRing } from './key-ring.js';
import type { Principal } from './principal.js';

export type KeyVerdict =
  | { code: 'MALFORMED' }
  | { code: 'NOT_FOUND' }
  | (Decision & { token: CachedToken; principal: Principal });

const NOT_FOUND = { code: 'NOT_FOUND' } as const;
/** The home of a system token: no place in the tree (one shared array, so identities compare). */
const NOWHERE: Ancestry = Object.freeze([]);

/** Everything the policy needs about a presented key, or NOT_FOUND. */
type KeyFacts =
  | typeof NOT_FOUND
  | {
      entry: CachedKey;
      token: CachedToken;
      owner: UserFacts;
      impersonated: UserFacts | null;
      home: Ancestry;
      /** Undefined: no target asked; null: the target does not exist. */
      target: Ancestry | null | undefined;
    };

interface RememberedVerdict {
  owner: UserFacts;
  impersonated: UserFacts | null;
  home: Ancestry;
  entry: CachedKey;
  apiGroup: string | undefined;
  /** Epoch ms at which the verdict lapses (the token's or the key's expiry). */
  validUntil: number;
  verdict: KeyVerdict;
}

/** Whether a permission list holds every permission of the model. */
function holdsEverything(model: AccessModel, permissions: readonly string[]): boolean {
  const all = allPermissions(model);
  return permissions.length >= all.size && [...all].every((x) => permissions.includes(x));
}

function expiryMs(iso: string | null): number {
  return iso === null ? Number.POSITIVE_INFINITY : Date.parse(iso);
}

export interface KeyQuestion {
  resourceId?: string | undefined;
  permission?: string | undefined;
  apiGroup?: string | undefined;
}

/**
 * Answers "who is this key, and may it do X on R?" and "what may this principal do on R?",
 * by reading the cache and asking the pure policy.
 */
export class Access {
  private readonly verdicts = new WeakMap<TokenFacts, RememberedVerdict>();

  private readonly clock: () => Date;
  /** The clock in epoch ms; without an injected clock, Date.now (no Date per judged key). */
  private readonly nowMs: () => number;

  constructor(
    private readonly model: AccessModel,
    private readonly cache: AccessCache,
    private readonly keys: KeyRing,
    clock?: () => Date,
  ) {
    this.clock = clock ?? (() => new Date());
    this.nowMs = clock ? () => clock().getTime() : Date.now;
  }

  /**
   * Judges a presented key: format, storage, then the policy (at `q.resourceId` when given).
   * When everything it needs is cached and fresh — the usual case — it answers synchronously,
   * without a promise; otherwise it loads what is missing.
   */
  evaluateKey(key: string, q: KeyQuestion = {}): KeyVerdict | Promise<KeyVerdict> {
    if (this.keys.classify(key) === 'malformed') return { code: 'MALFORMED' };
    const hash = this.keys.hash(key);
    const cached = this.factsNow(hash, q);
    return cached === MISS ? this.loadFacts(hash, q).then((f) => this.judge(f, q)) : this.judge(cached, q);
  }

  /** The facts about a key from the cache alone, or MISS. */
  private factsNow(hash: string, q: KeyQuestion): KeyFacts | Miss {
    const entry = this.cache.peekKey(hash);
    if (entry === MISS || entry === null) return entry === null ? NOT_FOUND : MISS;
    // The in-memory map matched this exact string, so no constant-time compare is needed (and its
    // two Buffers per request are measurable): this only refuses an entry the store matched loosely
    // (a collation) and loadFacts cached under the presented hash. loadFacts keeps the constant-time check.
    if (entry.hash !== hash) return NOT_FOUND;
    const token = this.cache.peekToken(entry.tokenId);
    if (token === MISS || token === null) return token === null ? NOT_FOUND : MISS;
    const owner = this.cache.peekUser(token.facts.ownerId);
    if (owner === MISS || owner === null) return owner === null ? NOT_FOUND : MISS;
    const impersonated = token.facts.impersonateUserId ? this.cache.peekUser(token.facts.impersonateUserId) : null;
    if (impersonated === MISS) return MISS;
    const home = token.facts.resourceId === null ? NOWHERE : this.cache.peekAncestry(token.facts.resourceId);
    if (home === MISS) return MISS;
    const target = q.resourceId === undefined ? undefined : this.cache.peekAncestry(q.resourceId);
    if (target === MISS) return MISS;
    return { entry, token, owner, impersonated, home, target };
  }

  /** The facts about a key, loading what the cache lacks. */
  private async loadFacts(hash: string, q: KeyQuestion): Promise<KeyFacts> {
    const entry = await this.cache.key(hash);
    // The index found the entry by equality; the match is confirmed in constant time, so no
    // store's comparison (collation, early exit) decides whether a key is accepted.
    if (!entry || !hashesEqual(entry.hash, hash)) return NOT_FOUND;
    const token = await this.cache.token(entry.tokenId);
    if (!token) return NOT_FOUND;
    const owner = await this.cache.user(token.facts.ownerId);
    if (!owner) return NOT_FOUND;
    const impersonated = token.facts.impersonateUserId ? await this.cache.user(token.facts.impersonateUserId) : null;
    const home = token.facts.resourceId === null ? NOWHERE : await this.cache.ancestry(token.facts.resourceId);
    if (!home) return NOT_FOUND;
    const target = q.resourceId === undefined ? undefined : await this.cache.ancestry(q.resourceId);
    return { entry, token, owner, impersonated, home, target };
  }

  private judge(f: KeyFacts, q: KeyQuestion): KeyVerdict {
    if ('code' in f) return f;
    const { token, owner, impersonated, home, target } = f;
    const nowMs = this.nowMs();
    // Authentication asks the same question of the same key on every request. Its inputs are
    // cached objects that are replaced, never changed, when anything about them changes, so a
    // VALID answer can be reused while they are the very same objects and nothing has expired.
    const plain = target === undefined && q.permission === undefined;
    if (plain) {
      const hit = this.verdicts.get(token.facts);
      if (
        hit &&
        hit.owner === owner &&
        hit.impersonated === impersonated &&
        hit.home === home &&
        hit.entry === f.entry &&
        hit.apiGroup === q.apiGroup &&
        nowMs < hit.validUntil
      ) {
        return hit.verdict;
      }
    }
    const decision = decideToken({
      model: this.model,
      token: token.facts,
      owner,
      impersonated,
      keyExpiresAt: f.entry.expiresAt,
      home,
      target: target ?? undefined,
      permission: q.permission,
      apiGroup: q.apiGroup,
      now: new Date(nowMs),
    });
    const valid = decision.code === 'VALID' && target === undefined;
    const principal: Principal = {
      kind: 'token',
      token: token.facts,
      name: token.row.name,
      owner,
      impersonated,
      home,
      // What it may do at home, for /me and the verify caller's check; decided once.
      homePermissions: valid ? new Set(decision.permissions) : null,
      fullRights: holdsEverything(this.model, token.facts.permissions),
    };
    // A resource that does not exist is outside every token's reach, a system token's too.
    if (target === null && (decision.code === 'VALID' || decision.code === 'INSUFFICIENT_PERMISSIONS')) {
      return { code: 'OUT_OF_SCOPE', permissions: [], token, principal };
    }
    const verdict: KeyVerdict = { code: decision.code, permissions: decision.permissions, token, principal };
    if (plain && valid) {
      const validUntil = Math.min(expiryMs(token.facts.expiresAt), expiryMs(f.entry.expiresAt));
      this.verdicts.set(token.facts, {
        owner,
        impersonated,
        home,
        entry: f.entry,
        apiGroup: q.apiGroup,
        validUntil,
        verdict,
      });
    }
    return verdict;
  }

  /** What the principal may do now on the resource with this ancestry. */
  permissionsAt(principal: Principal, ancestry: Ancestry): ReadonlySet<string> {
    if (principal.kind === 'user') return userPermissionsAt(this.model, principal.user, ancestry);
    if (ancestry === principal.home && principal.homePermissions) return principal.homePermissions;
    const d = decideToken({
      model: this.model,
      token: principal.token,
      owner: principal.owner,
      impersonated: principal.impersonated,
      home: principal.home,
      target: ancestry,
      now: this.clock(),
    });
    return d.code === 'VALID' ? new Set(d.permissions) : new Set();
  }

  /** Ancestry of a resource, or NOT_FOUND. */
  async ancestryOf(resourceId: string): Promise<Ancestry> {
    return (
      (await this.cache.ancestry(resourceId)) ??
      fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.')
    );
  }

  /**
   * A resource the principal holds some right on, with what it holds there. One with no rights at
   * all is refused as if it did not exist (404), with the same answer after the same work: an id
   * that does not exist always costs a store read (nothing caches it), so one outside the reach
   * whose ancestry was cached is read once too. Without that read the refusal came measurably
   * sooner (bench/enumeration.ts), and its timing told which ids exist.
   */
  async reach(principal: Principal, resourceId: string): Promise<{ ancestry: Ancestry; held: ReadonlySet<string> }> {
    const reads = { count: 0 };
    const ancestry = await this.cache.ancestry(resourceId, reads);
    if (ancestry === null) fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.');
    const held = this.permissionsAt(principal, ancestry);
    if (held.size === 0) {
      if (reads.count === 0) await this.cache.readResource(resourceId);
      fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.');
    }
    return { ancestry, held };
  }

  /**
   * Requires `permission` on a resource. A caller with no rights there at all is told the
   * resource does not exist (404, as `reach`), so ids outside its reach reveal nothing; a caller
   * who can see it but lacks this permission gets 403.
   */
  async require(
    principal: Principal,
    resourceId: string,
    permission: string,
  ): Promise<{ ancestry: Ancestry; held: ReadonlySet<string> }> {
    const { ancestry, held } = await this.reach(principal, resourceId);
    if (!held.has(permission))
      fail('INSUFFICIENT_PERMISSIONS', `This needs the ${permission} permission on the resource.`);
    return { ancestry, held };
  }
}
