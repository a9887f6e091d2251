import type { Config } from './config.js';
import { migrateToLatest, openDatabase, ping, type Dialect } from './store/database.js';
import { createStores, type Stores } from './store/index.js';
import { Access } from './services/access.js';
import { AccessCache } from './services/access-cache.js';
import { AccessLog } from './services/access-log.js';
import { AuditTrail } from './services/audit.js';
import { ChangeFeed } from './services/change-feed.js';
import { KeyRing } from './services/key-ring.js';
import { LogReading } from './services/log-reading.js';
import { LogRetention } from './services/log-retention.js';
import { ResourceService } from './services/resources.js';
import { TokenService } from './services/tokens.js';
import { UsageAggregator } from './services/usage.js';
import { UsageStore } from './store/usage.js';
import { UserService, type PasswordHashing } from './services/users.js';
import { VerifyService } from './services/verify.js';
import { Notifications } from './services/notifications.js';
import { WebhookService } from './services/webhooks.js';
import { EventStream } from './services/event-stream.js';
import { openRedis, type Redis } from './cluster/redis.js';
import { Limiters } from './cluster/limiter.js';
import { ClusterLink } from './cluster/link.js';
import { Metrics } from './ops/metrics.js';
import { RecurringProblem } from './ops/recurring.js';
import { TokenLimits } from './services/token-limits.js';
import { RefusedKeyThrottle } from './services/refused-key-throttle.js';
import { watch } from './ops/instrument.js';
import { LeakService } from './services/leaks.js';

/** Everything a running keygate is made of, wired once. HTTP, CLI and tests all start here. */
export interface Keygate {
  config: Config;
  dialect: Dialect;
  stores: Stores;
  /** Every committed change, for whatever keeps a copy (the access cache; later other instances and SDKs). */
  feed: ChangeFeed;
  keys: KeyRing;
  cache: AccessCache;
  access: Access;
  /** Key verification for other services (the verify route, CLI, console and gateway). */
  verify: VerifyService;
  audit: AuditTrail;
  users: UserService;
  resources: ResourceService;
  tokens: TokenService;
  /** Per-token usage counts, summed from the access log's batches. */
  usage: UsageAggregator;
  /** Requests that presented a key, queued and written in batches. */
  accessLog: AccessLog;
  /** Reading and exporting the access log and audit trail, within each caller's reach. */
  logs: LogReading;
  /** Prunes the access log on a timer (and keeps PostgreSQL's daily partitions). */
  retention: LogRetention;
  /** Token events for webhooks: the outbox, its delivery worker and the expiry scanner. */
  notifications: Notifications;
  webhooks: WebhookService;
  /** Live change events for SDK caches (GET /events), each verifier hearing only what it may learn. */
  events: EventStream;
  /** Redis, when KEYGATE_REDIS_URL is set: the change channel and shared limits use it. */
  redis: Redis | null;
  /** Makes rate limits and throttles, counted in Redis when there is one, in process otherwise. */
  limiters: Limiters;
  /** This instance's link to the others: the change channel and its state. */
  cluster: ClusterLink;
  metrics: Metrics;
  /** Per-token rate limits, credits and IP allowlists, for /verify, the gateway and API calls with a key. */
  limits: TokenLimits;
  /** Blocks an address after too many refused keys (the API, the gateway and verify check it before a lookup). */
  refusedKeys: RefusedKeyThrottle;
  /** Leaked keys reported by anyone (POST /revoke) or by GitHub's secret scanning: their tokens are switched off. */
  leaks: LeakService;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface KeygateOptions {
  /** PostgreSQL schema (tests give each instance its own). */
  pgSchema?: string | undefined;
  /** Password hashing cost; tests lower it. Defaults follow OWASP's argon2id advice (19 MiB, t=2). */
  passwordHashing?: PasswordHashing;
  onBackgroundError?: (err: unknown) => void;
  /** What every service and the cache take as now; tests inject one to pass a TTL without sleeping. */
  clock?: () => Date;
  /**
   * `background` (the server): webhook deliveries and expiry notices run on a timer. `manual`, the
   * default (CLI, tests): events are still written to the outbox, but only `notifications.runOnce`
   * sends them, so a short-lived process never waits on a slow receiver.
   */
  notifications?: 'background' | 'manual';
}

/** Opens the store, runs migrations and builds the services. */
export async function createKeygate(config: Config, options: KeygateOptions = {}): Promise<Keygate> {
  const opened = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    pgSchema: options.pgSchema ?? config.databaseSchema,
    onIdleError: options.onBackgroundError,
  });
  try {
    await migrateToLatest(opened.db);
  } catch (err) {
    await opened.close();
    throw err;
  }
  const feed = new ChangeFeed(options.onBackgroundError);
  const stores = createStores(opened.db, feed);
  const keys = new KeyRing(config);
  const clock = options.clock ?? (() => new Date());
  // Date.now itself unless a test injected a clock: the cache reads the time several times per
  // request on the hot path, and a Date allocation each time shows in profiles.
  const nowMs = options.clock ? () => options.clock!().getTime() : Date.now;
  const cache = new AccessCache(stores, config.model, config.cacheTtlMs, nowMs);
  feed.subscribe((changes) => cache.drop(changes));
  const access = new Access(config.model, cache, keys, options.clock);
  const audit = new AuditTrail(stores.audit, clock);
  const users = new UserService(
    stores,
    audit,
    options.passwordHashing ?? { memoryCost: 19_456, timeCost: 2 },
    config.sessionTtlMs,
    clock,
  );
  const resources = new ResourceService(config.model, stores, access, users, audit, clock);
  const onBackgroundError = options.onBackgroundError ?? (() => {});
  const metrics = new Metrics();
  const redis = config.redisUrl ? openRedis(config.redisUrl, onBackgroundError) : null;
  // Counted per call, reported once per outage and then every 10 s: a Redis outage fails every limited request.
  const storeDown = new RecurringProblem(
    `shared limit store (Redis) unreachable, answering ${config.redisDown === 'open' ? 'with local counts' : '503'}`,
    onBackgroundError,
  );
  redis?.on('ready', () => storeDown.recovered());
  const limiters = new Limiters(redis, config.redisDown, (err, decision) => {
    metrics.limitStoreErrors.inc({ decision });
    storeDown.occurred(err);
  });
  const cluster = new ClusterLink(config.cluster, {
    feed,
    cache,
    metrics,
    ttlMs: config.cacheTtlMs,
    databaseUrl: config.databaseUrl,
    schema: options.pgSchema ?? config.databaseSchema,
    redisUrl: config.redisUrl,
    redis,
    onError: onBackgroundError,
  });
  const limits = new TokenLimits(config.rateLimits, limiters, stores.tokens, metrics, nowMs);
  const tokens = new TokenService(
    config.model,
    stores,
    access,
    keys,
    users,
    audit,
    {
      maxLifetimeMs: config.maxTokenLifetimeMs,
      customKeys: config.customKeys,
      limited: async (tokenId) => {
        const token = await cache.token(tokenId);
        return token !== null && limits.applies(token);
      },
    },
    clock,
  );
  const accessLog = new AccessLog(stores.accessLog, config.accessLog, onBackgroundError);
  const retention = new LogRetention(stores.accessLog, opened.dialect, config.accessLog, nowMs, onBackgroundError);
  await retention.start();
  const usage = new UsageAggregator(new UsageStore(opened.db), tokens, nowMs);
  accessLog.onBatch((rows) => usage.add(rows));
  const notifications = new Notifications(config.webhooks, {
    db: stores.db,
    tokens: stores.tokens,
    ancestry: (resourceId) => cache.ancestry(resourceId),
    clock,
    onError: onBackgroundError,
  });
  feed.onAudited((rows) => notifications.onAudited(rows));
  accessLog.onBatch((rows) => notifications.onAccessBatch(rows));
  if (options.notifications === 'background') notifications.start();
  const webhooks = new WebhookService(access, notifications, config.webhooks.allowPrivate, clock);
  // Subscribed after the cache, so it reads what a batch changed after the cache has dropped it.
  const events = new EventStream(feed, stores, cache, access, onBackgroundError);
  const refusedKeys = new RefusedKeyThrottle(limiters, config.refusedKeys, metrics);
  // Last, so that every copy-keeper above already listens when the first 'restored' arrives.
  await cluster.start();
  watch(metrics, { cache, accessLog, events, stores, redis, cluster, poolStats: opened.poolStats });
  return {
    config,
    dialect: opened.dialect,
    stores,
    feed,
    keys,
    cache,
    access,
    verify: new VerifyService(config.model, access, limits, refusedKeys),
    audit,
    users,
    resources,
    tokens,
    usage,
    accessLog,
    logs: new LogReading(config.model, stores),
    retention,
    notifications,
    webhooks,
    events,
    redis,
    limiters,
    cluster,
    metrics,
    limits,
    refusedKeys,
    leaks: new LeakService(keys, stores, tokens, config.githubScanningKeys, clock),
    ping: () => ping(opened.db),
    async close() {
      await cluster.close();
      events.close();
      await retention.stop();
      // Its last batch is counted into usage before the database closes.
      await accessLog.close();
      // After the access log: its last batch may still queue new-address events.
      await notifications.stop();
      await opened.close();
      redis?.disconnect();
    },
  };
}
