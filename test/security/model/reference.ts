/**
 * The reference model of "No escalation, ever": who may do what, written from the README's
 * "What a token may do" and nothing else. It imports nothing from src/ — no policy, no model
 * config — so a mistake in keygate's own policy cannot hide by being copied here.
 *
 * Where the README leaves room, the model takes the MOST PERMISSIVE reading that still keeps its
 * promise (a token never stronger than whoever made or touches it). The test then demands only that
 * keygate is never more permissive than the model; keygate may be stricter (see STRICTER_BY_DESIGN).
 */

export type Permission =
  | 'resources:read'
  | 'members:read'
  | 'tokens:create'
  | 'resources:write'
  | 'tokens:read'
  | 'logs:read'
  | 'resources:delete'
  | 'members:manage'
  | 'tokens:manage'
  | 'keys:verify';
export type Level = 'reader' | 'manager' | 'administrator';
export type Group = 'native' | 'resources' | 'tokens' | 'verify' | 'logs' | 'webhooks';

export const LEVELS: readonly Level[] = ['reader', 'manager', 'administrator'];
export const GROUPS: readonly Group[] = ['native', 'resources', 'tokens', 'verify', 'logs', 'webhooks'];

/** The README's table: each level (and role) is a bundle, each one the previous plus more. */
export const BUNDLES: Record<Level, readonly Permission[]> = {
  reader: ['resources:read', 'members:read', 'tokens:create'],
  manager: ['resources:read', 'members:read', 'tokens:create', 'resources:write', 'tokens:read', 'logs:read'],
  administrator: [
    'resources:read',
    'members:read',
    'tokens:create',
    'resources:write',
    'tokens:read',
    'logs:read',
    'resources:delete',
    'members:manage',
    'tokens:manage',
    'keys:verify',
  ],
};
export const ALL: readonly Permission[] = BUNDLES.administrator;

/** The tree every run starts from: account A > folder F > building B, folder G under A; account X apart. Folders and buildings can move. */
export type ResourceName = 'A' | 'F' | 'B' | 'G' | 'X';
export const RESOURCES: readonly ResourceName[] = ['A', 'F', 'B', 'G', 'X'];
export const PARENT: Record<ResourceName, ResourceName | null> = { A: null, F: 'A', B: 'F', G: 'A', X: null };
export const TYPE: Record<ResourceName, string> = {
  A: 'account',
  F: 'folder',
  B: 'building',
  G: 'folder',
  X: 'account',
};

/** The people of a run: `admin` starts as a system administrator, U1–U3 as plain users. */
export type UserName = 'admin' | 'U1' | 'U2' | 'U3';
export const USERS: readonly UserName[] = ['admin', 'U1', 'U2', 'U3'];

export interface ModelUser {
  systemRole: 'admin' | 'user';
  active: boolean;
  /** Direct roles, by resource. */
  roles: Map<ResourceName, Level>;
}

/** Who switched off a token reported as leaked: nobody's user, so it holds like an administrator's deactivation. */
export const LEAK_REPORT = 'leak report';

/** Days from the start of the run; null never expires; a negative number has passed. */
export type Expiry = number | null;

export interface ModelToken {
  /** Its place in the run's list: how commands and messages name it (t0, t1, …). */
  index: number;
  owner: UserName;
  /** Attached to this resource; null for a system token. */
  home: ResourceName | null;
  perms: ReadonlySet<Permission>;
  groups: readonly Group[];
  expiry: Expiry;
  active: boolean;
  /** Who switched it off (the user the actor acted as, or a leak report); null while active. */
  deactivatedBy: UserName | typeof LEAK_REPORT | null;
  impersonate: UserName | null;
  /** Deleted, or gone with its resource. */
  gone: boolean;
}

export interface Model {
  users: Record<UserName, ModelUser>;
  /** Where each resource is now (moves change it). */
  parent: Record<ResourceName, ResourceName | null>;
  /** Resources that still exist. */
  resources: Set<ResourceName>;
  tokens: ModelToken[];
}

/** Who acts: a signed-in person (their session) or the key of one of the run's tokens. */
export type Principal = { kind: 'session'; user: UserName } | { kind: 'token'; index: number };

export function principalName(p: Principal): string {
  return p.kind === 'session' ? `${p.user} (signed in)` : `t${p.index} (key)`;
}

const EMPTY: ReadonlySet<Permission> = new Set();

/** The resource and its ancestors, itself first. */
export function ancestry(m: Model, r: ResourceName): ResourceName[] {
  const out: ResourceName[] = [];
  for (let at: ResourceName | null = r; at !== null; at = m.parent[at]) out.push(at);
  return out;
}

/** What a user may do now at a resource (null: outside the tree, where only system administrators act). */
export function userPerms(m: Model, u: UserName, at: ResourceName | null): ReadonlySet<Permission> {
  const user = m.users[u];
  if (!user.active) return EMPTY;
  if (user.systemRole === 'admin') return new Set(ALL);
  if (at === null || !m.resources.has(at)) return EMPTY;
  const out = new Set<Permission>();
  // "A role on a resource holds for everything under it."
  for (const r of ancestry(m, at)) {
    const role = user.roles.get(r);
    if (role !== undefined) for (const p of BUNDLES[role]) out.add(p);
  }
  return out;
}

/** The user a token acts as: the one it impersonates, else its owner. */
export function actingUserOf(t: ModelToken): UserName {
  return t.impersonate ?? t.owner;
}

/** Whether a token's key works at all: exists, active, unexpired, owner active (and, impersonating, still an administrator). */
export function tokenAlive(m: Model, t: ModelToken): boolean {
  if (t.gone || !t.active) return false;
  if (t.expiry !== null && t.expiry <= 0) return false;
  const owner = m.users[t.owner];
  if (!owner.active) return false;
  if (t.impersonate !== null) return owner.systemRole === 'admin' && m.users[t.impersonate].active;
  return true;
}

export function tokenOf(m: Model, p: Principal & { kind: 'token' }): ModelToken {
  const t = m.tokens[p.index];
  if (t === undefined) throw new Error(`no token t${p.index} in the model`);
  return t;
}

/** The user a principal acts as (an impersonating token is that user everywhere). */
export function actingUser(m: Model, p: Principal): UserName {
  return p.kind === 'session' ? p.user : actingUserOf(tokenOf(m, p));
}

export function principalAlive(m: Model, p: Principal): boolean {
  return p.kind === 'session' ? m.users[p.user].active : tokenAlive(m, tokenOf(m, p));
}

export function groupAllows(groups: readonly Group[], g: Group): boolean {
  return groups.includes('native') || groups.includes(g);
}

/** Whether `at` lies in the token's subtree (a system token's reach is everything). */
export function inScope(m: Model, t: ModelToken, at: ResourceName | null): boolean {
  if (t.home === null) return true;
  return at !== null && ancestry(m, at).includes(t.home);
}

/**
 * What the principal may do at `at` through an endpoint of `group`: a person's rights there; a
 * token's own permissions ∩ what the user it acts as may do there now, only in its subtree, only
 * through its API groups, only while it is alive.
 */
export function rights(m: Model, p: Principal, group: Group, at: ResourceName | null): ReadonlySet<Permission> {
  if (at !== null && !m.resources.has(at)) return EMPTY;
  if (!principalAlive(m, p)) return EMPTY;
  if (p.kind === 'session') return userPerms(m, p.user, at);
  const t = tokenOf(m, p);
  if (!groupAllows(t.groups, group) || !inScope(m, t, at)) return EMPTY;
  const held = userPerms(m, actingUserOf(t), at);
  return new Set([...t.perms].filter((x) => held.has(x)));
}

/**
 * Whether the principal acts as a system administrator: an active administrator signed in, or a
 * system token (attached to nothing) holding every permission, acting for one, called through `group`.
 */
export function isSystemAdmin(m: Model, p: Principal, group: Group): boolean {
  if (!principalAlive(m, p)) return false;
  const u = m.users[actingUser(m, p)];
  if (u.systemRole !== 'admin' || !u.active) return false;
  if (p.kind === 'session') return true;
  const t = tokenOf(m, p);
  return t.home === null && ALL.every((x) => t.perms.has(x)) && groupAllows(t.groups, group);
}

// --- resources and people ---------------------------------------------------------------------

export function mayReadResource(m: Model, p: Principal, r: ResourceName): boolean {
  return rights(m, p, 'resources', r).has('resources:read');
}

export function mayWriteResource(m: Model, p: Principal, r: ResourceName): boolean {
  return rights(m, p, 'resources', r).has('resources:write');
}

/** Only an empty resource (no child left) can be deleted, with resources:delete on it. */
export function mayDeleteResource(m: Model, p: Principal, r: ResourceName): boolean {
  const hasChild = RESOURCES.some((c) => m.parent[c] === r && m.resources.has(c));
  return !hasChild && rights(m, p, 'resources', r).has('resources:delete');
}

/** Where a type may be placed (the default model: account > folder (nestable) > building | database). */
const PLACES: Record<string, readonly string[]> = { folder: ['account', 'folder'], building: ['account', 'folder'] };

/**
 * Moving a resource under another ("resources:write on the old and the new parent; no cycles; the
 * model must allow the place"). Naming its present parent moves nothing: write there is enough.
 */
export function mayMove(m: Model, p: Principal, r: ResourceName, to: ResourceName): boolean {
  const from = m.parent[r];
  if (!m.resources.has(r) || !m.resources.has(to) || from === null) return false;
  if (!PLACES[TYPE[r]]?.includes(TYPE[to]) || ancestry(m, to).includes(r)) return false;
  const writes = (at: ResourceName) => rights(m, p, 'resources', at).has('resources:write');
  return writes(to) && writes(from);
}

/** members:manage there, and never a role holding more than the actor holds ("member set never gives more"). */
export function maySetRole(m: Model, p: Principal, r: ResourceName, role: Level): boolean {
  const held = rights(m, p, 'resources', r);
  return held.has('members:manage') && BUNDLES[role].every((x) => held.has(x));
}

export function mayRemoveRole(m: Model, p: Principal, r: ResourceName, u: UserName): boolean {
  return rights(m, p, 'resources', r).has('members:manage') && m.users[u].roles.has(r);
}

/** Activity and system roles are for administrators (users' routes are in no group but native). */
export function mayChangeUser(m: Model, p: Principal): boolean {
  return isSystemAdmin(m, p, 'native');
}

/** What a verifier is told about a key at a resource for a permission: valid or not. */
export function verifyValid(m: Model, t: ModelToken, r: ResourceName, perm: Permission): boolean {
  if (!tokenAlive(m, t) || !m.resources.has(r) || !inScope(m, t, r)) return false;
  return t.perms.has(perm) && userPerms(m, actingUserOf(t), r).has(perm);
}

// --- tokens on tokens -------------------------------------------------------------------------

/** The principal's rights at a token's resource, through the tokens API group. */
export function heldAtToken(m: Model, p: Principal, t: ModelToken): ReadonlySet<Permission> {
  return rights(m, p, 'tokens', t.home);
}

/** The user whose tokens the principal owns ("my tokens"), and who owns what it creates. */
export function ownerOf(m: Model, p: Principal): UserName {
  return actingUser(m, p);
}

/**
 * Ownership, as far as acting on a token goes: a person their own tokens; a token its user's tokens
 * inside its reach (where it holds something at all).
 */
export function owns(m: Model, p: Principal, t: ModelToken): boolean {
  if (t.gone || ownerOf(m, p) !== t.owner || !principalAlive(m, p)) return false;
  return p.kind === 'session' || heldAtToken(m, p, t).size > 0;
}

/** "Seeing a token needs only its ownership or tokens:read on its resource." */
export function maySeeToken(m: Model, p: Principal, t: ModelToken): boolean {
  if (t.gone) return false;
  const held = heldAtToken(m, p, t);
  return owns(m, p, t) || held.has('tokens:read') || held.has('tokens:manage');
}

/** A person on their own token, or a token on itself, is never refused for the token's strength. */
function exempt(p: Principal, t: ModelToken): boolean {
  return p.kind === 'session' ? t.owner === p.user : t.index === p.index;
}

/** The ways in which `t` is stronger than the principal, who holds `held` at its resource. */
export function strongerIn(m: Model, p: Principal, t: ModelToken, held: ReadonlySet<Permission>): string[] {
  const out: string[] = [];
  if ([...t.perms].some((x) => !held.has(x))) out.push('permissions');
  const own = p.kind === 'token' ? tokenOf(m, p) : null;
  if (own !== null && t.groups.some((g) => !groupAllows(own.groups, g))) out.push('apiGroups');
  const systemAdmin = isSystemAdmin(m, p, 'tokens');
  const reaches =
    own === null
      ? t.home !== null || systemAdmin
      : own.home === null || (t.home !== null && ancestry(m, t.home).includes(own.home));
  if (!reaches) out.push('scope');
  if (own !== null && own.expiry !== null && (t.expiry === null || t.expiry > own.expiry)) out.push('expiry');
  if (t.impersonate !== null && t.impersonate !== actingUser(m, p) && !systemAdmin) out.push('impersonation');
  return out;
}

/** Edit, deactivate, delete: its owner or tokens:manage there, on a token no stronger than the actor. */
export function mayManage(m: Model, p: Principal, t: ModelToken): boolean {
  if (t.gone) return false;
  const held = heldAtToken(m, p, t);
  if (!owns(m, p, t) && !held.has('tokens:manage')) return false;
  return exempt(p, t) || strongerIn(m, p, t, held).length === 0;
}

/** A deactivation by someone other than the owner holds against anyone without tokens:manage there. */
export function deactivationHolds(m: Model, p: Principal, t: ModelToken): boolean {
  return (
    !t.active && t.deactivatedBy !== null && t.deactivatedBy !== t.owner && !heldAtToken(m, p, t).has('tokens:manage')
  );
}

export function mayActivate(m: Model, p: Principal, t: ModelToken): boolean {
  return mayManage(m, p, t) && !deactivationHolds(m, p, t);
}

/** Rolling and revealing hand out a key that acts as the owner: the owner only. */
export function mayRoll(m: Model, p: Principal, t: ModelToken): boolean {
  return mayManage(m, p, t) && ownerOf(m, p) === t.owner;
}

export function mayReveal(m: Model, p: Principal, t: ModelToken): boolean {
  return mayManage(m, p, t) && ownerOf(m, p) === t.owner;
}

/**
 * The token after someone reports its key as leaked: "When it is a live key of an active token …
 * the token is deactivated", held like an administrator's deactivation.
 */
export function reportedLeaked(t: ModelToken): ModelToken {
  if (t.gone || !t.active || (t.expiry !== null && t.expiry <= 0)) return t;
  return { ...t, active: false, deactivatedBy: LEAK_REPORT };
}

/** The token after a deactivation by `p`: another's hold survives the owner switching it off again. */
export function deactivated(m: Model, p: Principal, t: ModelToken): ModelToken {
  const othersHold = !t.active && t.deactivatedBy !== null && t.deactivatedBy !== t.owner;
  return { ...t, active: false, deactivatedBy: othersHold ? t.deactivatedBy : actingUser(m, p) };
}

export interface TokenShape {
  perms?: ReadonlySet<Permission> | undefined;
  groups?: readonly Group[] | undefined;
  /** undefined: not given. */
  expiry?: Expiry | undefined;
}

/** Limits any creator or editor is held to: no permission, API group or lifetime beyond its own. */
function withinActor(m: Model, p: Principal, held: ReadonlySet<Permission>, shape: TokenShape): boolean {
  if (shape.perms !== undefined && [...shape.perms].some((x) => !held.has(x))) return false;
  if (p.kind === 'token') {
    const own = tokenOf(m, p);
    if (shape.groups?.some((g) => !groupAllows(own.groups, g))) return false;
    if (shape.expiry !== undefined && own.expiry !== null && (shape.expiry === null || shape.expiry > own.expiry))
      return false;
  }
  return true;
}

/** Editing: allowed to manage it, and the token as edited is no stronger than the editor. */
export function mayEdit(m: Model, p: Principal, t: ModelToken, shape: TokenShape, edited: ModelToken): boolean {
  if (!mayManage(m, p, t)) return false;
  const held = heldAtToken(m, p, t);
  if (!withinActor(m, p, held, shape)) return false;
  return exempt(p, t) || strongerIn(m, p, edited, held).length === 0;
}

export interface CreateSpec {
  at: ResourceName | null;
  perms: ReadonlySet<Permission>;
  /** undefined: the default (a person's: native; a token's: its own). */
  groups: readonly Group[] | undefined;
  expiry: Expiry;
  impersonate: UserName | null;
}

/**
 * Creating: tokens:create where it goes (a system token: system administrators only), holding no
 * permission, API group or lifetime beyond the creator's; impersonation for system administrators.
 */
export function mayCreate(m: Model, p: Principal, spec: CreateSpec): boolean {
  if (!principalAlive(m, p)) return false;
  if (p.kind === 'token' && !groupAllows(tokenOf(m, p).groups, 'tokens')) return false;
  const held = rights(m, p, 'tokens', spec.at);
  if (spec.at === null ? !isSystemAdmin(m, p, 'tokens') : !held.has('tokens:create')) return false;
  if (spec.impersonate !== null && !isSystemAdmin(m, p, 'tokens')) return false;
  return withinActor(m, p, held, { perms: spec.perms, groups: spec.groups, expiry: spec.expiry });
}

/** The token a successful create makes: owned by the user the creator acts as. */
export function created(m: Model, p: Principal, spec: CreateSpec): ModelToken {
  const groups = spec.groups ?? (p.kind === 'token' ? tokenOf(m, p).groups : ['native']);
  return {
    index: m.tokens.length,
    owner: ownerOf(m, p),
    home: spec.at,
    perms: spec.perms,
    groups: [...new Set(groups)].sort(),
    expiry: spec.expiry,
    active: true,
    deactivatedBy: null,
    impersonate: spec.impersonate,
    gone: false,
  };
}

/** A fresh model: the whole tree, nobody holding a role yet. */
export function initialModel(): Model {
  const users = {} as Record<UserName, ModelUser>;
  for (const u of USERS) users[u] = { systemRole: u === 'admin' ? 'admin' : 'user', active: true, roles: new Map() };
  return { users, parent: { ...PARENT }, resources: new Set(RESOURCES), tokens: [] };
}

/**
 * Where keygate may be stricter than this model, the README being silent or looser (the test
 * tallies each such step and prints it; it fails on none of them outside the exact probes):
 * - a token acting on its user's tokens (itself included) needs tokens:create where that token is,
 *   not just some right there (seen: a token with an explicit list lacking tokens:create rolling itself → 404);
 * - a member whose role holds rights the actor lacks can be neither changed nor removed by it;
 * - a token cannot delete the resource it is attached to (seen: 403 FORBIDDEN).
 * The exact probes (a key works; reading and renaming resources; /verify's valid) allow no slack.
 */
export const STRICTER_BY_DESIGN = [
  "acting on one's own token through a token needs tokens:create at it",
  'an outranking member is left alone',
  'a token does not delete its own resource',
] as const;
