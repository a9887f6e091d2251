import { Redis } from 'ioredis';
import { type Channel, type ChannelEvents, reconnectDelay } from './channel.js';

/** The Redis pub/sub channel name for one keygate database. */
export function redisChannelName(schema: string | undefined): string {
  return schema ? `keygate:changes:${schema}` : 'keygate:changes';
}

/**
 * Subscribes on a dedicated connection (a subscribed Redis connection can do nothing else). A
 * loss is noticed when the connection closes and otherwise by a PING every `heartbeatMs` that
 * must answer within as long; ioredis reconnects, and the channel counts as up again only once
 * SUBSCRIBE has been acknowledged on the new connection.
 */
export class RedisChannel implements Channel {
  private readonly sub: Redis;
  private listening = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: { url: string; channel: string; heartbeatMs: number },
    private readonly events: ChannelEvents,
  ) {
    this.sub = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResubscribe: false,
      maxRetriesPerRequest: 1,
      connectTimeout: Math.max(1_000, options.heartbeatMs * 2),
      retryStrategy: (attempt) => reconnectDelay(attempt - 1),
    });
    this.sub.on('error', () => {});
    this.sub.on('close', () => this.lost(new Error('the subscribing connection closed')));
    this.sub.on('ready', () => void this.subscribe());
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.options.channel) this.events.message(message);
    });
  }

  async start(): Promise<void> {
    try {
      await this.sub.connect();
    } catch {
      // ioredis keeps retrying; 'ready' subscribes when it gets through.
    }
  }

  private async subscribe(): Promise<void> {
    try {
      await this.sub.subscribe(this.options.channel);
    } catch (err) {
      this.drop(err as Error);
      return;
    }
    if (this.closed || this.listening) return;
    this.listening = true;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    this.heartbeat.unref();
    this.events.up();
  }

  private beat(): void {
    const timeout = setTimeout(
      () => this.drop(new Error('the subscribing connection stopped answering')),
      this.options.heartbeatMs,
    );
    this.sub.ping().then(
      () => clearTimeout(timeout),
      (err: Error) => {
        clearTimeout(timeout);
        this.drop(err);
      },
    );
  }

  /** Counts the connection as lost and makes ioredis replace it (a silent one would never close by itself). */
  private drop(err: Error): void {
    this.lost(err);
    if (!this.closed && this.sub.status === 'ready') this.sub.disconnect(true);
  }

  private lost(err: Error): void {
    clearInterval(this.heartbeat);
    if (!this.listening || this.closed) return;
    this.listening = false;
    this.events.down(err);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.sub.disconnect();
  }
}
