import { fail } from '../domain/errors.js';
import type { AccessModel } from '../domain/model.js';
import { decideToken, userPermissionsAt, type Ancestry, type Decision } from '../domain/policy.js';
import type { AccessCache, CachedToken } from './access-cache.js';
import type { KeyRing } from './key-ring.js';
import type { Principal } from './principal.js';

export type KeyVerdict =
  | { code: 'MALFORMED' }
  | { code: 'NOT_FOUND' }
  | (Decision & { token: CachedToken; principal: Principal });

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
  constructor(
    private readonly model: AccessModel,
    private readonly cache: AccessCache,
    private readonly keys: KeyRing,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Judges a presented key: format, storage, then the policy (at `q.resourceId` when given). */
  async evaluateKey(key: string, q: KeyQuestion = {}): Promise<KeyVerdict> {
    if (this.keys.classify(key) === 'malformed') return { code: 'MALFORMED' };
    const entry = await this.cache.key(this.keys.hash(key));
    if (!entry) return { code: 'NOT_FOUND' };
    const token = await this.cache.token(entry.tokenId);
    if (!token) return { code: 'NOT_FOUND' };
    const facts = token.facts;
    const owner = await this.cache.user(facts.ownerId);
    if (!owner) return { code: 'NOT_FOUND' };
    const impersonated = facts.impersonateUserId ? await this.cache.user(facts.impersonateUserId) : null;
    const home = facts.resourceId === null ? [] : await this.cache.ancestry(facts.resourceId);
    if (!home) return { code: 'NOT_FOUND' };
    const target = q.resourceId === undefined ? undefined : await this.cache.ancestry(q.resourceId);
    const decision = decideToken({
      model: this.model,
      token: facts,
      owner,
      impersonated,
      keyExpiresAt: entry.expiresAt,
      home,
      target: target ?? undefined,
      permission: q.permission,
      apiGroup: q.apiGroup,
      now: this.clock(),
    });
    const principal: Principal = { kind: 'token', token: facts, name: token.row.name, owner, impersonated, home };
    // A resource that does not exist is outside every token's reach, a system token's too.
    if (target === null && (decision.code === 'VALID' || decision.code === 'INSUFFICIENT_PERMISSIONS')) {
      return { code: 'OUT_OF_SCOPE', permissions: [], token, principal };
    }
    return { ...decision, token, principal };
  }

  /** What the principal may do now on the resource with this ancestry. */
  permissionsAt(principal: Principal, ancestry: Ancestry): Set<string> {
    if (principal.kind === 'user') return userPermissionsAt(this.model, principal.user, ancestry);
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
    return (await this.cache.ancestry(resourceId)) ?? fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.');
  }

  /**
   * Requires `permission` on a resource. A caller with no rights there at all is told the
   * resource does not exist (404), so ids outside its reach reveal nothing; a caller who can see
   * it but lacks this permission gets 403.
   */
  async require(principal: Principal, resourceId: string, permission: string): Promise<{ ancestry: Ancestry; held: Set<string> }> {
    const ancestry = await this.ancestryOf(resourceId);
    const held = this.permissionsAt(principal, ancestry);
    if (held.size === 0) fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.');
    if (!held.has(permission)) fail('INSUFFICIENT_PERMISSIONS', `This needs the ${permission} permission on the resource.`);
    return { ancestry, held };
  }
}
