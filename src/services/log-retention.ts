import type { AccessLogConfig } from '../config.js';
import type { Dialect } from '../store/database.js';
import type { AccessLogStore } from '../store/access-log.js';

const DAY_MS = 86_400_000;
/** Days of partitions made ahead of today, so new records never wait on a partition. */
const DAYS_AHEAD = 2;
const PARTITION = /^access_log_p(\d{4})(\d\d)(\d\d)$/;

/** What one run of the retention job did. */
export interface RetentionReport {
  /** PostgreSQL partitions made for today and the days ahead. */
  createdPartitions: string[];
  /** Days left in the default partition because it already held rows of them. */
  skippedPartitions: string[];
  /** PostgreSQL partitions dropped whole because all of their range was past retention. */
  droppedPartitions: string[];
  deletedRows: number;
  clearedCaptures: number;
}

/** The daily partition holding `ms`: its name and its range [fromMs, toMs) (pure). */
export function dayPartition(ms: number): { name: string; fromMs: number; toMs: number } {
  const fromMs = Math.floor(ms / DAY_MS) * DAY_MS;
  const day = new Date(fromMs).toISOString().slice(0, 10).replace(/-/g, '');
  return { name: `access_log_p${day}`, fromMs, toMs: fromMs + DAY_MS };
}

/** The range of a partition by its name, or null for a name that is not one of ours (the default partition). */
export function partitionRange(name: string): { fromMs: number; toMs: number } | null {
  const m = PARTITION.exec(name);
  if (!m) return null;
  const fromMs = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(fromMs) ? null : { fromMs, toMs: fromMs + DAY_MS };
}

/** PostgreSQL's "the default partition holds rows for this range": those days stay in the default. */
function defaultHoldsRows(err: unknown): boolean {
  return (err as { code?: string }).code === '23514';
}

/** A concurrent instance made the same partition between our check and our create. */
function alreadyExists(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === '42P07' || code === '23505';
}

/**
 * Keeps the access log within its configured age and size: deletes records past `retentionMs`,
 * clears captured bodies past `bodyRetentionMs`, keeps only the newest `maxRecords`. On
 * PostgreSQL it keeps daily partitions made ahead of time and drops whole ones past retention,
 * which costs nothing like deleting their rows.
 */
export class LogRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: AccessLogStore,
    private readonly dialect: Dialect,
    private readonly config: Pick<
      AccessLogConfig,
      'retentionMs' | 'bodyRetentionMs' | 'maxRecords' | 'pruneIntervalMs'
    >,
    private readonly nowMs: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Makes partitions for today and the days ahead (PostgreSQL; nothing on SQLite). */
  async ensurePartitions(nowMs: number): Promise<{ created: string[]; skipped: string[] }> {
    const created: string[] = [];
    const skipped: string[] = [];
    if (this.dialect !== 'postgres') return { created, skipped };
    const existing = new Set(await this.store.partitions());
    for (let day = 0; day <= DAYS_AHEAD; day++) {
      const p = dayPartition(nowMs + day * DAY_MS);
      if (existing.has(p.name)) continue;
      try {
        await this.store.createPartition(p.name, p.fromMs, p.toMs);
        created.push(p.name);
      } catch (err) {
        if (defaultHoldsRows(err)) skipped.push(p.name);
        else if (!alreadyExists(err)) throw err;
      }
    }
    return { created, skipped };
  }

  /** One run of the job at `nowMs`; runs are serialised, so a slow one is never overlapped. */
  runOnce(nowMs: number): Promise<RetentionReport> {
    const run = this.running.then(() => this.prune(nowMs));
    this.running = run.catch(() => {});
    return run;
  }

  private async prune(nowMs: number): Promise<RetentionReport> {
    const { created, skipped } = await this.ensurePartitions(nowMs);
    const report: RetentionReport = {
      createdPartitions: created,
      skippedPartitions: skipped,
      droppedPartitions: [],
      deletedRows: 0,
      clearedCaptures: 0,
    };
    const { retentionMs, bodyRetentionMs, maxRecords } = this.config;
    if (retentionMs !== null) {
      const cutoff = nowMs - retentionMs;
      if (this.dialect === 'postgres') {
        for (const name of await this.store.partitions()) {
          const range = partitionRange(name);
          if (range !== null && range.toMs <= cutoff) {
            await this.store.dropPartition(name);
            report.droppedPartitions.push(name);
          }
        }
      }
      // What is left: the default partition's old rows, and the older part of the day the cutoff falls in.
      report.deletedRows += await this.store.deleteOlderThan(cutoff);
    }
    if (bodyRetentionMs !== null)
      report.clearedCaptures = await this.store.clearCapturesOlderThan(nowMs - bodyRetentionMs);
    if (maxRecords > 0) report.deletedRows += await this.store.keepNewest(maxRecords);
    return report;
  }

  /** Makes today's partitions now, then runs every `pruneIntervalMs` without keeping the process alive. */
  async start(): Promise<void> {
    if (this.timer !== undefined) return;
    try {
      await this.ensurePartitions(this.nowMs());
    } catch (err) {
      this.onError(err);
    }
    this.timer = setInterval(() => {
      this.runOnce(this.nowMs()).catch(this.onError);
    }, this.config.pruneIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a run under way. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
