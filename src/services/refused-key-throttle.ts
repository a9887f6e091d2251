import type { Limiters, SharedLimiter } from '../cluster/limiter.js';
import type { Metrics } from '../ops/metrics.js';

/**
 * The refusals that count against an address: guesses — a key that does not exist, is not even
 * shaped like one, or two different keys at once. A deactivated or expired key does not count: it
 * exists, so retrying it teaches a guesser nothing, and a service still retrying a key its owner
 * revoked must not get every other key from its address blocked.
 */
export const COUNTED_REFUSALS: ReadonlySet<string> = new Set(['KEY_INVALID', 'KEY_MALFORMED', 'AMBIGUOUS_CREDENTIALS']);

export interface RefusedKeySettings {
  /** Refused keys from one address within the window that start a block; 0 turns the throttle off. */
  limit: number;
  windowMs: number;
  /** How long a blocked address is refused. */
  blockMs: number;
}

/**
 * How long an address the shared store found unblocked is taken as unblocked here without asking
 * again: asking Redis on every request that presents a key cost a third of verify throughput. A
 * block started on another instance therefore takes effect here within this long.
 */
export const RECHECK_MS = 1_000;

/** Most blocks remembered in this process (a cache in front of the store); the oldest go first. */
const MAX_REMEMBERED = 10_000;

/**
 * Stops key guessing by address: after `limit` refused keys (COUNTED_REFUSALS) from one client
 * address within the window, every request from it that presents a key is refused (429
 * RATE_LIMITED, Retry-After) until the block ends, before the key is looked up, so a guesser
 * costs no database work. A valid key from a blocked address is refused too: the block is on the
 * address, and telling a valid key apart would be the lookup the block exists to save.
 *
 * Counted over `keygate.limiters`: in Redis, shared by every instance, when there is one; in this
 * process otherwise. Blocks seen here are also remembered here, so a blocked address costs no
 * store call either; without Redis that memory is the whole answer and `check` stays synchronous.
 */
export class RefusedKeyThrottle {
  private readonly limiter: SharedLimiter | null;
  private readonly blockedUntil = new Map<string, number>();
  /** Addresses the shared store found unblocked, until when that answer is reused. */
  private readonly clearUntil = new Map<string, number>();

  constructor(
    private readonly limiters: Limiters,
    settings: RefusedKeySettings,
    private readonly metrics?: Metrics,
    private readonly now: () => number = Date.now,
  ) {
    this.limiter =
      settings.limit > 0
        ? limiters.create({
            keyPrefix: 'keygate:refused-keys',
            // One fewer than the limit: the limit-th refusal is the one over, and it starts the block.
            points: settings.limit - 1,
            durationSec: Math.max(1, Math.ceil(settings.windowMs / 1000)),
            blockDurationSec: Math.max(1, Math.ceil(settings.blockMs / 1000)),
          })
        : null;
  }

  /** Whether the throttle is on (KEYGATE_REFUSED_KEY_LIMIT above 0). */
  get enabled(): boolean {
    return this.limiter !== null;
  }

  /**
   * Called before a presented key is looked up: 0 when it may be, else the whole seconds until the
   * address's block ends (counted in `keygate_limited_total{kind="refused_keys"}`). Synchronous
   * unless the count is shared; with Redis down and KEYGATE_REDIS_DOWN=closed it throws UNAVAILABLE.
   */
  check(address: string): number | Promise<number> {
    if (this.limiter === null) return 0;
    const remembered = this.remembered(address);
    if (remembered > 0 || !this.limiters.shared) return this.refusing(remembered);
    const clear = this.clearUntil.get(address);
    if (clear !== undefined && clear > this.now()) return 0;
    return this.limiter.peek(address).then((outcome) => {
      if (outcome === null || outcome.allowed) {
        this.clearUntil.delete(address);
        this.clearUntil.set(address, this.now() + RECHECK_MS);
        if (this.clearUntil.size > MAX_REMEMBERED)
          this.clearUntil.delete(this.clearUntil.keys().next().value as string);
        return 0;
      }
      this.remember(address, outcome.resetMs);
      return this.refusing(outcome.resetMs);
    });
  }

  /** Counts one refused key from `address`; the one that reaches the limit starts its block. */
  async refused(address: string): Promise<void> {
    if (this.limiter === null) return;
    const outcome = await this.limiter.consume(address);
    if (!outcome.allowed) this.remember(address, outcome.resetMs);
    // Closer to a block now: the next request from it asks the shared store again.
    this.clearUntil.delete(address);
  }

  /** Whether a refusal with this error code counts against the address. */
  counts(code: string): boolean {
    return this.limiter !== null && COUNTED_REFUSALS.has(code);
  }

  private refusing(ms: number): number {
    if (ms <= 0) return 0;
    this.metrics?.limited.inc({ kind: 'refused_keys' });
    return Math.max(1, Math.ceil(ms / 1000));
  }

  /** Milliseconds left of a block this process knows of, 0 when none. */
  private remembered(address: string): number {
    const until = this.blockedUntil.get(address);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) this.blockedUntil.delete(address);
    return Math.max(0, left);
  }

  private remember(address: string, ms: number): void {
    if (ms <= 0) return;
    this.blockedUntil.delete(address);
    this.blockedUntil.set(address, this.now() + ms);
    if (this.blockedUntil.size <= MAX_REMEMBERED) return;
    const now = this.now();
    for (const [a, until] of this.blockedUntil) if (until <= now) this.blockedUntil.delete(a);
    while (this.blockedUntil.size > MAX_REMEMBERED)
      this.blockedUntil.delete(this.blockedUntil.keys().next().value as string);
  }
}
