import { DAY_MS, DAYS_SHOWN, HOUR_MS, HOURS_SHOWN, bucketStart, series, summarize } from '../domain/usage.js';
import type { UsageStore } from '../store/usage.js';
import type { AccessRecord } from './access-log.js';
import type { Principal } from './principal.js';
import type { TokenService } from './tokens.js';

/** A token's last use and its counts, as GET /tokens/{id}/usage answers. Times are ISO 8601 UTC. */
export interface TokenUsageReport {
  lastUsedAt: string | null;
  lastUsedIp: string | null;
  hourly: UsageBucketView[];
  daily: UsageBucketView[];
}

export interface UsageBucketView {
  start: string;
  requests: number;
  refusals: number;
  errors: number;
}

/** How often old buckets are pruned, at most. */
const PRUNE_EVERY_MS = HOUR_MS;

/**
 * Keeps each token's usage: hears every batch the access log writes and, in one transaction, adds
 * it to the hour and day buckets and moves the tokens' last use forward. No work on the request
 * path and no scan of the log: a token's chart is read from at most 138 bucket rows.
 */
export class UsageAggregator {
  private lastPruneMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: UsageStore,
    private readonly tokens: TokenService,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /**
   * Adds one written batch of access-log records (it listens to the access log); prunes old buckets
   * now and then. A failure goes to the access log's error handler: the batch's counts are lost, its rows are not.
   */
  async add(records: readonly AccessRecord[]): Promise<void> {
    const { deltas, lastUses } = summarize(records);
    await this.store.apply(deltas, lastUses);
    const now = this.nowMs();
    if (now - this.lastPruneMs >= PRUNE_EVERY_MS) {
      this.lastPruneMs = now;
      await this.store.prune(
        bucketStart(now, 'hour') - HOURS_SHOWN * HOUR_MS,
        bucketStart(now, 'day') - DAYS_SHOWN * DAY_MS,
      );
    }
  }

  /** A token's usage, to whoever may see the token: 48 hourly and 90 daily buckets, oldest first, zeros filled. */
  async forToken(p: Principal, tokenId: string): Promise<TokenUsageReport> {
    const { row } = await this.tokens.get(p, tokenId);
    const now = this.nowMs();
    const hourFrom = bucketStart(now, 'hour') - (HOURS_SHOWN - 1) * HOUR_MS;
    const dayFrom = bucketStart(now, 'day') - (DAYS_SHOWN - 1) * DAY_MS;
    const [hours, days] = await Promise.all([
      this.store.buckets(tokenId, 'hour', hourFrom),
      this.store.buckets(tokenId, 'day', dayFrom),
    ]);
    const view = (b: { start: number; requests: number; refusals: number; errors: number }) => ({
      ...b,
      start: new Date(b.start).toISOString(),
    });
    return {
      lastUsedAt: row.last_used_at,
      lastUsedIp: row.last_used_ip,
      hourly: series(hours, 'hour', HOURS_SHOWN, now).map(view),
      daily: series(days, 'day', DAYS_SHOWN, now).map(view),
    };
  }
}
