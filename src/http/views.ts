import type { Config } from '../config.js';
import { offeredExpiresIn } from '../domain/expiry.js';
import { LOGGING_MODES } from '../schemas.js';
import type { ResourceRow } from '../store/resources.js';
import type { PathStep } from '../services/resources.js';
import type { UserRow } from '../store/users.js';
import { limitSettings, type TokenView } from '../services/tokens.js';

/** Rows → the API's JSON shapes. Key material never leaves through here. */
export function userJson(u: UserRow) {
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    systemRole: u.system_role,
    active: u.active === 1,
    createdAt: u.created_at,
    updatedAt: u.updated_at,
  };
}

export function resourceJson(r: ResourceRow) {
  return {
    id: r.id,
    type: r.type,
    name: r.name,
    parentId: r.parent_id,
    externalId: r.external_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** A resource with its path (its visible ancestors, top first), where the endpoint gives one. */
export function resourceWithPathJson(r: ResourceRow, path: readonly PathStep[]) {
  return { ...resourceJson(r), path: path.map((s) => ({ id: s.id, type: s.type, name: s.name })) };
}

/** What this keygate offers, as the console needs it to build its forms: the model and the token policy. */
export function modelJson(config: Config) {
  const { model } = config;
  return {
    resourceTypes: Object.entries(model.resourceTypes).map(([name, def]) => ({ name, parents: [...def.parents] })),
    permissions: Object.entries(model.permissions).map(([name, description]) => ({ name, description })),
    // In the configured (rising) order: objects keep insertion order, but for integer-like names, which sort first.
    levels: Object.entries(model.levels).map(([name, permissions]) => ({ name, permissions: [...permissions] })),
    apiGroups: Object.entries(model.apiGroups).map(([name, description]) => ({ name, description })),
    policy: {
      expiresIn: offeredExpiresIn(config.maxTokenLifetimeMs),
      maxLifetimeDays: config.maxTokenLifetimeMs === null ? null : config.maxTokenLifetimeMs / 86_400_000,
      recoverableKeys: config.recoverableKeys,
      customKeys: { allowed: config.customKeys.allowed, minLength: config.customKeys.minLength },
      logging: [...LOGGING_MODES],
    },
  };
}

export function tokenJson(v: TokenView, now: Date = new Date()) {
  const r = v.row;
  const expired = r.expires_at !== null && r.expires_at <= now.toISOString();
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    resourceId: r.resource_id,
    ownerId: r.owner_id,
    level: r.level,
    permissions: [...v.permissions],
    apiGroups: [...v.apiGroups],
    expiresAt: r.expires_at,
    active: r.active === 1,
    deactivatedBy: r.active === 1 ? null : r.deactivated_by,
    state: r.active !== 1 ? ('inactive' as const) : expired ? ('expired' as const) : ('active' as const),
    impersonate: v.impersonate,
    logging: r.logging,
    keyPrefix: r.key_prefix,
    recoverable: v.recoverable,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    lastUsedAt: r.last_used_at,
    lastUsedIp: r.last_used_ip,
    ...limitSettings(r),
  };
}

/** A page: the items and, when the page is full, the cursor (the last id) to fetch the next one. */
export function page<T, J>(
  rows: T[],
  limit: number,
  toJson: (row: T) => J,
  idOf: (row: T) => string = (row) => (row as { id: string }).id,
) {
  const last = rows[rows.length - 1];
  return { items: rows.map(toJson), nextCursor: rows.length === limit && last !== undefined ? idOf(last) : null };
}
