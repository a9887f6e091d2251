import { Redis } from 'ioredis';
import { RecurringProblem } from '../ops/recurring.js';

export type { Redis };

/**
 * Opens a Redis connection for keygate's shared state. Commands fail at once while it is not
 * connected (no offline queue, one attempt), so a Redis outage turns into a fast, decided answer
 * (fail-open or fail-closed) instead of requests hanging; it reconnects on its own, backing off to 2 s.
 * `onError` hears connection errors; the URL is never part of what it is told.
 */
export function openRedis(url: string, onError: (err: Error) => void = () => {}): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    // Keeps trying after a restart instead of giving up on the first refused connection.
    reconnectOnError: () => true,
    lazyConnect: false,
  });
  // Every reconnect attempt fails while Redis is down: the first is reported, the rest counted.
  const problem = new RecurringProblem('Redis', onError);
  redis.on('error', (err: Error) => problem.occurred(err));
  redis.on('ready', () => problem.recovered());
  return redis;
}
