import { lookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Kysely } from 'kysely';
import type { WebhookConfig } from '../config.js';
import { backoffMs, ipLiteral, refusedAddress, signatureHeader } from '../domain/webhook-delivery.js';
import {
  changesOf,
  dueExpiryNotice,
  eventOfAudit,
  newDeliveryId,
  newEventId,
  payloadOf,
  subscribes,
  type EventToken,
  type WebhookEvent,
} from '../domain/webhook-events.js';
import type { AuditRow } from '../store/audit.js';
import type { AccessLogRow } from '../store/access-log.js';
import type { Database } from '../store/schema.js';
import type { TokenRow, TokenStore } from '../store/tokens.js';
import { inTransaction, isMissingReference } from '../store/transaction.js';
import { WebhookStore, type DeliveryRow, type WebhookRow } from '../store/webhooks.js';

const DAY_MS = 86_400_000;
/** Deliveries taken per round of the worker, and rounds per run (so one run ends). */
const BATCH = 50;
const ROUNDS = 20;
/** Tokens looked at per notice kind per run. */
const SCAN_LIMIT = 500;
/** Tokens that expired longer ago than this when first seen get no "expired" notice (a new install's old tokens). */
const EXPIRED_LOOKBACK_MS = 7 * DAY_MS;
/** Token/address pairs remembered in memory, so a busy token's known addresses cost no query. */
const SEEN_ADDRESSES = 100_000;
const USER_AGENT = 'keygate-webhooks/1';

/** How one attempt ended. */
export type AttemptResult = { status: number } | { error: string; refused?: boolean };

/** What sends one signed request; tests and other transports may replace it. */
export type Sender = (
  url: string,
  body: string,
  headers: Record<string, string>,
  options: { timeoutMs: number; allowPrivate: boolean },
) => Promise<AttemptResult>;

class RefusedAddress extends Error {
  override name = 'RefusedAddress';
}

/** A DNS lookup that refuses names resolving to private addresses, so the checked address is the one connected to. */
function guardedLookup(allowPrivate: boolean) {
  return (
    hostname: string,
    options: { all?: boolean; family?: number },
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    lookup(hostname, { family: options.family ?? 0, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      if (!allowPrivate) {
        // Every address, not just the first: a name with one public and one private record is refused.
        for (const a of addresses) {
          const why = refusedAddress(a.address);
          if (why) return callback(new RefusedAddress(`${hostname} resolves to ${why}`), []);
        }
      }
      const first = addresses[0];
      if (!first) return callback(new Error(`${hostname} has no address`), []);
      if (options.all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}

/** Sends one POST with node:http(s): no redirects followed, no connection kept, answer body discarded. */
export const httpSender: Sender = (url, body, headers, options) => {
  const target = new URL(url);
  const literal = ipLiteral(target.hostname);
  if (!options.allowPrivate && literal !== null) {
    const why = refusedAddress(literal);
    if (why) return Promise.resolve({ error: `refused: ${why}; no request was made`, refused: true });
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const done = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const req = send(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        agent: false,
        lookup: guardedLookup(options.allowPrivate) as never,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (res: IncomingMessage) => {
        res.resume();
        res.on('error', () => {});
        done({ status: res.statusCode ?? 0 });
      },
    );
    req.on('error', (err: Error & { code?: string }) => {
      if (err instanceof RefusedAddress) done({ error: `refused: ${err.message}; no request was made`, refused: true });
      else if (err.name === 'AbortError' || err.name === 'TimeoutError')
        done({ error: `no answer within ${options.timeoutMs} ms` });
      else done({ error: (err.code ? `${err.code}: ` : '') + err.message });
    });
    req.end(body);
  });
};

/** A Set that forgets its oldest members past a bound. */
class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.items.has(key);
  }
  add(key: string): void {
    if (this.items.size >= this.max) {
      const oldest = this.items.values().next();
      if (!oldest.done) this.items.delete(oldest.value);
    }
    this.items.add(key);
  }
  delete(key: string): void {
    this.items.delete(key);
  }
}

export interface NotificationsDeps {
  db: Kysely<Database>;
  tokens: TokenStore;
  /** The resource's ids up to its root (the access cache), or null when it is gone. */
  ancestry: (resourceId: string) => Promise<readonly string[] | null>;
  clock: () => Date;
  onError: (err: unknown) => void;
  sender?: Sender;
  random?: () => number;
}

function tokenOf(row: TokenRow): EventToken {
  return {
    id: row.id,
    name: row.name,
    resourceId: row.resource_id,
    ownerId: row.owner_id,
    expiresAt: row.expires_at,
  };
}

function parseDetails(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/**
 * Token events for webhooks. Turns committed audit records, written access-log batches and the
 * expiry clock into events; writes one delivery per listening webhook into the outbox (a durable
 * row before anything is sent); and sends due deliveries, signed, with retries and back-off.
 *
 * Nothing here runs on a request's path: the listeners only queue work. `runOnce(now)` is the
 * whole background job (expiry scan, then due deliveries); `start()` runs it every
 * `scanIntervalMs` and soon after new deliveries are written. Tests leave it stopped and call
 * `flush()` and `runOnce(now)` with an injected clock.
 */
export class Notifications {
  readonly store: WebhookStore;
  private readonly sender: Sender;
  private readonly random: () => number;
  private readonly seen = new BoundedSet(SEEN_ADDRESSES);
  /** Event work queued by the listeners, in order. */
  private pending: Promise<void> = Promise.resolve();
  /** The current worker run; runs never overlap in one process. */
  private running: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private kickTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly config: WebhookConfig,
    private readonly deps: NotificationsDeps,
  ) {
    this.store = new WebhookStore(deps.db);
    this.sender = deps.sender ?? httpSender;
    this.random = deps.random ?? Math.random;
  }

  /** Hears committed audit records; queues the token events among them. */
  onAudited(rows: readonly AuditRow[]): void {
    const events = rows.filter((r) => r.target_type === 'token' && eventOfAudit(r.action) !== null);
    if (events.length === 0) return;
    this.enqueue(async () => {
      // Who listens where, looked up once per resource for the whole batch: a bulk import commits
      // a thousand token.create records at once, and mostly nobody listens to any of them.
      const listening = new Map<string | null, Promise<WebhookRow[]>>();
      for (const row of events) await this.fromAudit(row, listening);
    });
  }

  /** Hears written access-log batches; queues "first use from a new address" for accepted requests. */
  onAccessBatch(records: readonly AccessLogRow[]): void {
    const fresh: AccessLogRow[] = [];
    for (const r of records) {
      if (r.outcome !== 'VALID' || r.token_id === null || r.ip === null) continue;
      const pair = `${r.token_id} ${r.ip}`;
      if (this.seen.has(pair)) continue;
      this.seen.add(pair);
      fresh.push(r);
    }
    if (fresh.length === 0) return;
    this.enqueue(async () => {
      for (const r of fresh) {
        try {
          await this.fromNewAddress(r);
        } catch (err) {
          this.seen.delete(`${r.token_id} ${r.ip}`);
          throw err;
        }
      }
    });
  }

  private enqueue(work: () => Promise<void>): void {
    this.pending = this.pending.then(work).catch((err: unknown) => this.deps.onError(err));
  }

  /** Settles once every event queued so far has its deliveries written. */
  async flush(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.pending;
      await seen;
    } while (seen !== this.pending);
  }

  private async fromAudit(audit: AuditRow, listening: Map<string | null, Promise<WebhookRow[]>>): Promise<void> {
    const type = eventOfAudit(audit.action);
    if (type === null) return;
    let hooks = listening.get(audit.resource_id);
    if (hooks === undefined) {
      const ancestry = audit.resource_id === null ? [] : ((await this.deps.ancestry(audit.resource_id)) ?? []);
      hooks = this.store.listening(ancestry);
      listening.set(audit.resource_id, hooks);
    }
    // Nobody to tell: skip reading the token and building the event.
    if (!(await hooks).some((h) => subscribes(JSON.parse(h.events) as string[], type))) return;
    const details = parseDetails(audit.details);
    const row = type === 'token.deleted' ? undefined : await this.deps.tokens.findById(audit.target_id);
    const snapshot = (details.after ?? details.before ?? details) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    const token: EventToken = row
      ? tokenOf(row)
      : {
          id: audit.target_id,
          name: str(snapshot.name),
          resourceId: audit.resource_id,
          ownerId: str(snapshot.ownerId),
          expiresAt: str(snapshot.expiresAt),
        };
    const event: WebhookEvent = {
      id: newEventId(Date.parse(audit.at)),
      type,
      createdAt: audit.at,
      data: {
        token,
        actor: { type: audit.actor_type, id: audit.actor_id },
        changes: changesOf(audit.action, details),
      },
    };
    const deliveries = await this.deliveriesFor(event, token.resourceId);
    await this.store.insertDeliveries(deliveries);
    this.kick();
  }

  private async fromNewAddress(r: AccessLogRow): Promise<void> {
    const row = await this.deps.tokens.findById(r.token_id!);
    if (!row) return;
    const at = new Date(r.at).toISOString();
    const event: WebhookEvent = {
      id: newEventId(r.at),
      type: 'token.new_address',
      createdAt: at,
      data: { token: tokenOf(row), ip: r.ip! },
    };
    const deliveries = await this.deliveriesFor(event, row.resource_id);
    try {
      // The address and its deliveries together: a crash between them would lose the event for good.
      await inTransaction(this.deps.db, async (trx) => {
        const store = new WebhookStore(trx);
        if (await store.markAddress(row.id, r.ip!, at)) await store.insertDeliveries(deliveries);
      });
    } catch (err) {
      if (isMissingReference(err)) return; // The token was deleted meanwhile.
      throw err;
    }
    if (deliveries.length > 0) this.kick();
  }

  /**
   * One outbox row per active webhook that hears this event: on the token's resource, on any of
   * its ancestors, or system-wide. Read outside any transaction (SQLite has one connection).
   */
  private async deliveriesFor(
    event: WebhookEvent,
    resourceId: string | null,
    only?: WebhookRow,
  ): Promise<DeliveryRow[]> {
    let hooks: WebhookRow[];
    if (only) hooks = [only];
    else {
      const ancestry = resourceId === null ? [] : ((await this.deps.ancestry(resourceId)) ?? []);
      hooks = (await this.store.listening(ancestry)).filter((h) =>
        subscribes(JSON.parse(h.events) as string[], event.type),
      );
    }
    const now = this.deps.clock();
    const nowIso = now.toISOString();
    const payload = payloadOf(event);
    return hooks.map((h) => ({
      id: newDeliveryId(now.getTime()),
      webhook_id: h.id,
      event_id: event.id,
      event_type: event.type,
      payload,
      ...pendingFrom(nowIso),
    }));
  }

  /** Writes one delivery of `event` to one webhook (a ping) and returns it. */
  async deliverTo(webhook: WebhookRow, event: WebhookEvent): Promise<DeliveryRow> {
    const [row] = await this.deliveriesFor(event, null, webhook);
    await this.store.insertDeliveries([row!]);
    this.kick();
    return row!;
  }

  /** A new delivery of an earlier one's event and payload, due now (redelivery by hand). */
  async redeliver(earlier: DeliveryRow): Promise<DeliveryRow> {
    const now = this.deps.clock();
    const nowIso = now.toISOString();
    const row: DeliveryRow = {
      ...earlier,
      id: newDeliveryId(now.getTime()),
      ...pendingFrom(nowIso),
    };
    await this.store.insertDeliveries([row]);
    this.kick();
    return row;
  }

  /** The background job once: expiry notices, then every due delivery. Runs in this process never overlap. */
  runOnce(now: Date = this.deps.clock()): Promise<void> {
    const run = this.running.then(async () => {
      await this.flush();
      await this.scanExpiries(now);
      await this.deliverDue(now);
    });
    this.running = run.catch(() => {});
    return run;
  }

  /** Sends expiry notices: each notice day's window once per expiry value, and "expired" once. */
  async scanExpiries(now: Date): Promise<void> {
    const nowMs = now.getTime();
    const nowIso = now.toISOString();
    const days = [...this.config.expiryNoticeDays].filter((d) => d > 0).sort((a, b) => a - b);
    const windows: { kind: string; from: string; to: string }[] = [
      { kind: 'expired', from: new Date(nowMs - EXPIRED_LOOKBACK_MS).toISOString(), to: nowIso },
      ...days.map((d) => ({ kind: `expiring:${d}`, from: nowIso, to: new Date(nowMs + d * DAY_MS).toISOString() })),
    ];
    for (const w of windows) {
      const tokens = await this.store.expiringWithout(w.kind, w.from, w.to, SCAN_LIMIT);
      for (const token of tokens) {
        const expiresAt = token.expires_at!;
        const sent = await this.store.noticesFor(token.id, expiresAt);
        const due = dueExpiryNotice(Date.parse(expiresAt), nowMs, days, sent);
        if (due === null) continue;
        const event: WebhookEvent = {
          id: newEventId(nowMs),
          type: due.kind === 'expired' ? 'token.expired' : 'token.expiring',
          createdAt: nowIso,
          data: { token: tokenOf(token), ...(due.kind === 'expired' ? {} : { daysLeft: due.daysLeft }) },
        };
        const deliveries = await this.deliveriesFor(event, token.resource_id);
        try {
          await inTransaction(this.deps.db, async (trx) => {
            const store = new WebhookStore(trx);
            // Another instance may have sent it meanwhile: the notice row decides who does.
            const first = await store.markNotice(token.id, due.kind, expiresAt, nowIso);
            for (const kind of due.covers)
              if (kind !== due.kind) await store.markNotice(token.id, kind, expiresAt, nowIso);
            if (first) await store.insertDeliveries(deliveries);
          });
        } catch (err) {
          if (!isMissingReference(err)) throw err;
        }
      }
    }
  }

  /** Sends due deliveries, a batch at a time, each claimed first so no two workers send one twice. */
  async deliverDue(now: Date): Promise<void> {
    const nowIso = now.toISOString();
    const lease = new Date(now.getTime() + this.config.timeoutMs + 60_000).toISOString();
    const hooks = new Map<string, WebhookRow | undefined>();
    for (let round = 0; round < ROUNDS; round++) {
      const due = await this.store.due(nowIso, BATCH);
      const claimed: DeliveryRow[] = [];
      for (const row of due)
        if (await this.store.claim(row, lease, nowIso)) claimed.push({ ...row, attempts: row.attempts + 1 });
      for (const row of claimed)
        if (!hooks.has(row.webhook_id)) hooks.set(row.webhook_id, await this.store.findById(row.webhook_id));
      await Promise.all(claimed.map((row) => this.attempt(row, hooks.get(row.webhook_id), now)));
      if (due.length < BATCH) return;
    }
  }

  private async attempt(row: DeliveryRow, hook: WebhookRow | undefined, now: Date): Promise<void> {
    if (!hook) return; // Deleted meanwhile; its deliveries went with it.
    let result: AttemptResult;
    if (hook.active !== 1) result = { error: 'the webhook is switched off', refused: true };
    else {
      const t = Math.floor(now.getTime() / 1000);
      try {
        result = await this.sender(
          hook.url,
          row.payload,
          {
            'content-type': 'application/json',
            'user-agent': USER_AGENT,
            'keygate-event': row.event_type,
            'keygate-delivery': row.id,
            'keygate-signature': signatureHeader(hook.secret, t, row.payload),
          },
          { timeoutMs: this.config.timeoutMs, allowPrivate: this.config.allowPrivate },
        );
      } catch (err) {
        result = { error: (err as Error).message };
      }
    }
    const nowIso = now.toISOString();
    if ('status' in result && result.status >= 200 && result.status < 300) {
      await this.store.settle(row.id, {
        status: 'succeeded',
        next_attempt_at: nowIso,
        last_status: result.status,
        last_error: null,
        updated_at: nowIso,
      });
      return;
    }
    const finalAttempt = ('refused' in result && result.refused === true) || row.attempts >= this.config.maxAttempts;
    await this.store.settle(row.id, {
      status: finalAttempt ? 'failed' : 'pending',
      next_attempt_at: finalAttempt
        ? nowIso
        : new Date(now.getTime() + backoffMs(row.attempts, this.random())).toISOString(),
      last_status: 'status' in result ? result.status : null,
      last_error: ('status' in result ? `answered HTTP ${result.status}` : result.error).slice(0, 500),
      updated_at: nowIso,
    });
  }

  /** Runs soon (not now, and never on the caller's path) when started; stopped, waits for runOnce. */
  private kick(): void {
    if (!this.started || this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      this.runOnce().catch((err: unknown) => this.deps.onError(err));
    }, 10);
    this.kickTimer.unref();
  }

  /** Runs the job every `scanIntervalMs` (and soon after new deliveries), without keeping the process alive. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.timer = setInterval(() => {
      this.runOnce().catch((err: unknown) => this.deps.onError(err));
    }, this.config.scanIntervalMs);
    this.timer.unref();
    // Deliveries left pending by a previous process go out without waiting a whole interval.
    this.kick();
  }

  /** Stops the timers and waits for work under way; pending deliveries stay in the outbox. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearInterval(this.timer);
    if (this.kickTimer) clearTimeout(this.kickTimer);
    this.timer = undefined;
    this.kickTimer = undefined;
    await this.flush();
    await this.running;
  }
}

/** The state of a delivery not yet tried, due at once: new, or sent again by hand. */
function pendingFrom(nowIso: string) {
  return {
    status: 'pending' as const,
    attempts: 0,
    next_attempt_at: nowIso,
    last_status: null,
    last_error: null,
    created_at: nowIso,
    updated_at: nowIso,
  };
}
