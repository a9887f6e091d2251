import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RequestMetrics } from './request-metrics.js';

/** Where a key was judged: API authentication, POST /verify, or the gateway. */
export type DecisionSource = 'api' | 'verify' | 'gateway';

/**
 * Every Prometheus metric keygate exports, on a registry of its own (not prom-client's global
 * one: tests run many keygates in one process). Services count into these; what is cheap to read
 * at scrape time (queue depths, pool usage, cache counters) is read by `collect` callbacks
 * instead of being counted on the hot path. Labels never carry a key, a token id or an address.
 */
export class Metrics {
  readonly registry = new Registry();

  /** Key decisions by where they were made and their outcome (`OK` or the refusal's error code). */
  readonly decisions = new Counter({
    name: 'keygate_decisions_total',
    help: 'Key decisions, by where they were made (api, verify, gateway) and outcome (OK or the error code).',
    labelNames: ['source', 'code'] as const,
    registers: [this.registry],
  });

  /** Requests refused by a limit: a token's rate limit, its credits, or the refused-key and sign-in throttles. */
  readonly limited = new Counter({
    name: 'keygate_limited_total',
    help: 'Requests refused by a limit, by kind (rate, credits, refused_keys, sign_in).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  /** Calls to the shared limit store (Redis) that failed, and what was decided instead. */
  readonly limitStoreErrors = new Counter({
    name: 'keygate_limit_store_errors_total',
    help: 'Shared limit store (Redis) calls that failed, by the decision taken (open: local counters; closed: refused).',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });

  /** Whether the change channel is connected (1) or lost (0, caches on the fallback TTL). */
  readonly channelConnected = new Gauge({
    name: 'keygate_channel_connected',
    help: 'Whether the cross-instance change channel is connected (1) or lost (0: caches use the fallback TTL).',
    registers: [this.registry],
  });

  readonly channelLosses = new Counter({
    name: 'keygate_channel_losses_total',
    help: 'Times the cross-instance change channel was lost (caches are dropped when it comes back).',
    registers: [this.registry],
  });

  /** From commit on another instance to the change being applied here. */
  readonly propagation = new Histogram({
    name: 'keygate_change_propagation_seconds',
    help: "Time from a change's commit on another instance to its caches being dropped here.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /** Finished HTTP requests, by server (api or gateway), method, route pattern and status, with their durations. */
  readonly requests = new RequestMetrics(this.registry);

  /** Decisions counted since the last scrape, by source and code: plain numbers on the hot path (see RequestMetrics). */
  private readonly pendingDecisions = new Map<
    string,
    { labels: { source: DecisionSource; code: string }; n: number }
  >();

  /**
   * Counts one key decision; `code` is the verdict (VALID is counted as OK) or the refusal's error
   * code. Added to `decisions` when scraped.
   */
  decided(source: DecisionSource, code: string): void {
    const key = `${source} ${code}`;
    let pending = this.pendingDecisions.get(key);
    if (pending === undefined) {
      pending = { labels: { source, code: code === 'VALID' ? 'OK' : code }, n: 0 };
      this.pendingDecisions.set(key, pending);
    }
    pending.n++;
  }

  /**
   * Counts the decision in a /verify answer the service has already serialised: its code is the
   * second field of every answer (`{"valid":…,"code":"…"`), read here so the route stays one line.
   */
  decidedJson<T extends string | Promise<string>>(source: DecisionSource, answer: T): T {
    const count = (json: string) => {
      const at = json.indexOf('"code":"');
      if (at >= 0) this.decided(source, json.slice(at + 8, json.indexOf('"', at + 8)));
      return json;
    };
    return (typeof answer === 'string' ? count(answer) : answer.then(count)) as T;
  }

  /** Counts one finished request; `route` is the pattern it matched, never its URL. */
  requestDone(server: 'api' | 'gateway', method: string, route: string, status: number, seconds: number): void {
    this.requests.observe(server, method, route, status, seconds);
  }

  private processMetrics = false;
  private readonly scrapeHooks: (() => void)[] = [];

  /** Runs `hook` before each scrape (to read a state into a gauge). */
  beforeScrape(hook: () => void): void {
    this.scrapeHooks.push(hook);
  }

  /**
   * The text Prometheus scrapes. Node's process metrics join at the first scrape: collecting them
   * starts an event-loop monitor and a GC observer that never stop, which a keygate nobody scrapes
   * (the CLI, each test) should not carry.
   */
  scrape(): Promise<string> {
    if (!this.processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      this.processMetrics = true;
    }
    for (const hook of this.scrapeHooks) hook();
    for (const pending of this.pendingDecisions.values())
      if (pending.n > 0) {
        this.decisions.inc(pending.labels, pending.n);
        pending.n = 0;
      }
    return this.registry.metrics();
  }
}
