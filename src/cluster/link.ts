import type { ClusterConfig } from '../config.js';
import { randomBase62 } from '../domain/keys.js';
import type { Metrics } from '../ops/metrics.js';
import type { AccessCache } from '../services/access-cache.js';
import type { ChangeFeed } from '../services/change-feed.js';
import type { Channel, ChannelEvents } from './channel.js';
import { decodeMessage, encodeMessages } from './message.js';
import { notifyInTransaction, PgChannel, pgChannelName } from './pg-channel.js';
import { RecurringProblem } from '../ops/recurring.js';
import { RedisChannel, redisChannelName } from './redis-channel.js';
import type { Redis } from './redis.js';

/** What /ready and /metrics are told about the change channel. */
export interface ChannelStatus {
  channel: ClusterConfig['channel'];
  /** False while the channel is lost (or not yet connected): caches then use the fallback TTL. Always true for `none`. */
  connected: boolean;
}

export interface ClusterLinkDeps {
  feed: ChangeFeed;
  cache: AccessCache;
  metrics: Metrics;
  /** The cache TTL while the channel is up. */
  ttlMs: number;
  databaseUrl: string | undefined;
  /** The PostgreSQL schema, so keygates on one server (or one Redis) but different schemas stay apart. */
  schema: string | undefined;
  redisUrl: string | undefined;
  /** The shared Redis connection, used to publish. */
  redis: Redis | null;
  onError: (err: unknown) => void;
  /** Only for tests: replaces the PostgreSQL or Redis channel. */
  openChannel?: (events: ChannelEvents) => Channel;
}

/**
 * Connects this instance's change feed to every other instance's. Changes committed here go out
 * on the channel (PostgreSQL NOTIFY inside the committing transaction, or Redis PUBLISH right
 * after the commit); changes heard from others are published on the local feed, so the access
 * cache, the gateway's target cache and the SDK event stream drop what they make stale.
 *
 * The guarantee: no cached answer is older than the fallback TTL unless the channel was up for
 * its whole life. While the channel is down (and before it first connects) the cache TTL is the
 * fallback TTL; when it comes back every cache is dropped, since what was committed meanwhile is
 * unknown. The event stream ends its subscribers while it is down, so SDK caches shorten too.
 */
export class ClusterLink {
  /** This process's id on the channel: it ignores its own messages (it applied them at commit). */
  readonly origin = randomBase62(12);
  private connected: boolean;
  private everConnected = false;
  private channel: Channel | null = null;
  private readonly stops: (() => void)[] = [];
  /** Failed publishes during one Redis outage are reported once, then counted. */
  private readonly publishFailures: RecurringProblem;
  /** Publishes to Redis still under way, waited for on close (a CLI command's change must get out before it exits). */
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly config: ClusterConfig,
    private readonly deps: ClusterLinkDeps,
  ) {
    this.connected = config.channel === 'none';
    this.publishFailures = new RecurringProblem('change channel: publishing to Redis failed', deps.onError);
  }

  status(): ChannelStatus {
    return { channel: this.config.channel, connected: this.connected };
  }

  /** Starts listening; resolves after the first attempt, connected or not (it keeps trying). */
  async start(): Promise<void> {
    const { config, deps } = this;
    if (config.channel === 'none') return;
    deps.cache.setTtl(Math.min(config.fallbackTtlMs, deps.ttlMs));
    // Until the channel is first up, nothing may look as fresh as it would with it (the SDK event stream included).
    deps.feed.channel('lost');
    const events = {
      message: (text: string) => this.heard(text),
      up: () => this.up(),
      down: (err: Error) => this.down(err),
    };
    const options = { heartbeatMs: config.heartbeatMs };
    if (config.channel === 'postgres') {
      const name = pgChannelName(deps.schema);
      const applicationName = deps.schema ? `keygate:listen:${deps.schema}` : 'keygate:listen';
      this.channel =
        deps.openChannel?.(events) ??
        new PgChannel({ ...options, url: deps.databaseUrl!, channel: name, applicationName }, events);
      deps.feed.beforeCommit = (trx, changes) =>
        notifyInTransaction(trx, name, encodeMessages(this.origin, Date.now(), changes));
      this.stops.push(() => {
        deps.feed.beforeCommit = undefined;
      });
    } else {
      const name = redisChannelName(deps.schema);
      this.channel =
        deps.openChannel?.(events) ?? new RedisChannel({ ...options, url: deps.redisUrl!, channel: name }, events);
      this.stops.push(
        deps.feed.onLocal((changes) => this.publishToRedis(name, encodeMessages(this.origin, Date.now(), changes))),
      );
    }
    await this.channel.start();
  }

  /**
   * Redis cannot publish inside the database transaction, so this runs after the commit; a
   * message that fails is retried briefly, then reported (the others are then bounded by their TTL).
   */
  private publishToRedis(channel: string, messages: string[]): void {
    const redis = this.deps.redis;
    if (!redis) return;
    const send = async () => {
      for (const message of messages) {
        for (let attempt = 0; ; attempt++) {
          try {
            await redis.publish(channel, message);
            break;
          } catch (err) {
            if (attempt >= 3) throw err;
            await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
          }
        }
      }
    };
    const sent = send()
      .then(() => this.publishFailures.recovered())
      .catch((err: Error) => this.publishFailures.occurred(err))
      .finally(() => this.sending.delete(sent));
    this.sending.add(sent);
  }

  private heard(text: string): void {
    const message = decodeMessage(text);
    if (message === null) {
      this.deps.onError(new Error('change channel: ignored a message that is not a keygate change'));
      return;
    }
    if (message.origin === this.origin) return;
    this.deps.feed.publish(message.changes, 'remote');
    const lag = Math.max(0, Date.now() - message.at);
    this.deps.metrics.propagation.observe(lag / 1000);
  }

  private up(): void {
    const { cache, feed, ttlMs } = this.deps;
    // Whatever was committed while nobody listened is unknown: forget it all, then trust the channel.
    cache.clear();
    cache.setTtl(ttlMs);
    this.connected = true;
    this.everConnected = true;
    feed.channel('restored');
  }

  private down(err: Error): void {
    const { cache, feed, metrics, ttlMs } = this.deps;
    const config = this.config;
    cache.setTtl(Math.min(config.fallbackTtlMs, ttlMs));
    this.connected = false;
    if (this.everConnected) metrics.channelLosses.inc();
    feed.channel('lost');
    this.deps.onError(
      new Error(
        `change channel lost (${config.channel}): ${err.message}; caches use a ${config.fallbackTtlMs} ms TTL until it is back`,
      ),
    );
  }

  async close(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    await Promise.all(this.sending);
    await this.channel?.close();
  }
}
