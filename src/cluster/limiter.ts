import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type IRateLimiterOptions } from 'rate-limiter-flexible';
import { fail } from '../domain/errors.js';
import type { Redis } from './redis.js';

/** What one limit allows: `points` per `durationSec`, keys prefixed so limits never share counters. */
export interface LimitSpec {
  keyPrefix: string;
  points: number;
  durationSec: number;
  /** Seconds a key stays refused once over the limit (0: until the window ends). */
  blockDurationSec?: number;
}

/** The outcome of one consume: allowed or not, and the counters for the RateLimit headers. */
export interface LimitOutcome {
  allowed: boolean;
  /** Points left in the window (0 when refused). */
  remaining: number;
  /** Milliseconds until the window resets (or the block ends). */
  resetMs: number;
  limit: number;
  /** Points counted against the key in its window (above `limit` while refused or blocked). */
  consumed: number;
  /** Whether the shared store could not be reached and this answer came from the process's own counters. */
  local: boolean;
}

/** Told when the shared store fails a call: for the log line and the `keygate_limit_store_errors_total` counter. */
export type StoreDownListener = (err: Error, decision: 'open' | 'closed') => void;

/**
 * One limit, counted in Redis when the server has one (so N instances share one count) and in
 * this process otherwise. While Redis cannot be reached, `open` counts in this process instead
 * (each instance then allows the limit on its own) and `closed` refuses with 503 UNAVAILABLE.
 * Built on rate-limiter-flexible: its Redis limiter is one atomic Lua call per consume.
 */
export class SharedLimiter {
  private readonly shared: RateLimiterRedis | null;
  private readonly local: RateLimiterMemory;

  constructor(
    readonly spec: LimitSpec,
    redis: Redis | null,
    private readonly whenDown: 'open' | 'closed',
    private readonly onStoreDown: StoreDownListener = () => {},
  ) {
    const options: IRateLimiterOptions = {
      keyPrefix: spec.keyPrefix,
      points: spec.points,
      duration: spec.durationSec,
      blockDuration: spec.blockDurationSec ?? 0,
    };
    this.local = new RateLimiterMemory(options);
    this.shared = redis ? new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true }) : null;
  }

  /**
   * Counts `points` against `key`; refuses nothing itself: the caller turns a refusal into its error.
   * `durationSec`, when given, is the window of a key this call creates (an existing key keeps its own).
   */
  async consume(key: string, points = 1, durationSec?: number): Promise<LimitOutcome> {
    const options = durationSec === undefined ? {} : { customDuration: durationSec };
    if (this.shared) {
      try {
        return this.outcome(await this.shared.consume(key, points, options), true, false);
      } catch (err) {
        if (err instanceof RateLimiterRes) return this.outcome(err, false, false);
        this.onStoreDown(err as Error, this.whenDown);
        if (this.whenDown === 'closed') fail('UNAVAILABLE', 'The shared limit store cannot be reached.');
      }
    }
    try {
      return this.outcome(await this.local.consume(key, points, options), true, this.shared !== null);
    } catch (err) {
      if (err instanceof RateLimiterRes) return this.outcome(err, false, this.shared !== null);
      throw err;
    }
  }

  /** What is counted against `key`, without counting (null: nothing is); from the store `consume` would use. */
  async peek(key: string): Promise<LimitOutcome | null> {
    if (this.shared) {
      try {
        const res = await this.shared.get(key);
        return res && this.outcome(res, res.consumedPoints <= this.spec.points, false);
      } catch (err) {
        this.onStoreDown(err as Error, this.whenDown);
        if (this.whenDown === 'closed') fail('UNAVAILABLE', 'The shared limit store cannot be reached.');
      }
    }
    const res = await this.local.get(key);
    return res && this.outcome(res, res.consumedPoints <= this.spec.points, this.shared !== null);
  }

  /** Forgets `key`'s count (a right password ends the failures counted against it). */
  async reset(key: string): Promise<void> {
    await this.local.delete(key);
    if (this.shared) await this.shared.delete(key).catch((err: Error) => this.onStoreDown(err, this.whenDown));
  }

  private outcome(res: RateLimiterRes, allowed: boolean, local: boolean): LimitOutcome {
    return {
      allowed,
      remaining: Math.max(0, res.remainingPoints),
      resetMs: res.msBeforeNext,
      limit: this.spec.points,
      consumed: res.consumedPoints,
      local,
    };
  }
}

/** Makes limiters that share one Redis connection and one store-down policy. */
export class Limiters {
  constructor(
    private readonly redis: Redis | null,
    private readonly whenDown: 'open' | 'closed',
    private readonly onStoreDown: StoreDownListener = () => {},
  ) {}

  /** Whether limits are counted across instances (Redis is configured). */
  get shared(): boolean {
    return this.redis !== null;
  }

  create(spec: LimitSpec): SharedLimiter {
    return new SharedLimiter(spec, this.redis, this.whenDown, this.onStoreDown);
  }
}
