import type { TFunction } from 'i18next';
import type { Token } from '../../api/client';
import type { paths } from '../../api/schema.gen';
import type { Format } from '../../format';

type TokenPatch = NonNullable<paths['/api/v1.0/tokens/{id}']['patch']['requestBody']>['content']['application/json'];
type RateLimitBody = Exclude<TokenPatch['rateLimit'], undefined>;
type CreditsBody = Exclude<TokenPatch['credits'], undefined>;
type IpAllowlistBody = Exclude<TokenPatch['ipAllowlist'], undefined>;

/** The three limits as a request body holds them. */
export interface LimitsBody {
  rateLimit: RateLimitBody;
  credits: CreditsBody;
  ipAllowlist: IpAllowlistBody;
}

/** Units of a duration as the API writes them: 30s, 1m, 1h, 1d, 1y. */
export type DurationUnit = 's' | 'm' | 'h' | 'd' | 'y';
/** A rate limit's window: whole seconds up to a day. */
export const WINDOW_UNITS: readonly DurationUnit[] = ['s', 'm', 'h', 'd'];
/** A credit refill's interval. */
export const INTERVAL_UNITS: readonly DurationUnit[] = ['m', 'h', 'd', 'y'];

/** How the form sets a rate limit: the level's default (null), none at all, or the token's own. */
export type RateMode = 'default' | 'unlimited' | 'custom';

/** The Limits section while it is filled in; numbers stay text until sent, so a half-typed one is kept. */
export interface LimitsDraft {
  rateMode: RateMode;
  rateLimit: string;
  rateWindow: string;
  rateUnit: DurationUnit;
  ratePer: 'token' | 'owner';
  credits: boolean;
  creditsRemaining: string;
  refill: boolean;
  refillAmount: string;
  refillInterval: string;
  refillUnit: DurationUnit;
  /** One address or CIDR range a line. */
  ipAllowlist: string;
}

/** A new token's limits: none set. */
export function emptyLimits(): LimitsDraft {
  return {
    rateMode: 'default',
    rateLimit: '',
    rateWindow: '1',
    rateUnit: 'm',
    ratePer: 'token',
    credits: false,
    creditsRemaining: '',
    refill: false,
    refillAmount: '',
    refillInterval: '30',
    refillUnit: 'd',
    ipAllowlist: '',
  };
}

/** "30d" as 30 and "d"; null for anything else. */
export function parseDuration(text: string): { count: string; unit: DurationUnit } | null {
  const m = /^(\d+)(s|m|h|d|y)$/.exec(text);
  return m ? { count: m[1]!, unit: m[2] as DurationUnit } : null;
}

/** The form's limits for a token as the API shows it. */
export function limitsFromToken(token: Pick<Token, 'rateLimit' | 'credits' | 'ipAllowlist'>): LimitsDraft {
  const draft = emptyLimits();
  const rate = token.rateLimit;
  if (rate === 'unlimited') draft.rateMode = 'unlimited';
  else if (rate) {
    const window = parseDuration(rate.window) ?? { count: '1', unit: 'm' as const };
    Object.assign(draft, {
      rateMode: 'custom',
      rateLimit: String(rate.limit),
      rateWindow: window.count,
      rateUnit: window.unit,
      ratePer: rate.per ?? 'token',
    });
  }
  if (token.credits) {
    draft.credits = true;
    draft.creditsRemaining = String(token.credits.remaining);
    const refill = token.credits.refill;
    if (refill) {
      const interval = parseDuration(refill.interval) ?? { count: '30', unit: 'd' as const };
      Object.assign(draft, {
        refill: true,
        refillAmount: String(refill.amount),
        refillInterval: interval.count,
        refillUnit: interval.unit,
      });
    }
  }
  if (token.ipAllowlist?.length) draft.ipAllowlist = token.ipAllowlist.join('\n');
  return draft;
}

/** The addresses and ranges typed, one a line, blank lines left out. */
export function allowlistLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** A whole number typed in a field (what the client checks let through), else NaN for the server to refuse. */
function whole(text: string): number {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
}

/** The limits as the API takes them: null where a limit is not set. */
export function limitsBody(draft: LimitsDraft): LimitsBody {
  return {
    rateLimit:
      draft.rateMode === 'default'
        ? null
        : draft.rateMode === 'unlimited'
          ? 'unlimited'
          : {
              limit: whole(draft.rateLimit),
              window: `${whole(draft.rateWindow)}${draft.rateUnit}`,
              per: draft.ratePer,
            },
    credits: draft.credits
      ? {
          remaining: whole(draft.creditsRemaining),
          refill: draft.refill
            ? { amount: whole(draft.refillAmount), interval: `${whole(draft.refillInterval)}${draft.refillUnit}` }
            : null,
        }
      : null,
    ipAllowlist: allowlistLines(draft.ipAllowlist).length ? allowlistLines(draft.ipAllowlist) : null,
  };
}

/** A new token's limits: only those set, so a token without limits is created as before. */
export function createLimitsBody(draft: LimitsDraft): Partial<LimitsBody> {
  const body = limitsBody(draft);
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null)) as Partial<LimitsBody>;
}

/**
 * An edit's limits: only those that differ from how the token started. Sending credits unchanged
 * would set them again and restart their refill interval, so untouched limits are left out.
 */
export function changedLimitsBody(before: LimitsDraft, after: LimitsDraft): Partial<LimitsBody> {
  const was = limitsBody(before);
  const now = limitsBody(after);
  const changed: Partial<LimitsBody> = {};
  for (const key of ['rateLimit', 'credits', 'ipAllowlist'] as const)
    if (JSON.stringify(was[key]) !== JSON.stringify(now[key])) Object.assign(changed, { [key]: now[key] });
  return changed;
}

/** A client check for a count: a whole number of at least `min`. */
export function checkWhole(t: TFunction, text: string, min: number): string | null {
  const n = whole(text);
  if (text.trim() === '') return t('limits.required');
  if (Number.isNaN(n) || n < min) return t('limits.atLeast', { min });
  return null;
}

const UNIT_NAMES: Record<DurationUnit, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', y: 'year' };

/** "1 min", "30 days", "1 uur": a duration the API wrote, in the reader's language. */
export function durationText(language: string, text: string): string {
  const d = parseDuration(text);
  if (!d) return text;
  return new Intl.NumberFormat(language, { style: 'unit', unit: UNIT_NAMES[d.unit], unitDisplay: 'short' }).format(
    Number(d.count),
  );
}

/** Limits as a token shows them or a form would send them. */
export interface LimitsView {
  rateLimit: RateLimitBody;
  credits: { remaining: number; refill?: { amount: number; interval: string } | null } | null;
  ipAllowlist: string[] | null;
}

/**
 * The limits a token has, each as a short line ("100 / 1 min", "42 credits left, refills to 1,000
 * every 30 days"); an unset limit has none. `compact` drops the details, for a line in a list.
 */
export function limitLines(
  t: TFunction,
  format: Format,
  language: string,
  token: LimitsView,
  compact = false,
): { rate?: string; credits?: string; ipAllowlist?: string } {
  const lines: { rate?: string; credits?: string; ipAllowlist?: string } = {};
  const rate = token.rateLimit;
  if (rate === 'unlimited') lines.rate = t(compact ? 'limits.short.unlimited' : 'limits.show.unlimited');
  else if (rate)
    lines.rate = t(rate.per === 'owner' && !compact ? 'limits.show.ratePerOwner' : 'limits.show.rate', {
      limit: format.number(rate.limit),
      window: durationText(language, rate.window),
    });
  if (token.credits) {
    const n = { count: token.credits.remaining, n: format.number(token.credits.remaining) };
    const left = t(compact ? 'limits.short.credits' : 'limits.show.credits', n);
    const refill = token.credits.refill;
    lines.credits =
      refill && !compact
        ? t('limits.show.creditsRefill', {
            left,
            amount: format.number(refill.amount),
            interval: durationText(language, refill.interval),
          })
        : left;
  }
  if (token.ipAllowlist?.length)
    lines.ipAllowlist = t(compact ? 'limits.short.allowlist' : 'limits.show.allowlist', {
      count: token.ipAllowlist.length,
      n: format.number(token.ipAllowlist.length),
    });
  return lines;
}
