import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessLogConfig } from '../../src/config.js';
import { AccessLog, type AccessRecord } from '../../src/services/access-log.js';
import type { AccessLogStore } from '../../src/store/access-log.js';

/** The writer's bounds, with a store in memory: what a full queue drops first, and that it counts it. */

const CONFIG: AccessLogConfig = {
  sink: undefined,
  flushMs: 60_000,
  queueLimit: 10,
  captureLimit: 1024,
  retentionMs: null,
  bodyRetentionMs: null,
  maxRecords: 0,
  pruneIntervalMs: 3_600_000,
};

function record(n: number): AccessRecord {
  return {
    at: 1_700_000_000_000 + n,
    id: `acc_${String(n).padStart(4, '0')}`,
    request_id: `req_${n}`,
    token_id: 'tok_1',
    owner_id: 'usr_1',
    resource_id: null,
    method: 'GET',
    route: '/api/v1.0/me',
    path: '/api/v1.0/me',
    api_version: 'v1.0',
    status: 200,
    duration_us: 10,
    ip: '127.0.0.1',
    user_agent: null,
    outcome: 'VALID',
    carrier: 'header:x-api-key',
    key_prefix: null,
    key_fingerprint: null,
    capture: '{"request":{}}',
  };
}

/** A store in memory that can refuse batches, and says when it has written a given number of them. */
class MemoryStore {
  rows: AccessRecord[] = [];
  batches: string[][] = [];
  failNext = 0;
  private waiters: { count: number; resolve(): void }[] = [];
  async insertBatch(rows: readonly AccessRecord[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('database down');
    }
    this.rows.push(...rows);
    this.batches.push(rows.map((r) => r.request_id));
    for (const w of this.waiters) if (this.batches.length >= w.count) w.resolve();
  }
  /** Settles once `count` batches are written (never, if they are held back). */
  written(count: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.batches.length >= count) resolve();
      else this.waiters.push({ count, resolve });
    });
  }
}

describe('the access-log queue', () => {
  it('drops captured bodies first when the queue is long, then whole records, counting both', async () => {
    const store = new MemoryStore();
    const log = new AccessLog(store as unknown as AccessLogStore, CONFIG, () => {});
    for (let n = 0; n < 25; n++) log.push(record(n));
    assert.deepEqual(
      { ...log.counters },
      { written: 0, queued: 20, droppedCaptures: 10, droppedRecords: 5, failedWrites: 0 },
    );
    await log.flush();
    assert.equal(store.rows.length, 20);
    assert.equal(store.rows.filter((r) => r.capture !== null).length, 10, 'the first ten keep their capture');
    assert.equal(store.rows[19]!.capture, null);
    assert.equal(log.counters.written, 20);
    assert.equal(log.counters.queued, 0);
    await log.close();
  });

  it('keeps a batch the database refused and writes it, in order, on the next flush', async () => {
    const store = new MemoryStore();
    const errors: unknown[] = [];
    const log = new AccessLog(store as unknown as AccessLogStore, CONFIG, (err) => errors.push(err));
    for (let n = 0; n < 3; n++) log.push(record(n));
    store.failNext = 1;
    await log.flush();
    assert.equal(errors.length, 1);
    assert.equal(log.counters.failedWrites, 1);
    assert.equal(log.counters.queued, 3);
    log.push(record(3));
    await log.flush();
    assert.deepEqual(
      store.rows.map((r) => r.id),
      ['acc_0000', 'acc_0001', 'acc_0002', 'acc_0003'],
    );
    await log.close();
  });

  it('tells listeners each written batch; a failing listener is reported, not thrown', async () => {
    const store = new MemoryStore();
    const errors: unknown[] = [];
    const log = new AccessLog(store as unknown as AccessLogStore, CONFIG, (err) => errors.push(err));
    const seen: number[] = [];
    log.onBatch(() => {
      throw new Error('listener broke');
    });
    log.onBatch((rows) => void seen.push(rows.length));
    log.push(record(1));
    log.push(record(2));
    await log.flush();
    assert.deepEqual(seen, [2]);
    assert.equal(errors.length, 1);
    await log.flush();
    assert.deepEqual(seen, [2], 'an empty queue tells no one');
    await log.close();
  });
  // A slow listener (usage counts wait for token rows that edits hold locked) must not hold back the
  // next batch's write: while it did, a SIGKILL under write load on PostgreSQL lost records answered
  // well over the flush interval before it (found by test/durability/sigkill.test.ts).
  it('writes the next batch while a listener still works on the last one, and flush waits for both', {
    timeout: 10_000,
  }, async () => {
    const store = new MemoryStore();
    const log = new AccessLog(store as unknown as AccessLogStore, CONFIG, (err) => assert.fail(String(err)));
    let release!: () => void;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    const heard: string[][] = [];
    log.onBatch(async (rows) => {
      heard.push(rows.map((r) => r.request_id));
      if (heard.length === 1) await stuck;
    });

    log.push(record(1));
    let firstSettled = false;
    const first = log.flush().then(() => {
      firstSettled = true;
    });
    await store.written(1);
    log.push(record(2));
    const second = log.flush();
    // Before the fix this never happened: the second write waited for the first batch's listener.
    await store.written(2);
    assert.deepEqual(store.batches, [['req_1'], ['req_2']]);
    assert.equal(firstSettled, false, 'flush settles only once its batch is heard too');

    release();
    await Promise.all([first, second]);
    assert.deepEqual(heard, [['req_1'], ['req_2']], 'listeners hear every batch once, in order');
    log.push(record(3));
    await log.close();
    assert.deepEqual(store.batches, [['req_1'], ['req_2'], ['req_3']]);
    assert.deepEqual(heard.at(-1), ['req_3']);
  });
});
