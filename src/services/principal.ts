import type { Ancestry, TokenFacts, UserFacts } from '../domain/policy.js';

/** Who is calling: a signed-in user, or an API token acting for its owner (or the user it impersonates). */
export type Principal =
  | { kind: 'user'; user: UserFacts }
  | {
      kind: 'token';
      token: TokenFacts;
      name: string;
      owner: UserFacts;
      impersonated: UserFacts | null;
      home: Ancestry;
      /** What the token may do at its own resource, when already decided for this request. */
      homePermissions?: ReadonlySet<string> | null;
      /** Whether the token holds every permission there is (an administrator-level token). */
      fullRights: boolean;
    };

/** The user whose rights a principal exercises. */
export function actingUser(p: Principal): UserFacts {
  if (p.kind === 'user') return p.user;
  const as = p.token.impersonateUserId;
  if (as === null) return p.owner;
  // An impersonating token never falls back to its owner: without the user it names, it is no one.
  return p.impersonated?.id === as ? p.impersonated : { id: as, active: false, systemRole: 'user', roles: new Map() };
}

/**
 * The user whose tokens the principal owns and sees ("my tokens"), and who owns what it creates:
 * an impersonating token is the impersonated user here too, never its owner.
 */
export function ownerId(p: Principal): string {
  return p.kind === 'user' ? p.user.id : (p.token.impersonateUserId ?? p.owner.id);
}

/**
 * Whether the principal acts with system-administrator rights: an active administrator, or a
 * system token (attached to no resource) acting for one. A token attached to a resource never
 * does, whoever owns it: its reach ends at its subtree.
 */
export function isSystemAdmin(p: Principal): boolean {
  // A token acts as a system administrator only when it is a system token (attached to no
  // resource) that holds every permission: an administrator's reader-level token stays a reader.
  if (p.kind === 'token' && (p.token.resourceId !== null || !p.fullRights)) return false;
  return actingUser(p).systemRole === 'admin' && actingUser(p).active;
}
