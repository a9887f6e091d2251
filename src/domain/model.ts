/**
 * The access model: which resource types exist and where they may sit, which permissions exist,
 * what each level (role) bundles, and which API groups exist. The defaults follow the source pages
 * (Madaster's account > folder > building | database, and its reader/manager/administrator levels);
 * operators extend them from the configuration file.
 */
export interface ResourceTypeDef {
  /** Types this type may sit under; `null` in the list means "may be a root". */
  parents: (string | null)[];
}

export interface AccessModel {
  resourceTypes: Record<string, ResourceTypeDef>;
  permissions: Record<string, string>;
  /** Levels in rising order of power; each bundles permissions. Roles on resources use the same names. */
  levels: Record<string, string[]>;
  /** API groups a token may be limited to; `native` always means every endpoint. */
  apiGroups: Record<string, string>;
}

export const NATIVE_API_GROUP = 'native';

const READER = ['resources:read', 'members:read', 'tokens:create'];
const MANAGER = [...READER, 'resources:write', 'tokens:read', 'logs:read'];
const ADMINISTRATOR = [...MANAGER, 'resources:delete', 'members:manage', 'tokens:manage', 'keys:verify'];

export const DEFAULT_MODEL: AccessModel = {
  resourceTypes: {
    account: { parents: [null] },
    folder: { parents: ['account', 'folder'] },
    building: { parents: ['account', 'folder'] },
    database: { parents: ['account', 'folder'] },
  },
  permissions: {
    'resources:read': 'See the resource and everything under it.',
    'resources:write': 'Create, rename and move resources under it.',
    'resources:delete': 'Delete resources under it.',
    'members:read': 'See who has access: people and tokens.',
    'members:manage': "Give and take people's roles.",
    'tokens:create': "Create API tokens for oneself, up to one's own rights.",
    'tokens:read': 'See every token attached to the resource.',
    'tokens:manage': "Edit, activate, deactivate, roll and delete anyone's tokens on the resource.",
    'logs:read': 'Read the access log of tokens on the resource.',
    'keys:verify': 'Ask keygate whether a key is valid (POST /verify), for tokens on the resource.',
  },
  levels: { reader: READER, manager: MANAGER, administrator: ADMINISTRATOR },
  apiGroups: {
    native: "Every endpoint: full control within the token's permissions.",
    resources: 'Resources and their members.',
    tokens: 'API tokens.',
    verify: 'Key verification for other services.',
    logs: 'Access logs and audit trail.',
    webhooks: 'Webhooks for token events, their secrets and delivery logs.',
  },
};

const permissionSets = new WeakMap<AccessModel, ReadonlySet<string>>();

/** Every permission in the model, as a set (computed once per model: it is on the hot path). */
export function allPermissions(model: AccessModel): ReadonlySet<string> {
  let set = permissionSets.get(model);
  if (!set) {
    set = new Set(Object.keys(model.permissions));
    permissionSets.set(model, set);
  }
  return set;
}

/** The permissions a level bundles; empty for an unknown level. */
export function levelPermissions(model: AccessModel, level: string): readonly string[] {
  // Own keys only: a level named `toString` or `constructor` must not resolve to Object.prototype's members.
  return Object.hasOwn(model.levels, level) ? (model.levels[level] ?? []) : [];
}

/** The least level whose bundle covers all the given permissions, for showing tokens as members. */
export function levelCovering(model: AccessModel, permissions: readonly string[]): string | null {
  for (const [name, bundle] of Object.entries(model.levels)) {
    if (permissions.every((p) => bundle.includes(p))) return name;
  }
  return null;
}

/** Whether a resource of `type` may sit under a parent of `parentType` (`null` = root). */
export function mayPlace(model: AccessModel, type: string, parentType: string | null): boolean {
  const def = Object.hasOwn(model.resourceTypes, type) ? model.resourceTypes[type] : undefined;
  return def?.parents.includes(parentType) === true;
}

/** Checks a configured model for contradictions; returns a list of problems (empty when sound). */
export function modelProblems(model: AccessModel): string[] {
  const problems: string[] = [];
  const permissions = allPermissions(model);
  for (const [type, def] of Object.entries(model.resourceTypes)) {
    for (const parent of def.parents) {
      if (parent !== null && !Object.hasOwn(model.resourceTypes, parent))
        problems.push(`resource type ${type}: unknown parent type ${parent}`);
    }
  }
  if (!Object.values(model.resourceTypes).some((d) => d.parents.includes(null)))
    problems.push('no resource type may be a root');
  for (const [level, bundle] of Object.entries(model.levels)) {
    for (const p of bundle) if (!permissions.has(p)) problems.push(`level ${level}: unknown permission ${p}`);
  }
  if (!Object.hasOwn(model.apiGroups, NATIVE_API_GROUP)) problems.push('the native API group must exist');
  return problems;
}
