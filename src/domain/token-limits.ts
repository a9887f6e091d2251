/**
 * Per-token limits, as pure rules: the effective rate limit of a token (its own, or its level's
 * default), window notation, and the IETF RateLimit header fields
 * (draft-ietf-httpapi-ratelimit-headers, structured-field form).
 */

/** A rate limit: `limit` requests per `windowMs`, counted per token or shared by all of one owner's tokens. */
export interface RateLimit {
  limit: number;
  windowMs: number;
  per: 'token' | 'owner';
}

/** How a token's rate limit is set: its own, `unlimited`, or null (its level's default). */
export type RateLimitSetting = RateLimit | 'unlimited' | null;

/** The configured defaults: per permission level, and for tokens with an explicit permission list. */
export interface RateLimitDefaults {
  levels: Record<string, RateLimit>;
  /** For tokens without a level (an explicit permission list), and levels not named. */
  default: RateLimit | null;
}

export const NO_RATE_DEFAULTS: RateLimitDefaults = Object.freeze({ levels: {}, default: null });

/** The longest window a rate limit may have: one day (longer budgets are credits). */
export const MAX_WINDOW_MS = 86_400_000;

/** Parses a window such as `30s`, `1m`, `1h`, `1d`: whole seconds, from 1 s to a day. Null when it is not one. */
export function parseWindow(text: string): number | null {
  const m = /^(\d{1,6})(s|m|h|d)$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return ms >= 1000 && ms <= MAX_WINDOW_MS ? ms : null;
}

/** Writes a window in the largest whole unit: 60000 → `1m`, 90000 → `90s`. */
export function formatWindow(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

/** The rate limit that applies: the token's own setting wins; null falls back to its level's default. */
export function effectiveRateLimit(
  setting: RateLimitSetting,
  level: string | null,
  defaults: RateLimitDefaults,
): RateLimit | null {
  if (setting === 'unlimited') return null;
  if (setting !== null) return setting;
  return (level !== null ? defaults.levels[level] : undefined) ?? defaults.default;
}

/** The numbers one consume leaves, for the header fields. */

/** `RateLimit-Policy: "token";q=100;w=60` (the policy name says what is counted: `token` or `owner`). */
export function rateLimitPolicyHeader(name: string, limit: number, windowMs: number): string {
  return `"${name}";q=${limit};w=${Math.max(1, Math.ceil(windowMs / 1000))}`;
}

/** `RateLimit: "token";r=42;t=17`: requests left and seconds until the window resets. */
export function rateLimitHeader(name: string, remaining: number, resetMs: number): string {
  return `"${name}";r=${Math.max(0, remaining)};t=${retryAfterSeconds(resetMs)}`;
}

/** Whole seconds to wait, rounded up (never 0 while a wait remains). */
export function retryAfterSeconds(resetMs: number): number {
  return Math.max(0, Math.ceil(resetMs / 1000));
}
