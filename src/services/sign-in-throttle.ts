import type { Limiters, SharedLimiter } from '../cluster/limiter.js';

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

/**
 * One kind of back-off (accounts or addresses) over three limiters, in the manner of
 * rate-limiter-flexible's ExpressBruteFlexible: `free` counts failures up to the free allowance;
 * past it, each attempt must claim `gate`, a key that lives exactly as long as the current wait
 * (created with the wait as its window, so the first claimer sets it and the others are refused
 * until it expires, without lengthening it); `waits` counts the waits started, for the doubling.
 * Every step is one atomic store call, so parallel guesses on many instances are counted too.
 */
class SharedBackOff {
  private readonly free: SharedLimiter;
  private readonly waits: SharedLimiter;
  private readonly gate: SharedLimiter;

  constructor(
    limiters: Limiters,
    kind: string,
    private readonly backOff: BackOff,
    forgetAfterMs: number,
  ) {
    const forgetSec = Math.max(1, Math.ceil(forgetAfterMs / 1000));
    // The free-th failure is itself the first claim (it starts the first wait), as in memory.
    this.free = limiters.create({
      keyPrefix: `keygate:sign-in:${kind}:free`,
      points: Math.max(0, backOff.free - 1),
      durationSec: forgetSec,
    });
    this.waits = limiters.create({ keyPrefix: `keygate:sign-in:${kind}:waits`, points: 1e9, durationSec: forgetSec });
    this.gate = limiters.create({
      keyPrefix: `keygate:sign-in:${kind}:gate`,
      points: 1,
      durationSec: Math.max(1, Math.ceil(backOff.maxMs / 1000)),
    });
  }

  /** Milliseconds still to wait, 0 when an attempt may go ahead; counts nothing. */
  async waitMs(key: string): Promise<number> {
    // The gate exists exactly while a wait runs: whoever claimed it set its life to the wait.
    const gate = await this.gate.peek(key);
    return gate ? Math.max(1, gate.resetMs) : 0;
  }

  /** Counts one failure; 0 when it may go ahead, else the milliseconds to wait (it then counts nothing more). */
  async fail(key: string): Promise<number> {
    if ((await this.free.consume(key)).allowed) return 0;
    const started = (await this.waits.peek(key))?.consumed ?? 0;
    const waitMs = Math.min(this.backOff.maxMs, this.backOff.baseMs * 2 ** Math.min(started, 30));
    const gate = await this.gate.consume(key, 1, Math.max(1, Math.ceil(waitMs / 1000)));
    if (!gate.allowed) return Math.max(1, gate.resetMs);
    await this.waits.consume(key);
    return 0;
  }

  async forget(key: string): Promise<void> {
    await Promise.all([this.free.reset(key), this.waits.reset(key), this.gate.reset(key)]);
  }

  /** Takes back one counted failure (it turned out right), without touching a wait already started. */
  async uncount(key: string): Promise<void> {
    await this.free.consume(key, -1);
  }
}

/**
 * The throttle the server runs: the same back-off as MemorySignInThrottle over `keygate.limiters`,
 * so it is kept in Redis and shared by every instance when KEYGATE_REDIS_URL is set (in this
 * process otherwise). Differences from the memory one, all small: waits are whole seconds; a
 * counter is forgotten `forgetAfterMs` after its first failure rather than its last (the store's
 * windows are fixed); and a guess refused for the address after the account let it through still
 * uses the account's turn. `maxEntries` does not apply: the store forgets each counter on its own
 * when its window ends. While Redis is down it follows KEYGATE_REDIS_DOWN: `open` counts in this
 * process, `closed` refuses sign-ins with 503.
 */
export class SharedSignInThrottle implements SignInThrottle {
  private readonly accounts: SharedBackOff;
  private readonly addresses: SharedBackOff;

  constructor(limiters: Limiters, options: ThrottleOptions = DEFAULT_THROTTLE) {
    this.accounts = new SharedBackOff(limiters, 'account', options.account, options.forgetAfterMs);
    this.addresses = new SharedBackOff(limiters, 'address', options.address, options.forgetAfterMs);
  }

  async attempt(account: string, address: string): Promise<number> {
    // Looked at first, counting nothing: a guess refused during a wait must not lengthen it.
    const waiting = Math.max(...(await Promise.all([this.accounts.waitMs(account), this.addresses.waitMs(address)])));
    if (waiting > 0) return Math.ceil(waiting / 1000);
    const wait = Math.max(...(await Promise.all([this.accounts.fail(account), this.addresses.fail(address)])));
    return wait > 0 ? Math.ceil(wait / 1000) : 0;
  }

  async succeeded(account: string, address: string): Promise<void> {
    // A right password stays right when the store cannot hear of it (Redis down, `closed`): the
    // counts then merely stay until they are forgotten, and the store's failure is already reported.
    await Promise.all([this.accounts.forget(account), this.addresses.uncount(address)]).catch(() => {});
  }
}
