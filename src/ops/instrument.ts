import type { FastifyInstance } from 'fastify';
import { Counter, Gauge } from 'prom-client';
import { sql } from 'kysely';
import type { ClusterLink } from '../cluster/link.js';
import type { Redis } from '../cluster/redis.js';
import type { AccessCache } from '../services/access-cache.js';
import type { AccessLog } from '../services/access-log.js';
import type { EventStream } from '../services/event-stream.js';
import type { Stores } from '../store/index.js';
import type { PoolStats } from '../store/database.js';
import type { Metrics } from './metrics.js';

/** What a keygate lets /metrics read at scrape time. */
export interface Watched {
  cache: AccessCache;
  accessLog: AccessLog;
  events: EventStream;
  stores: Stores;
  redis: Redis | null;
  cluster: Pick<ClusterLink, 'status'>;
  /** PostgreSQL's pool; absent on SQLite. */
  poolStats?: (() => PoolStats) | undefined;
}

/**
 * Registers the metrics read when Prometheus scrapes rather than counted as things happen: the
 * cache's plain counters, queue depths and pool usage. Nothing here runs on the request path.
 */
export function watch(metrics: Metrics, w: Watched): void {
  const registers = [metrics.registry];
  // Read from the link when scraped, so the gauge never reads 0 (lost) for a channel nobody reported on.
  metrics.beforeScrape(() => metrics.channelConnected.set(w.cluster.status().connected ? 1 : 0));

  new Counter({
    name: 'keygate_access_cache_lookups_total',
    help: 'Access cache look-ups (keys, tokens, users) answered from memory (hit) or loaded from the database (miss).',
    labelNames: ['result'] as const,
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'hit' }, w.cache.stats.hits);
      this.inc({ result: 'miss' }, w.cache.stats.misses);
    },
  });

  new Gauge({
    name: 'keygate_access_log_queue',
    help: 'Access-log records waiting for the next batch write.',
    registers,
    collect() {
      this.set(w.accessLog.counters.queued);
    },
  });

  new Counter({
    name: 'keygate_access_log_records_total',
    help: 'Access-log records by fate: written, dropped (queue full), captures_dropped (kept without bodies), and batches that failed to write (failed_writes, retried).',
    labelNames: ['result'] as const,
    registers,
    collect() {
      const c = w.accessLog.counters;
      this.reset();
      this.inc({ result: 'written' }, c.written);
      this.inc({ result: 'dropped' }, c.droppedRecords);
      this.inc({ result: 'captures_dropped' }, c.droppedCaptures);
      this.inc({ result: 'failed_writes' }, c.failedWrites);
    },
  });

  new Gauge({
    name: 'keygate_event_stream_subscribers',
    help: 'Open GET /events streams on this instance.',
    registers,
    collect() {
      this.set(w.events.subscribers);
    },
  });

  new Gauge({
    name: 'keygate_webhook_outbox_pending',
    help: 'Webhook deliveries waiting in the outbox (shared by every instance: the same figure on each).',
    registers,
    async collect() {
      try {
        const { rows } = await sql<{ n: number | string }>`
          select count(*) as n from webhook_deliveries where status = 'pending'`.execute(w.stores.db);
        this.set(Number(rows[0]?.n ?? 0));
      } catch {
        // The database is down: /ready says so; the scrape still answers with everything else.
        this.reset();
      }
    },
  });

  if (w.redis) {
    const redis = w.redis;
    new Gauge({
      name: 'keygate_redis_connected',
      help: 'Whether the Redis connection is up (1) or not (0).',
      registers,
      collect() {
        this.set(redis.status === 'ready' ? 1 : 0);
      },
    });
  }

  const poolStats = w.poolStats;
  if (poolStats) {
    new Gauge({
      name: 'keygate_db_pool_connections',
      help: 'PostgreSQL pool connections: total open, idle among them, and the most the pool opens (max).',
      labelNames: ['state'] as const,
      registers,
      collect() {
        const p = poolStats();
        this.set({ state: 'total' }, p.total);
        this.set({ state: 'idle' }, p.idle);
        this.set({ state: 'max' }, p.max);
      },
    });
    new Gauge({
      name: 'keygate_db_pool_waiting',
      help: 'Queries waiting for a PostgreSQL pool connection (all are busy).',
      registers,
      collect() {
        this.set(poolStats().waiting);
      },
    });
  }
}

/**
 * Counts and times every finished request of an app. `route` is the matched route pattern: the
 * URL would make every id a label value. The gateway names the row of its route table instead.
 */
export function installHttpMetrics(app: FastifyInstance, metrics: Metrics, server: 'api' | 'gateway'): void {
  app.addHook('onResponse', (request, reply, done) => {
    const route =
      server === 'gateway'
        ? (request.auth?.route ?? 'unmatched')
        : request.is404
          ? 'unmatched'
          : request.routeOptions.url;
    metrics.requestDone(server, request.method, route ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
