import type { Change } from '../domain/change.js';
import { randomBase62 } from '../domain/keys.js';
import type { Ancestry } from '../domain/policy.js';
import type { Stores } from '../store/index.js';
import type { Access } from './access.js';
import type { AccessCache } from './access-cache.js';
import type { ChangeFeed } from './change-feed.js';
import type { Principal } from './principal.js';

/** One event of the stream, before it is written as Server-Sent Events. */
export type StreamEvent =
  | { event: 'ready' | 'reset'; id: string }
  | { event: 'changes'; id: string; changes: readonly Change[] };

/** Whoever listens to the stream: an SSE connection, in practice. */
export interface StreamListener {
  /** The caller, as it was authenticated when it connected. */
  caller: Principal;
  /** `<stream>:<seq>` the client last saw (Last-Event-ID), if it is resuming. */
  lastEventId?: string | undefined;
  /**
   * The caller as it stands now, asked before every batch; null ends the subscription (a
   * deactivated or narrowed verifier stops hearing about changes at once).
   */
  reauthorize?: () => Principal | null | Promise<Principal | null>;
  /** Receives the events, in order. */
  send(event: StreamEvent): void;
  /** Called once when the stream ends the subscription (server closing, caller refused, too far behind). */
  end(): void;
}

/** Where a change is: gone (its id alone reveals nothing), or the ancestries it concerns. */
type Reach = 'gone' | Ancestry[];

interface Batch {
  seq: number;
  changes: readonly Change[];
  /** The reach of each change, looked up once per batch (lazily) and shared by every subscriber. */
  reach?: Promise<Reach[]>;
}

/** How many batches a reconnecting client may have missed and still be replayed. */
const REPLAY_BATCHES = 1000;
/** Batches queued for one subscriber beyond which it is ended (it reconnects and is replayed or reset). */
const MAX_PENDING = 1000;
const NOWHERE: Ancestry = Object.freeze([]);
const LAST_EVENT_ID = /^([0-9A-Za-z]{1,64}):(0|[1-9][0-9]{0,15})$/;

/**
 * The live change events for SDK caches (GET /events): every committed batch of the change feed,
 * numbered, kept for replay, and sent to each subscriber with what it may not learn about left
 * out. A verifier hears of a token, resource, user or membership only when it holds keys:verify
 * where that thing is (or the thing is gone, when its id alone reveals nothing), so it learns no
 * more than POST /verify would tell it.
 */
export class EventStream {
  /**
   * Random per process start, and new again whenever the change channel comes back: a client
   * resuming from another stream is told to reset, since what it missed cannot be replayed.
   */
  streamId = randomBase62(12);
  /** Interval of the keep-alive comment each connection writes; tests shorten it. */
  heartbeatMs = 15_000;
  private seq = 0;
  private readonly buffer: Batch[] = [];
  private readonly subscriptions = new Set<Subscription>();
  private readonly unsubscribe: () => void;
  private closed = false;
  /** While the cross-instance channel is lost: this stream could not tell of other instances' changes. */
  private paused = false;

  constructor(
    feed: ChangeFeed,
    private readonly stores: Stores,
    private readonly cache: AccessCache,
    private readonly access: Access,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    const stopChanges = feed.subscribe((changes) => this.publish(changes));
    const stopChannel = feed.onChannel((state) => this.channel(state));
    this.unsubscribe = () => {
      stopChanges();
      stopChannel();
    };
  }

  /** Whether subscribers may connect: not while closing, nor while other instances' changes may go unheard. */
  get live(): boolean {
    return !this.closed && !this.paused;
  }

  /**
   * A stream that cannot hear other instances must not look live: subscribers are ended (SDKs
   * then shorten their cache TTL and reconnect) and refused until the channel is back; then the
   * stream starts anew, so resuming clients reset rather than trust a replay with a gap in it.
   */
  private channel(state: 'lost' | 'restored'): void {
    if (state === 'lost') {
      this.paused = true;
      for (const s of [...this.subscriptions]) s.close();
      return;
    }
    this.paused = false;
    this.streamId = randomBase62(12);
    this.buffer.length = 0;
  }

  /** The id of the newest batch, as `<stream>:<seq>`. */
  get position(): string {
    return `${this.streamId}:${this.seq}`;
  }

  /** Numbers a committed batch, keeps it for replay, and queues it for every subscriber; never waits. */
  private publish(changes: readonly Change[]): void {
    const batch: Batch = { seq: ++this.seq, changes };
    this.buffer.push(batch);
    if (this.buffer.length > REPLAY_BATCHES) this.buffer.shift();
    for (const s of this.subscriptions) s.enqueue(batch);
  }

  /**
   * Adds a subscriber: it hears `ready` (or, resuming, the batches it missed, or `reset` when they
   * cannot be replayed), then every new batch. Returns the function that removes it.
   */
  subscribe(listener: StreamListener): () => void {
    const sub = new Subscription(this, listener);
    if (!this.live) {
      sub.close();
      return () => {};
    }
    const resume = listener.lastEventId ? this.missedSince(listener.lastEventId) : 'ready';
    if (resume === 'ready' || resume === 'reset') listener.send({ event: resume, id: this.position });
    else for (const batch of resume) sub.enqueue(batch);
    // Registered in the same tick as the replay was queued: no batch is missed or sent twice.
    this.subscriptions.add(sub);
    // The subscriber leaving on its own is not told to end.
    return () => sub.close(false);
  }

  /** The batches after `lastEventId`, or 'reset' when they cannot all be replayed. */
  private missedSince(lastEventId: string): Batch[] | 'reset' {
    const m = LAST_EVENT_ID.exec(lastEventId);
    if (!m || m[1] !== this.streamId) return 'reset';
    const seen = Number(m[2]);
    const oldest = this.buffer[0]?.seq ?? this.seq + 1;
    if (seen > this.seq || seen < oldest - 1) return 'reset';
    return this.buffer.filter((b) => b.seq > seen);
  }

  /** Streams open now, for /metrics. */
  get subscribers(): number {
    return this.subscriptions.size;
  }

  /** Ends every subscription and stops listening to the feed (the keygate is closing). */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const s of [...this.subscriptions]) s.close();
  }

  /** @internal */
  forget(sub: Subscription): void {
    this.subscriptions.delete(sub);
  }

  /** @internal */
  reportError(err: unknown): void {
    this.onError(err);
  }

  /** @internal The changes of a batch the caller may learn about. */
  async visible(caller: Principal, batch: Batch): Promise<Change[]> {
    batch.reach ??= Promise.all(batch.changes.map((c) => this.reachOf(c)));
    // Not kept on failure: the next subscriber tries again rather than inheriting the error.
    const reach = await batch.reach.catch((err: unknown) => {
      batch.reach = undefined;
      throw err;
    });
    return batch.changes.filter((_c, i) => {
      const r = reach[i]!;
      return r === 'gone' || r.some((a) => this.access.permissionsAt(caller, a).has('keys:verify'));
    });
  }

  /** Where a change is, as it stands now (the access cache has already dropped what it made stale). */
  private async reachOf(change: Change): Promise<Reach> {
    switch (change.kind) {
      case 'token':
      case 'keys': {
        const token = await this.cache.token(change.kind === 'token' ? change.id : change.tokenId);
        if (!token) return 'gone';
        return this.ancestries([token.facts.resourceId]);
      }
      case 'resource': {
        const ancestry = await this.cache.ancestry(change.id);
        return ancestry ? [ancestry] : 'gone';
      }
      case 'user':
        return this.ancestries(await this.tokenResourcesOf(change.id));
      case 'membership':
        return this.ancestries([...(await this.tokenResourcesOf(change.userId)), change.resourceId]);
    }
  }

  /** The ancestries of resources (null: a system token's place, nowhere); those that no longer exist are left out. */
  private async ancestries(resourceIds: readonly (string | null)[]): Promise<Ancestry[]> {
    const out: Ancestry[] = [];
    for (const id of resourceIds) {
      const ancestry = id === null ? NOWHERE : await this.cache.ancestry(id);
      if (ancestry) out.push(ancestry);
    }
    return out;
  }

  /**
   * The resources of the tokens a user owns or is impersonated by: an SDK drops answers by
   * either, and a verifier that may see such a token already knows the user's id.
   */
  private async tokenResourcesOf(userId: string): Promise<(string | null)[]> {
    const rows = await this.stores.db
      .selectFrom('tokens')
      .select('resource_id')
      .distinct()
      .where((eb) => eb.or([eb('owner_id', '=', userId), eb('impersonate_user_id', '=', userId)]))
      .execute();
    return rows.map((r) => r.resource_id);
  }
}

/** One subscriber: its batches are filtered one after another, so they reach it in order, off the publisher's path. */
class Subscription {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  private closed = false;
  private caller: Principal;

  constructor(
    private readonly stream: EventStream,
    private readonly listener: StreamListener,
  ) {
    this.caller = listener.caller;
  }

  enqueue(batch: Batch): void {
    if (this.closed) return;
    // A client that cannot keep up is let go: it reconnects with Last-Event-ID and is replayed or reset.
    if (this.pending >= MAX_PENDING) {
      this.close();
      return;
    }
    this.pending++;
    this.tail = this.tail
      .then(() => this.deliver(batch))
      .catch((err: unknown) => {
        this.stream.reportError(err);
        this.close();
      })
      .finally(() => {
        this.pending--;
      });
  }

  private async deliver(batch: Batch): Promise<void> {
    if (this.closed) return;
    if (this.listener.reauthorize) {
      const now = await this.listener.reauthorize();
      if (now === null) {
        this.close();
        return;
      }
      this.caller = now;
    }
    const changes = await this.stream.visible(this.caller, batch);
    if (this.closed || changes.length === 0) return;
    this.listener.send({ event: 'changes', id: `${this.stream.streamId}:${batch.seq}`, changes });
  }

  /** Stops delivering; `notify` tells the listener to end (when the stream, not the listener, ends it). */
  close(notify = true): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.forget(this);
    if (notify) this.listener.end();
  }
}
