import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Database } from '../store/schema.js';
import { type Channel, type ChannelEvents, reconnectDelay } from './channel.js';

/** The PostgreSQL channel name for one keygate database (schemas on one server stay apart). */
export function pgChannelName(schema: string | undefined): string {
  return schema ? `keygate_changes.${schema}` : 'keygate_changes';
}

/**
 * Sends messages inside the committing transaction: PostgreSQL delivers a NOTIFY if and only if
 * its transaction commits, so no committed change can go unannounced (a crash right after the
 * commit included) and no rolled-back one is announced.
 */
export async function notifyInTransaction(trx: Kysely<Database>, channel: string, messages: string[]): Promise<void> {
  for (const message of messages) await sql`SELECT pg_notify(${channel}, ${message})`.execute(trx);
}

/**
 * Listens on one dedicated connection (LISTEN cannot share a pooled one). A loss is noticed at
 * once when the server ends the connection (pg_terminate_backend, a restart) and otherwise by a
 * `SELECT 1` every `heartbeatMs` that must answer within as long; it then reconnects with
 * back-off until it is listening again.
 */
export class PgChannel implements Channel {
  private client: pg.Client | null = null;
  /** Bumped per connection attempt, so events of an abandoned connection are ignored. */
  private generation = 0;
  private attempt = 0;
  private listening = false;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: { url: string; channel: string; heartbeatMs: number; applicationName: string },
    private readonly events: ChannelEvents,
  ) {}

  start(): Promise<void> {
    return this.connect();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const generation = ++this.generation;
    const client = new pg.Client({
      connectionString: this.options.url,
      // Named, so operators (and tests) can find the listening connections.
      application_name: this.options.applicationName,
      keepAlive: true,
      connectionTimeoutMillis: Math.max(1_000, this.options.heartbeatMs * 2),
    });
    this.client = client;
    const lost = (err: Error) => this.lost(generation, err);
    client.on('error', lost);
    client.on('end', () => lost(new Error('the listening connection ended')));
    client.on('notification', (n) => {
      if (generation === this.generation && n.channel === this.options.channel && n.payload)
        this.events.message(n.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.options.channel)}`);
    } catch (err) {
      lost(err as Error);
      return;
    }
    if (generation !== this.generation || this.closed) return;
    this.attempt = 0;
    this.listening = true;
    this.heartbeat = setInterval(() => this.beat(generation, client), this.options.heartbeatMs);
    this.heartbeat.unref();
    this.events.up();
  }

  /** One end-to-end check of the connection; no answer within the interval counts as lost. */
  private beat(generation: number, client: pg.Client): void {
    const timeout = setTimeout(
      () => this.lost(generation, new Error('the listening connection stopped answering')),
      this.options.heartbeatMs,
    );
    client.query('SELECT 1').then(
      () => clearTimeout(timeout),
      (err: Error) => {
        clearTimeout(timeout);
        this.lost(generation, err);
      },
    );
  }

  private lost(generation: number, err: Error): void {
    if (generation !== this.generation || this.closed) return;
    // Later events of this connection are ignored from here on.
    this.generation++;
    clearInterval(this.heartbeat);
    const client = this.client;
    this.client = null;
    client?.end().catch(() => {});
    if (this.listening) {
      this.listening = false;
      this.events.down(err);
    }
    this.retry = setTimeout(() => void this.connect(), reconnectDelay(this.attempt++));
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }
}
