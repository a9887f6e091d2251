/**
 * Slows password guessing: after a few failed sign-ins for one account (email) or from one client
 * address, further attempts are refused without checking the password until an exponentially
 * growing back-off passes. It only delays, never locks: the longest wait is capped, and a refused
 * attempt does not lengthen it, so an attacker cannot keep someone out for longer than that cap.
 *
 * The interface is asynchronous so that a shared store (Redis, for many instances) can replace the
 * in-process one without changing its callers.
 */
export interface SignInThrottle {
  /**
   * Called before a password is checked. `account` is compared as given: callers pass one spelling
   * (`normalizeEmail` for an address), so the throttle stays ignorant of what an account is. Returns 0 when the attempt may go ahead (it is then
   * counted as a failure until `succeeded` says otherwise, so parallel guesses are counted too),
   * or the whole seconds to wait.
   */
  attempt(account: string, address: string): Promise<number>;
  /** The attempt was right: the account's failures are forgotten, and the address's attempt uncounted. */
  succeeded(account: string, address: string): Promise<void>;
}

export interface BackOff {
  /** Failures allowed before any wait. */
  free: number;
  /** The first wait, doubled with each further failure. */
  baseMs: number;
  /** The longest wait. */
  maxMs: number;
}

export interface ThrottleOptions {
  account: BackOff;
  /** Looser than per account: many people may share an address (an office, a NAT). */
  address: BackOff;
  /** A counter left alone this long starts again from zero. */
  forgetAfterMs: number;
  /** Most counters kept per kind; the least recently touched go first. */
  maxEntries: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  account: { free: 5, baseMs: 1_000, maxMs: 60_000 },
  address: { free: 20, baseMs: 1_000, maxMs: 300_000 },
  forgetAfterMs: 15 * 60_000,
  maxEntries: 10_000,
};

interface Counter {
  failures: number;
  blockedUntil: number;
  touched: number;
}

/** One kind of counter (accounts or addresses) in a bounded map, least recently touched first. */
class Counters {
  private readonly map = new Map<string, Counter>();

  constructor(
    private readonly backOff: BackOff,
    private readonly options: ThrottleOptions,
  ) {}

  private current(key: string, now: number): Counter | undefined {
    const c = this.map.get(key);
    if (c && now - c.touched > this.options.forgetAfterMs) {
      this.map.delete(key);
      return undefined;
    }
    return c;
  }

  /** Milliseconds still to wait, 0 when an attempt may go ahead. */
  waitMs(key: string, now: number): number {
    const c = this.current(key, now);
    return c ? Math.max(0, c.blockedUntil - now) : 0;
  }

  fail(key: string, now: number): void {
    const c = this.current(key, now) ?? { failures: 0, blockedUntil: 0, touched: now };
    c.failures += 1;
    c.touched = now;
    const over = c.failures - this.backOff.free;
    if (over >= 0) c.blockedUntil = now + Math.min(this.backOff.maxMs, this.backOff.baseMs * 2 ** Math.min(over, 30));
    // Re-inserted so the map's order stays least recently touched first.
    this.map.delete(key);
    this.map.set(key, c);
    while (this.map.size > this.options.maxEntries) this.map.delete(this.map.keys().next().value as string);
  }

  forget(key: string): void {
    this.map.delete(key);
  }

  /** Takes back one counted attempt (it turned out right), without touching an existing wait. */
  uncount(key: string): void {
    const c = this.map.get(key);
    if (c && c.failures > 0) c.failures -= 1;
  }

  get size(): number {
    return this.map.size;
  }
}

/** The single-instance throttle: counters in this process's memory, bounded in size. */
export class MemorySignInThrottle implements SignInThrottle {
  private readonly accounts: Counters;
  private readonly addresses: Counters;

  constructor(
    private readonly now: () => number = Date.now,
    options: ThrottleOptions = DEFAULT_THROTTLE,
  ) {
    this.accounts = new Counters(options.account, options);
    this.addresses = new Counters(options.address, options);
  }

  async attempt(account: string, address: string): Promise<number> {
    const now = this.now();
    const wait = Math.max(this.accounts.waitMs(account, now), this.addresses.waitMs(address, now));
    if (wait > 0) return Math.ceil(wait / 1000);
    this.accounts.fail(account, now);
    this.addresses.fail(address, now);
    return 0;
  }

  async succeeded(account: string, address: string): Promise<void> {
    this.accounts.forget(account);
    this.addresses.uncount(address);
  }

  /** How many counters are held (for tests of the memory bound). */
  get size(): { accounts: number; addresses: number } {
    return { accounts: this.accounts.size, addresses: this.addresses.size };
  }
}
