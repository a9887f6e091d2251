import { fail } from './errors.js';

/** The expiry presets the console offers, as Madaster's "expiration time" does. */
export const EXPIRES_IN = ['30d', '90d', '1y', '2y', 'never'] as const;
export type ExpiresIn = (typeof EXPIRES_IN)[number];

const DAY = 86_400_000;
const PRESET_MS: Record<Exclude<ExpiresIn, 'never'>, number> = {
  '30d': 30 * DAY,
  '90d': 90 * DAY,
  '1y': 365 * DAY,
  '2y': 730 * DAY,
};
/**
 * Longest duration parseDuration accepts (1,000 years). Larger ones made `now + duration` an invalid
 * Date (RangeError on toISOString) or a 6-digit-year ISO string that no longer sorts as text.
 */
const MAX_DURATION_MS = 1_000 * 365 * DAY;

/** Parses a lifetime such as `30d`, `12h`, `1y` into milliseconds (for policy settings and grace periods). */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,6})(s|m|h|d|y)$/.exec(text.trim());
  if (!m) return null;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: DAY, y: 365 * DAY }[m[2] as 's' | 'm' | 'h' | 'd' | 'y'];
  const ms = Number(m[1]) * unit;
  return ms <= MAX_DURATION_MS ? ms : null;
}

/**
 * Resolves the expiry a caller asked for into an absolute time (or null for never), enforcing
 * the operator's maximum lifetime. `now` is passed in so the rule stays pure and testable.
 */
export function resolveExpiry(
  input: { expiresIn?: string | undefined; expiresAt?: string | null | undefined },
  now: Date,
  maxLifetimeMs: number | null,
): Date | null {
  if (input.expiresIn !== undefined && input.expiresAt !== undefined) {
    fail('INVALID_EXPIRY', 'Give either expiresIn or expiresAt, not both.', 'expiresIn');
  }
  let at: Date | null;
  if (input.expiresAt !== undefined && input.expiresAt !== null) {
    at = new Date(input.expiresAt);
    if (Number.isNaN(at.getTime())) fail('INVALID_EXPIRY', 'expiresAt is not an ISO 8601 time.', 'expiresAt');
    if (at.getTime() <= now.getTime()) fail('INVALID_EXPIRY', 'expiresAt must be in the future.', 'expiresAt');
  } else if (input.expiresIn !== undefined && input.expiresIn !== 'never') {
    // Own keys only: `toString`, `__proto__` … must not be taken for presets.
    const ms = Object.hasOwn(PRESET_MS, input.expiresIn)
      ? PRESET_MS[input.expiresIn as Exclude<ExpiresIn, 'never'>]
      : undefined;
    if (ms === undefined) fail('INVALID_EXPIRY', `expiresIn must be one of ${EXPIRES_IN.join(', ')}.`, 'expiresIn');
    at = new Date(now.getTime() + ms);
  } else if (input.expiresIn === 'never' || input.expiresAt === null) {
    at = null;
  } else {
    // Nothing asked: the longest the policy allows, or never.
    return maxLifetimeMs === null ? null : new Date(now.getTime() + maxLifetimeMs);
  }
  if (maxLifetimeMs !== null) {
    const limit = now.getTime() + maxLifetimeMs;
    if (at === null || at.getTime() > limit) {
      fail(
        'EXPIRY_TOO_LONG',
        `This server's policy allows tokens to live until ${new Date(limit).toISOString()} at most.`,
        input.expiresAt !== undefined ? 'expiresAt' : 'expiresIn',
      );
    }
  }
  return at;
}

/**
 * The presets a token may be given under the operator's maximum lifetime (null: no maximum):
 * those no longer than it, and `never` only when there is none — the presets resolveExpiry accepts.
 */
export function offeredExpiresIn(maxLifetimeMs: number | null): ExpiresIn[] {
  return EXPIRES_IN.filter((preset) =>
    preset === 'never' ? maxLifetimeMs === null : maxLifetimeMs === null || PRESET_MS[preset] <= maxLifetimeMs,
  );
}
