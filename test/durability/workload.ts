import { noteSecret } from '../support/secret-scan.js';
import { type Session, request } from './http.js';

/** A small seeded PRNG (mulberry32): the same seed gives the same kill delays and choice of operations. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Explicit permission lists the load switches between (each sorted, as the API answers them). */
const PERMISSION_SETS: readonly string[][] = [
  ['resources:read'],
  ['resources:read', 'tokens:read'],
  ['logs:read', 'resources:read'],
  ['members:read', 'resources:read', 'resources:write'],
];

/** Grace an acknowledged roll gives the old key: far longer than a suite runs. */
const LONG_GRACE_S = 3600;

/** What a PATCH may change, as the API shows it. */
export interface Fields {
  name: string;
  description: string;
  active: boolean;
  permissions: string[];
}

/** The load's knowledge of one token. */
export interface TokenModel {
  /** The name it was created with: unique, so a token whose creation got no answer can be found. */
  label: string;
  /** Null until its creation is acknowledged, or found applied. */
  id: string | null;
  fields: Fields;
  keyPrefix: string | null;
  /** Its current key; null when the answer that carried it was lost (the key exists, unknown to us). */
  key: string | null;
  /** Old keys still in their grace period that we know. */
  graced: string[];
  /** Old key rows in their grace period, known or not. */
  gracedRows: number;
  /** The audit actions its applied operations wrote, in order. */
  actions: string[];
  /** True while an operation on it is in flight (one at a time, so its history is a sequence). */
  busy: boolean;
  /** The operation that got no full answer; settled by the check after the restart. */
  pending: Operation | null;
  /** Kept out of the load: the access-log probe's token. */
  reserved: boolean;
}

export type Operation =
  | { kind: 'create'; token: TokenModel; body: { name: string; description: string; permissions: string[] } }
  | { kind: 'patch'; token: TokenModel; body: Partial<Fields>; before: Fields; after: Fields; action: string }
  | { kind: 'roll'; token: TokenModel; grace: number; oldKey: string | null; oldPrefix: string | null }
  | { kind: 'delete'; token: TokenModel };

export type OperationKind = Operation['kind'];

/** Per kind of operation: acknowledged, and unacknowledged found applied or not. */
export type Tally = Record<OperationKind, { acked: number; unackedApplied: number; unackedNotApplied: number }>;

export function emptyTally(): Tally {
  const zero = () => ({ acked: 0, unackedApplied: 0, unackedNotApplied: 0 });
  return { create: zero(), patch: zero(), roll: zero(), delete: zero() };
}

/** Everything the suite knows about the tokens of one database. */
export class World {
  /** Tokens that exist (or whose creation is pending). */
  live: TokenModel[] = [];
  /** Deleted tokens, still checked in the audit trail. */
  gone: TokenModel[] = [];
  /** Keys that must be refused as unknown (KEY_INVALID): of deleted tokens, or rolled out without grace. */
  deadKeys: string[] = [];
  /** Full answers that were not 2xx: the load never expects one. */
  refusals: string[] = [];
  /** Every key an answer gave us, for the check that no process printed one. */
  minted: string[] = [];
  tally = emptyTally();
  private serial = 0;

  constructor(private readonly random: () => number) {}

  /** Adds a token created outside the load (set-up), acknowledged. */
  adopt(token: TokenModel): void {
    this.live.push(token);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  /** The next operation for a worker, its token marked busy; null when every token is busy. */
  next(round: number): Operation | null {
    const idle = this.live.filter((t) => !t.busy && !t.reserved && t.id !== null && t.pending === null);
    const count = this.live.length;
    const createOdds = count < 10 ? 0.6 : count > 40 ? 0.05 : 0.25;
    const r = this.random();
    if (idle.length === 0 || r < createOdds) {
      const n = ++this.serial;
      const label = `r${round}-t${n}`;
      const body = {
        name: label,
        description: `created in round ${round}`,
        permissions: this.pick(PERMISSION_SETS),
      };
      const token: TokenModel = {
        label,
        id: null,
        fields: { name: body.name, description: body.description, active: true, permissions: body.permissions },
        keyPrefix: null,
        key: null,
        graced: [],
        gracedRows: 0,
        actions: [],
        busy: true,
        pending: null,
        reserved: false,
      };
      this.live.push(token);
      return { kind: 'create', token, body };
    }
    const token = this.pick(idle);
    token.busy = true;
    const deleteOdds = count > 40 ? 0.45 : 0.12;
    const s = this.random();
    if (s < deleteOdds) return { kind: 'delete', token };
    if (s < deleteOdds + 0.25) {
      const grace = this.random() < 0.5 ? 0 : LONG_GRACE_S;
      return { kind: 'roll', token, grace, oldKey: token.key, oldPrefix: token.keyPrefix };
    }
    const before = token.fields;
    const n = ++this.serial;
    const shape = this.random();
    let body: Partial<Fields>;
    if (shape < 0.45)
      // Three fields at once, so a half-applied edit would show.
      body = {
        name: `${token.label}~${n}`,
        description: `edited ${n}`,
        permissions: this.pick(PERMISSION_SETS.filter((p) => p.join() !== before.permissions.join())),
      };
    else if (shape < 0.75) body = { active: !before.active };
    else body = { name: `${token.label}~${n}`, active: !before.active };
    const after = { ...before, ...body };
    const action =
      Object.keys(body).length === 1 && body.active !== undefined
        ? body.active
          ? 'token.activate'
          : 'token.deactivate'
        : 'token.update';
    return { kind: 'patch', token, body, before, after, action };
  }

  /** Sends one operation and records what its answer proves. */
  async perform(base: string, session: Session, resourceId: string, op: Operation): Promise<void> {
    const t = op.token;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res =
        op.kind === 'create'
          ? await request(base, 'POST', `/resources/${resourceId}/tokens`, { session, body: op.body })
          : op.kind === 'patch'
            ? await request(base, 'PATCH', `/tokens/${t.id}`, { session, body: op.body })
            : op.kind === 'roll'
              ? await request(base, 'POST', `/tokens/${t.id}/roll`, { session, body: { graceSeconds: op.grace } })
              : await request(base, 'DELETE', `/tokens/${t.id}`, { session });
    } catch {
      // No full answer: applied or not, only the check after the restart can tell. The token
      // stays busy, so no later operation muddies what this one did.
      t.pending = op;
      return;
    }
    if (res.status < 200 || res.status > 299) {
      // A full refusal: nothing applied. The load is built never to be refused, so it is reported.
      let code = '';
      try {
        code = JSON.parse(res.text).error.code;
      } catch {
        // not the envelope
      }
      this.refusals.push(`${op.kind} ${t.id ?? t.label}: ${res.status} ${code}`);
      if (op.kind === 'create') this.live.splice(this.live.indexOf(t), 1);
      t.busy = false;
      return;
    }
    this.acknowledge(op, res.text);
    this.tally[op.kind].acked++;
    t.busy = false;
  }

  /** Applies an acknowledged operation to the model. */
  private acknowledge(op: Operation, text: string): void {
    const t = op.token;
    if (op.kind === 'create') {
      const body = JSON.parse(text) as { id: string; key: string; keyPrefix: string };
      this.noteKey(body.key);
      t.id = body.id;
      t.key = body.key;
      t.keyPrefix = body.keyPrefix;
      t.actions.push('token.create');
    } else if (op.kind === 'patch') {
      t.fields = op.after;
      t.actions.push(op.action);
    } else if (op.kind === 'roll') {
      const body = JSON.parse(text) as { key: string; keyPrefix: string };
      this.noteKey(body.key);
      this.rolled(t, op.grace, op.oldKey);
      t.key = body.key;
      t.keyPrefix = body.keyPrefix;
    } else {
      this.deleted(t);
    }
  }

  /** Remembers a key we were given, to look for it where no key may be. */
  noteKey(key: string): void {
    noteSecret(key);
    this.minted.push(key);
  }

  /** A roll took effect: the old key is in grace or dead; the caller sets the new key if known. */
  rolled(t: TokenModel, grace: number, oldKey: string | null): void {
    if (grace > 0) {
      if (oldKey !== null) t.graced.push(oldKey);
      t.gracedRows++;
    } else {
      if (oldKey !== null) this.deadKeys.push(oldKey);
      this.deadKeys.push(...t.graced);
      t.graced = [];
      t.gracedRows = 0;
    }
    t.key = null;
    t.actions.push('token.roll');
  }

  /** A deletion took effect: every key of the token is dead. */
  deleted(t: TokenModel): void {
    if (t.key !== null) this.deadKeys.push(t.key);
    this.deadKeys.push(...t.graced);
    t.actions.push('token.delete');
    this.live.splice(this.live.indexOf(t), 1);
    this.gone.push(t);
  }
}

/**
 * Runs `workers` concurrent loops of writes until `stopped()`; each loop sends its next operation
 * as soon as the previous one is answered, so several are in flight at any moment.
 */
export async function writeLoad(
  world: World,
  base: string,
  session: Session,
  resourceId: string,
  round: number,
  workers: number,
  stopped: () => boolean,
): Promise<void> {
  const loop = async () => {
    while (!stopped()) {
      const op = world.next(round);
      if (op === null) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      await world.perform(base, session, resourceId, op);
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
}
