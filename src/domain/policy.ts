import { NATIVE_API_GROUP, allPermissions, levelPermissions, type AccessModel } from './model.js';

/**
 * The authorization policy, as plain functions over plain data: no I/O and no clock (the caller
 * passes `now`). Everything keygate decides about users and tokens is decided here.
 */

export interface UserFacts {
  id: string;
  active: boolean;
  systemRole: 'admin' | 'user';
  /** Role by resource id, for the resources the user is a member of. */
  roles: ReadonlyMap<string, string>;
}

export interface TokenFacts {
  id: string;
  active: boolean;
  /** ISO time, or null for never. */
  expiresAt: string | null;
  /** The resource the token is attached to; null for a system token (administrators only). */
  resourceId: string | null;
  /** The token's own permissions (its level already resolved to its bundle). */
  permissions: readonly string[];
  apiGroups: readonly string[];
  ownerId: string;
  impersonateUserId: string | null;
}

/** Ids of a resource and its ancestors, the resource itself first and the root last. */
export type Ancestry = readonly string[];

export type DecisionCode =
  | 'VALID'
  | 'EXPIRED'
  | 'DISABLED'
  | 'OWNER_DISABLED'
  | 'API_GROUP_NOT_ALLOWED'
  | 'OUT_OF_SCOPE'
  | 'INSUFFICIENT_PERMISSIONS';

export interface Decision {
  code: DecisionCode;
  /** What the token may do at the target (or at its own resource when no target was named). */
  permissions: readonly string[];
}

const NOTHING: ReadonlySet<string> = new Set();

/** What a user may do now on the resource whose ancestry is given (empty ancestry: nowhere in the tree). */
export function userPermissionsAt(model: AccessModel, user: UserFacts, ancestry: Ancestry): ReadonlySet<string> {
  if (!user.active) return NOTHING;
  if (user.systemRole === 'admin') return allPermissions(model);
  const out = new Set<string>();
  for (const resourceId of ancestry) {
    const role = user.roles.get(resourceId);
    if (role !== undefined) for (const p of levelPermissions(model, role)) out.add(p);
  }
  return out;
}

/** Whether a token limited to `apiGroups` may call an endpoint of `apiGroup`. */
export function apiGroupAllows(apiGroups: readonly string[], apiGroup: string): boolean {
  return apiGroups.includes(NATIVE_API_GROUP) || apiGroups.includes(apiGroup);
}

/** Whether the target lies inside the subtree of the resource a token is attached to. */
export function inScope(tokenResourceId: string | null, targetAncestry: Ancestry): boolean {
  return tokenResourceId === null || targetAncestry.includes(tokenResourceId);
}

export interface TokenQuestion {
  model: AccessModel;
  token: TokenFacts;
  owner: UserFacts;
  /** The impersonated user, when the token impersonates one. */
  impersonated?: UserFacts | null | undefined;
  /** ISO time after which the presented key stops working (a rolled key's grace period), or null. */
  keyExpiresAt?: string | null | undefined;
  /** Ancestry of the resource the request targets; omitted to ask about the token's own resource. */
  target?: Ancestry | undefined;
  /** Ancestry of the token's own resource (needed when no target is named). */
  home: Ancestry;
  permission?: string | undefined;
  apiGroup?: string | undefined;
  now: Date;
}

/**
 * May this token do `permission` on the target, through an endpoint of `apiGroup`, now?
 * Its rights are its own permissions ∩ what its owner (or the user it impersonates) may do now,
 * only inside its subtree, only through its API groups, only while it and its owner are active
 * and it is unexpired.
 */
export function decideToken(q: TokenQuestion): Decision {
  const none: readonly string[] = [];
  const nowMs = q.now.getTime();
  // An expiry that cannot be read fails closed: treated as passed, never as "no expiry".
  const passed = (iso: string | null | undefined) => {
    if (iso === null || iso === undefined) return false;
    const at = Date.parse(iso);
    return Number.isNaN(at) || at <= nowMs;
  };
  if (passed(q.keyExpiresAt)) return { code: 'EXPIRED', permissions: none };
  if (!q.token.active) return { code: 'DISABLED', permissions: none };
  if (passed(q.token.expiresAt)) return { code: 'EXPIRED', permissions: none };
  const acting = q.token.impersonateUserId ? q.impersonated : q.owner;
  if (!q.owner.active || !acting?.active || acting.id !== (q.token.impersonateUserId ?? q.owner.id)) {
    return { code: 'OWNER_DISABLED', permissions: none };
  }
  // Only administrators may impersonate; an owner who is no longer one loses the token's use.
  if (q.token.impersonateUserId && q.owner.systemRole !== 'admin') return { code: 'OWNER_DISABLED', permissions: none };
  if (q.apiGroup !== undefined && !apiGroupAllows(q.token.apiGroups, q.apiGroup)) {
    return { code: 'API_GROUP_NOT_ALLOWED', permissions: none };
  }
  const at = q.target ?? q.home;
  if (q.target !== undefined && !inScope(q.token.resourceId, q.target))
    return { code: 'OUT_OF_SCOPE', permissions: none };
  const held = userPermissionsAt(q.model, acting, at);
  const permissions = q.token.permissions.filter((p) => held.has(p));
  if (q.permission !== undefined && !permissions.includes(q.permission)) {
    return { code: 'INSUFFICIENT_PERMISSIONS', permissions };
  }
  return { code: 'VALID', permissions };
}

/**
 * The permissions a token may be given when created or edited by someone: never more than
 * that someone may do on the token's resource now (so no one escalates by minting tokens).
 * Returns the requested permissions that exceed the grantor's rights (empty when all is fine).
 */
export function escalation(requested: readonly string[], grantorHolds: ReadonlySet<string>): string[] {
  return requested.filter((p) => !grantorHolds.has(p));
}

/** Who acts on a token: the user whose rights it exercises, and the acting token when it is one. */
export interface TokenActor {
  /** The user whose rights the actor exercises: the impersonated user for an impersonating token. */
  user: UserFacts;
  /** The acting token, or null for a signed-in user. */
  token: TokenFacts | null;
  /** Whether the actor acts with system-administrator rights (and so may impersonate anyone). */
  systemAdmin: boolean;
  /** What the actor may do now at the resource of the token it acts on. */
  held: ReadonlySet<string>;
}

/** A way in which one token can reach further than whoever acts on it. */
export type Dimension = 'permissions' | 'apiGroups' | 'scope' | 'expiry' | 'impersonation';

/**
 * The dimensions in which `target` (attached where `targetHome` says) is stronger than the actor;
 * empty when the actor may act on it. Whoever can roll, reveal, re-activate or edit a token holds
 * its power, so a token stronger in any one dimension — a permission the actor does not hold there,
 * an API group it may not call, a resource outside its subtree, a later (or no) expiry, or another
 * user it acts as — stays out of reach. A signed-in user acting on their own token is never refused
 * here (its power is capped by theirs when used), nor is a token acting on itself.
 */
export function strongerThanActor(target: TokenFacts, targetHome: Ancestry, actor: TokenActor): Dimension[] {
  if (actor.token === null ? target.ownerId === actor.user.id : target.id === actor.token.id) return [];
  const out: Dimension[] = [];
  if (target.permissions.some((p) => !actor.held.has(p))) out.push('permissions');
  const own = actor.token;
  if (own !== null && target.apiGroups.some((g) => !apiGroupAllows(own.apiGroups, g))) out.push('apiGroups');
  // A person's reach in the tree is their roles (the permissions above); only a system token's
  // scope is wider than every subtree, and only system administrators reach one.
  const reaches =
    own === null
      ? target.resourceId !== null || actor.systemAdmin
      : own.resourceId === null || targetHome.includes(own.resourceId);
  if (!reaches) out.push('scope');
  if (own !== null && own.expiresAt !== null) {
    const mine = Date.parse(own.expiresAt);
    const theirs = target.expiresAt === null ? Number.POSITIVE_INFINITY : Date.parse(target.expiresAt);
    // An unreadable expiry on either side fails closed.
    if (Number.isNaN(mine) || Number.isNaN(theirs) || theirs > mine) out.push('expiry');
  }
  if (target.impersonateUserId !== null && target.impersonateUserId !== actor.user.id && !actor.systemAdmin)
    out.push('impersonation');
  return out;
}

/** Whether a token was switched off by someone other than its owner (an administrator after a leak, say). */
export function deactivatedByOther(ownerId: string, deactivatedBy: string | null): boolean {
  return deactivatedBy !== null && deactivatedBy !== ownerId;
}

/**
 * Whether a deactivation still holds against an actor holding `held` on the token's resource who
 * would re-activate it: one made by someone other than the owner is lifted only by whoever holds
 * tokens:manage there, never by the owner alone.
 */
export function deactivationHolds(ownerId: string, deactivatedBy: string | null, held: ReadonlySet<string>): boolean {
  return deactivatedByOther(ownerId, deactivatedBy) && !held.has('tokens:manage');
}
