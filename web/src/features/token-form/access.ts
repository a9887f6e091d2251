import { type CalendarDate, getLocalTimeZone, today } from '@internationalized/date';
import type { Model } from '../../model';

/** How much of one area (resources, members, tokens, logs…) a token may touch, as the grid shows it. */
export type Access = 'none' | 'read' | 'write';

/** One row of the permission grid: the model's permissions that mean "read" and "write" for an area. */
export interface GridArea {
  area: string;
  read?: string;
  write?: string;
}

/**
 * The rows of the compact permission grid: every area with an `area:read` or an `area:write`/`area:manage`
 * permission in the model. Permissions that fit no row (tokens:create, keys:verify…) stay in the list.
 */
export function gridAreas(permissions: readonly string[]): GridArea[] {
  const have = new Set(permissions);
  const areas: GridArea[] = [];
  for (const area of new Set(permissions.map((p) => p.split(':')[0] ?? p))) {
    const read = have.has(`${area}:read`) ? `${area}:read` : undefined;
    const write = [`${area}:write`, `${area}:manage`].find((p) => have.has(p));
    if (read || write) areas.push({ area, read, write });
  }
  return areas;
}

/** What the grid shows for an area, given the permissions picked. */
export function accessOf(row: GridArea, picked: readonly string[]): Access {
  if (row.write && picked.includes(row.write)) return 'write';
  if (row.read && picked.includes(row.read)) return 'read';
  return 'none';
}

/** The picked permissions with one area set to `access`; writing includes reading where the model has it. */
export function withAccess(row: GridArea, picked: readonly string[], access: Access): string[] {
  const rest = picked.filter((p) => p !== row.read && p !== row.write);
  if (access !== 'none' && row.read) rest.push(row.read);
  if (access === 'write' && row.write) rest.push(row.write);
  return rest;
}

export type ExpiryPreset = Model['policy']['expiresIn'][number];
/** An expiry the form offers: a preset, a date picked in the calendar, or (when editing) the current one. */
export type ExpiryChoice = ExpiryPreset | 'date' | 'keep';

const PRESET_ORDER: ExpiryPreset[] = ['30d', '90d', '1y', '2y', 'never'];

/** The expiries offered under a policy: only its presets, in order, and a date when any date fits. */
export function expiryChoices(policy: Pick<Model['policy'], 'expiresIn' | 'maxLifetimeDays'>): ExpiryChoice[] {
  const presets = PRESET_ORDER.filter((p) => policy.expiresIn.includes(p));
  return policy.maxLifetimeDays === null || policy.maxLifetimeDays >= 1 ? [...presets, 'date'] : presets;
}

/** The expiry a new token starts with: 90 days when offered, else the first preset. */
export function defaultExpiry(choices: readonly ExpiryChoice[]): ExpiryChoice {
  return choices.includes('90d') ? '90d' : (choices[0] ?? 'date');
}

/** The dates the calendar offers: from tomorrow to the last day the policy allows (none after it). */
export function dateRange(maxLifetimeDays: number | null, now = today(getLocalTimeZone())) {
  return {
    minValue: now.add({ days: 1 }),
    maxValue: maxLifetimeDays === null ? undefined : now.add({ days: maxLifetimeDays }),
  };
}

/** A picked day as the moment the token stops: the start of that day, where the user is. */
export function dateToExpiresAt(date: CalendarDate): string {
  return date.toDate(getLocalTimeZone()).toISOString();
}
