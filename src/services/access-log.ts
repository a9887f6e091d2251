import { createWriteStream, type WriteStream } from 'node:fs';
import type { AccessLogConfig } from '../config.js';
import type { AccessLogRow, AccessLogStore } from '../store/access-log.js';

export type AccessRecord = AccessLogRow;

/** Hears each batch once it is written (usage counts, first use from a new address). */
export type BatchListener = (records: readonly AccessRecord[]) => Promise<void> | void;

/** What the access log has done since the process started; nothing is dropped without being counted here. */
export interface AccessLogCounters {
  /** Records written to the database. */
  written: number;
  /** Records waiting for the next batch. */
  queued: number;
  /** Records kept without their captured headers and bodies because the queue was long. */
  droppedCaptures: number;
  /** Records lost because the queue was full (the database could not keep up or was down). */
  droppedRecords: number;
  /** Batches the database refused; their records stay queued and are tried again. */
  failedWrites: number;
}

/**
 * Records requests off the request path: `push` only queues; every `flushMs` the queue is written
 * in one transaction, then told to batch listeners and the optional NDJSON sink. When the queue
 * grows past `queueLimit` new records lose their captured bodies first; past twice that they are
 * dropped. Both are counted, never silent.
 */
export class AccessLog {
  private queue: AccessRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** The listeners' work on the last written batch, which runs beside the next batch's write. */
  private listening: Promise<void> = Promise.resolve();
  private readonly listeners: BatchListener[] = [];
  private readonly sink: WriteStream | NodeJS.WritableStream | undefined;
  private readonly counts: Omit<AccessLogCounters, 'queued'> = {
    written: 0,
    droppedCaptures: 0,
    droppedRecords: 0,
    failedWrites: 0,
  };

  constructor(
    private readonly store: AccessLogStore,
    private readonly config: AccessLogConfig,
    private readonly onError: (err: unknown) => void,
  ) {
    if (config.sink === 'stdout') this.sink = process.stdout;
    else if (config.sink) {
      const file = createWriteStream(config.sink, { flags: 'a' });
      file.on('error', onError);
      this.sink = file;
    }
  }

  /** A snapshot of what the writer has done, with what waits now. */
  get counters(): AccessLogCounters {
    return { ...this.counts, queued: this.queue.length };
  }

  /** Queues one record; cheap enough for every request. */
  push(record: AccessRecord): void {
    const length = this.queue.length;
    if (length >= this.config.queueLimit * 2) {
      this.counts.droppedRecords++;
      return;
    }
    if (length >= this.config.queueLimit && record.capture !== null) {
      record.capture = null;
      this.counts.droppedCaptures++;
    }
    this.queue.push(record);
    this.schedule();
  }

  /** Makes sure a flush is due within the batch interval. */
  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => void this.flush(), this.config.flushMs);
    this.timer.unref();
  }

  /** Adds a listener for written batches. */
  onBatch(listener: BatchListener): void {
    this.listeners.push(listener);
  }

  /**
   * Writes what is queued now; concurrent calls are serialised, and the promise settles once it is
   * written and told to the listeners.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(() => this.writeQueued());
    return this.flushing.then(() => this.listening);
  }

  private async writeQueued(): Promise<void> {
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    try {
      await this.store.insertBatch(batch);
    } catch (err) {
      this.counts.failedWrites++;
      this.onError(err);
      // Kept for the next try, oldest first, within the same bound as new records.
      const room = Math.max(0, this.config.queueLimit * 2 - this.queue.length);
      this.counts.droppedRecords += Math.max(0, batch.length - room);
      this.queue = [...batch.slice(batch.length - room), ...this.queue];
      if (this.queue.length > 0) this.schedule();
      return;
    }
    this.counts.written += batch.length;
    if (this.sink) {
      const sink = this.sink;
      const text = `${batch.map((r) => JSON.stringify(ndjsonRecord(r))).join('\n')}\n`;
      // Waited for, so a flush means the lines are handed to the file (and back-pressure holds the queue).
      await new Promise<void>((resolve) => sink.write(text, () => resolve()));
    }
    // The listeners (usage counts, first-use notices) hear this batch while the next one is written:
    // awaited in line, their own writes (usage updates wait for the token rows that edits lock) held
    // the next batch back, so a crash lost records older than the flush interval. Waiting for the
    // previous batch's listeners keeps at most one batch being heard, as back-pressure.
    const previous = this.listening;
    this.listening = previous.then(() => this.tell(batch));
    await previous;
  }

  private async tell(batch: readonly AccessRecord[]): Promise<void> {
    for (const listener of this.listeners) {
      try {
        await listener(batch);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  /** Writes what is left and closes the sink. */
  async close(): Promise<void> {
    await this.flush();
    if (this.sink && this.sink !== process.stdout) {
      const file = this.sink as WriteStream;
      await new Promise<void>((resolve) => file.end(resolve));
    }
  }
}

/** A record as shipped to log collectors and exports: ISO time, camelCase names, capture as an object. */
export function ndjsonRecord(r: AccessRecord): Record<string, unknown> {
  return {
    at: new Date(r.at).toISOString(),
    id: r.id,
    requestId: r.request_id,
    tokenId: r.token_id,
    ownerId: r.owner_id,
    resourceId: r.resource_id,
    method: r.method,
    route: r.route,
    path: r.path,
    apiVersion: r.api_version,
    status: r.status,
    durationMs: r.duration_us / 1000,
    ip: r.ip,
    userAgent: r.user_agent,
    outcome: r.outcome,
    carrier: r.carrier,
    keyPrefix: r.key_prefix,
    keyFingerprint: r.key_fingerprint,
    capture: r.capture === null ? null : (JSON.parse(r.capture) as unknown),
  };
}
