import type { Limiters, SharedLimiter } from '../cluster/limiter.js';
import { KeygateError } from '../domain/errors.js';
import { allowlistAllows, compileAllowlist, type IpAllowlist } from '../domain/ip-allowlist.js';
import {
  effectiveRateLimit,
  rateLimitHeader,
  rateLimitPolicyHeader,
  retryAfterSeconds,
  type RateLimit,
  type RateLimitDefaults,
  type RateLimitSetting,
} from '../domain/token-limits.js';
import type { Metrics } from '../ops/metrics.js';
import type { TokenRow, TokenStore } from '../store/tokens.js';
import type { CachedToken } from './access-cache.js';

/** A token's limits, read once per loaded row. */
interface TokenLimitRules {
  allowlist: IpAllowlist | null;
  rate: RateLimit | null;
  credits: boolean;
  /** The rate limit's limiter and RateLimit-Policy field, found once per token row (this is the hot path). */
  limiter?: SharedLimiter;
  policy?: string;
}

/** The refusals a limit answers with; the same codes on /verify, the gateway and the API. */
export type LimitRefusal = 'IP_NOT_ALLOWED' | 'RATE_LIMITED' | 'USAGE_EXCEEDED';

/** What checking one use of a token found: the refusal (if any), the counters, and the header fields. */
export interface LimitReport {
  refusal: LimitRefusal | null;
  message: string | undefined;
  ratelimit: { limit: number; remaining: number; resetMs: number } | null;
  credits: { remaining: number } | null;
  headers: Record<string, string>;
}

/** One use to check: where the key was presented from (undefined: not known) and what it costs in credits. */
export interface LimitQuestion {
  ip: string | undefined;
  /** Credits taken (default 1; 0 checks that some remain without taking any). */
  cost?: number | undefined;
}

/** A token's rate-limit setting as stored: null (its level's default), `unlimited` (0) or its own. */
export function rateLimitSetting(row: TokenRow): RateLimitSetting {
  if (row.rate_limit === null || row.rate_window_ms === null) return null;
  if (row.rate_limit === 0) return 'unlimited';
  return { limit: row.rate_limit, windowMs: Number(row.rate_window_ms), per: row.rate_per ?? 'token' };
}

/**
 * Per-token limits, enforced the same way by /verify, the gateway and API calls made with a key:
 * the IP allowlist first, then the rate limit (counted by the shared limiters: in Redis when there
 * is one), then credits (spent in the database by one conditional UPDATE, so exact across
 * instances). Only a key that is otherwise valid is checked, so a refused key never consumes.
 */
export class TokenLimits {
  private readonly rules = new WeakMap<TokenRow, TokenLimitRules>();
  private readonly limiters = new Map<string, SharedLimiter>();

  constructor(
    private readonly defaults: RateLimitDefaults,
    private readonly shared: Limiters,
    private readonly tokens: TokenStore,
    private readonly metrics: Metrics,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Whether a token has any limit; a token without one is judged without a promise. */
  applies(token: CachedToken): boolean {
    const r = this.rulesOf(token.row);
    return r.allowlist !== null || r.rate !== null || r.credits;
  }

  /** Whether answers about this token may be cached by verifiers (not when a limit must see every use). */
  cacheable(token: CachedToken): boolean {
    return !this.applies(token);
  }

  /** Checks one use of a token: allowlist, then rate limit, then credits. */
  async check(token: CachedToken, q: LimitQuestion): Promise<LimitReport> {
    const r = this.rulesOf(token.row);
    const report: LimitReport = { refusal: null, message: undefined, ratelimit: null, credits: null, headers: {} };
    if (r.allowlist !== null) {
      if (q.ip === undefined) {
        report.refusal = 'IP_NOT_ALLOWED';
        report.message =
          "This token has an IP allowlist: pass the client's address as `ip` to verify it (the address of whoever presented the key).";
        return report;
      }
      if (!allowlistAllows(r.allowlist, q.ip)) {
        report.refusal = 'IP_NOT_ALLOWED';
        return report;
      }
    }
    if (r.rate !== null) {
      const rate = r.rate;
      r.limiter ??= this.limiter(rate);
      r.policy ??= rateLimitPolicyHeader(rate.per, rate.limit, rate.windowMs);
      const outcome = await r.limiter.consume(
        rate.per === 'owner' ? `o:${token.facts.ownerId}` : `t:${token.facts.id}`,
      );
      report.ratelimit = { limit: outcome.limit, remaining: outcome.remaining, resetMs: outcome.resetMs };
      report.headers['ratelimit-policy'] = r.policy;
      report.headers.ratelimit = rateLimitHeader(rate.per, outcome.remaining, outcome.resetMs);
      if (!outcome.allowed) {
        const retryAfter = String(Math.max(1, retryAfterSeconds(outcome.resetMs)));
        report.headers['retry-after'] = retryAfter;
        this.metrics.limited.inc({ kind: 'rate' });
        report.refusal = 'RATE_LIMITED';
        report.message = `The API key's rate limit (${rate.limit} per ${Math.round(rate.windowMs / 1000)} s) is used up; try again in ${retryAfter} s.`;
        return report;
      }
    }
    if (r.credits) {
      const cost = q.cost ?? 1;
      const spent = await this.tokens.spendCredits(token.facts.id, cost, this.nowMs());
      if (spent === undefined) {
        // Not answered from the cached row: another instance may have spent or refilled since.
        const remaining = await this.tokens.creditsRemaining(token.facts.id);
        // The cached row was older than a change that took its credits away: nothing to count.
        if (remaining === null) return report;
        report.credits = { remaining };
        this.metrics.limited.inc({ kind: 'credits' });
        report.refusal = 'USAGE_EXCEEDED';
        report.message =
          cost > 1
            ? `The API key has fewer credits left than this call costs (${cost}).`
            : 'The API key has no credits (remaining uses) left.';
        return report;
      }
      report.credits = { remaining: spent };
    }
    return report;
  }

  /** The error a refused report is answered with (the API and the gateway). */
  static error(report: LimitReport): KeygateError {
    return new KeygateError(report.refusal!, report.message);
  }

  private rulesOf(row: TokenRow): TokenLimitRules {
    let r = this.rules.get(row);
    if (r === undefined) {
      r = {
        allowlist: row.ip_allowlist === null ? null : compileAllowlist(JSON.parse(row.ip_allowlist) as string[]),
        rate: effectiveRateLimit(rateLimitSetting(row), row.level, this.defaults),
        credits: row.credits_remaining !== null,
      };
      this.rules.set(row, r);
    }
    return r;
  }

  /** One limiter per limit and window, so tokens with the same limit share a limiter but never a count. */
  private limiter(rate: RateLimit): SharedLimiter {
    const durationSec = Math.max(1, Math.round(rate.windowMs / 1000));
    const id = `${rate.limit}:${durationSec}`;
    let limiter = this.limiters.get(id);
    if (limiter === undefined) {
      limiter = this.shared.create({
        keyPrefix: `kg_rate_${rate.limit}_${durationSec}`,
        points: rate.limit,
        durationSec,
      });
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}
