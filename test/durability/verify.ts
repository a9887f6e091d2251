import { openDatabase } from '../../src/store/database.js';
import { type Session, call, exportNdjson, request } from './http.js';
import type { Fields, World } from './workload.js';

/** A token as GET /tokens lists it (the fields these checks read). */
interface ApiToken {
  id: string;
  name: string;
  description: string;
  active: boolean;
  permissions: string[];
  keyPrefix: string;
}

/** An audit record about a token (the fields these checks read). */
interface AuditRecord {
  action: string;
  targetId: string;
  details: { after?: { name?: string } };
}

/** A token's key rows: its current key (exactly one while it exists) and old keys in their grace period. */
export interface KeyRows {
  current: number;
  graced: number;
}

/** What the restarted keygate holds, read before any key is presented to it. */
export interface Observed {
  tokens: Map<string, ApiToken>;
  audit: AuditRecord[];
  keyRows: Map<string, KeyRows>;
}

/** Where a suite's database is. */
export interface Store {
  url: string | undefined;
  dataDir: string;
  pgSchema: string | undefined;
}

/**
 * The key rows straight from the database, which the API does not show: opened after the restart
 * and closed at once, so the suite never holds the file while keygate is killed.
 */
async function readKeyRows(store: Store): Promise<Map<string, KeyRows>> {
  const opened = await openDatabase(store);
  try {
    const rows = await opened.db.selectFrom('token_keys').select(['token_id', 'expires_at']).execute();
    const out = new Map<string, KeyRows>();
    for (const row of rows) {
      const entry = out.get(row.token_id) ?? { current: 0, graced: 0 };
      if (row.expires_at === null) entry.current++;
      else entry.graced++;
      out.set(row.token_id, entry);
    }
    return out;
  } finally {
    await opened.close();
  }
}

/** Reads every token, the tokens' audit trail and the key rows. */
export async function observe(base: string, session: Session, store: Store): Promise<Observed> {
  const tokens = new Map<string, ApiToken>();
  let cursor: string | null = null;
  do {
    const page: { items: ApiToken[]; nextCursor: string | null } = await call(
      base,
      session,
      'GET',
      `/tokens?owner=*&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
    );
    for (const t of page.items) tokens.set(t.id, t);
    cursor = page.nextCursor;
  } while (cursor !== null);
  const audit = (await exportNdjson(
    base,
    session,
    '/logs/audit/export?targetType=token&format=ndjson',
  )) as AuditRecord[];
  return { tokens, audit, keyRows: await readKeyRows(store) };
}

function fieldsOf(t: ApiToken): Fields {
  return { name: t.name, description: t.description, active: t.active, permissions: t.permissions };
}

/** The fields in which two pictures of a token differ. */
function differing(a: Fields, b: Fields): string[] {
  return (Object.keys(a) as (keyof Fields)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/** What GET /me must answer for a key. */
export interface KeyExpectation {
  key: string;
  /** For messages: the token and which of its keys; never the key. */
  what: string;
  expect:
    | { status: 200; tokenId: string; permissions: string[] }
    | { status: 401; code: 'KEY_DISABLED' | 'KEY_INVALID' };
}

/**
 * Settles every operation that got no full answer — applied whole or not at all, anything else is a
 * problem — and checks that everything acknowledged is there. Updates `world` to what was found and
 * returns the problems and the answers each known key must now get.
 */
export function settle(world: World, seen: Observed): { problems: string[]; keys: KeyExpectation[] } {
  const problems: string[] = [];
  const claimed = new Set(world.live.flatMap((t) => (t.id === null ? [] : [t.id])));
  for (const t of [...world.live]) {
    const op = t.pending;
    if (op === null) continue;
    t.pending = null;
    t.busy = false;
    const found = t.id === null ? undefined : seen.tokens.get(t.id);
    let applied = false;
    if (op.kind === 'create') {
      const matches = [...seen.tokens.values()].filter((x) => x.name === t.label && !claimed.has(x.id));
      if (matches.length > 1) problems.push(`unacknowledged create ${t.label}: ${matches.length} tokens made`);
      const made = matches[0];
      if (made) {
        applied = true;
        claimed.add(made.id);
        t.id = made.id;
        t.keyPrefix = made.keyPrefix;
        t.actions.push('token.create');
      } else {
        world.live.splice(world.live.indexOf(t), 1);
      }
    } else if (!found) {
      if (op.kind === 'delete') {
        applied = true;
        world.deleted(t);
      } else problems.push(`unacknowledged ${op.kind} of ${t.id}: the token is gone`);
    } else if (op.kind === 'patch') {
      const now = fieldsOf(found);
      if (differing(now, op.after).length === 0) {
        applied = true;
        t.fields = op.after;
        t.actions.push(op.action);
      } else if (differing(now, op.before).length > 0)
        problems.push(
          `unacknowledged edit of ${t.id} half-applied: ${differing(now, op.before).join(', ')} changed, ${differing(now, op.after).join(', ')} did not`,
        );
    } else if (op.kind === 'roll') {
      if (found.keyPrefix !== op.oldPrefix) {
        applied = true;
        world.rolled(t, op.grace, op.oldKey);
        t.keyPrefix = found.keyPrefix;
      }
    }
    world.tally[op.kind][applied ? 'unackedApplied' : 'unackedNotApplied']++;
  }

  // Everything the model holds now (acknowledged, and settled above) must be there, whole.
  const known = new Set<string>();
  for (const t of world.live) {
    if (t.id === null) continue;
    known.add(t.id);
    const found = seen.tokens.get(t.id);
    if (!found) {
      problems.push(`token ${t.id} (${t.label}) is missing`);
      continue;
    }
    const wrong = differing(fieldsOf(found), t.fields);
    if (wrong.length > 0) problems.push(`token ${t.id}: ${wrong.join(', ')} not as last written`);
    if (found.keyPrefix !== t.keyPrefix) problems.push(`token ${t.id}: key prefix not that of its last key`);
    const rows = seen.keyRows.get(t.id) ?? { current: 0, graced: 0 };
    if (rows.current !== 1) problems.push(`token ${t.id}: ${rows.current} current keys, not 1`);
    if (rows.graced !== t.gracedRows)
      problems.push(`token ${t.id}: ${rows.graced} old keys in grace, expected ${t.gracedRows}`);
  }
  for (const t of world.gone) {
    if (t.id === null) continue;
    known.add(t.id);
    if (seen.tokens.has(t.id)) problems.push(`deleted token ${t.id} is back`);
  }
  for (const id of seen.tokens.keys())
    if (!known.has(id)) problems.push(`token ${id} exists but no create of it was sent`);
  for (const [id, rows] of seen.keyRows)
    if (!seen.tokens.has(id)) problems.push(`${rows.current + rows.graced} key rows of token ${id}, which is gone`);

  // One audit record per applied change, none for a change not applied (they share its transaction).
  const audited = new Map<string, string[]>();
  for (const r of seen.audit) audited.set(r.targetId, [...(audited.get(r.targetId) ?? []), r.action]);
  for (const t of [...world.live, ...world.gone]) {
    if (t.id === null) continue;
    const got = [...(audited.get(t.id) ?? [])].sort();
    const want = [...t.actions].sort();
    if (JSON.stringify(got) !== JSON.stringify(want))
      problems.push(`audit of ${t.id}: ${JSON.stringify(got)}, applied ${JSON.stringify(want)}`);
  }
  for (const [id, actions] of audited)
    if (!known.has(id)) problems.push(`audit records ${JSON.stringify(actions)} for token ${id}, which never existed`);

  const keys: KeyExpectation[] = [];
  for (const t of world.live) {
    if (t.id === null) continue;
    const expect = t.fields.active
      ? { status: 200 as const, tokenId: t.id, permissions: t.fields.permissions }
      : { status: 401 as const, code: 'KEY_DISABLED' as const };
    if (t.key !== null) keys.push({ key: t.key, what: `current key of ${t.id}`, expect });
    for (const key of t.graced) keys.push({ key, what: `old key of ${t.id}, in its grace`, expect });
  }
  for (const key of world.deadKeys)
    keys.push({ key, what: 'a key deleted or rolled out without grace', expect: { status: 401, code: 'KEY_INVALID' } });
  return { problems, keys };
}

/** A keyed request and when its full answer came, for the access-log check. */
export interface KeyedRequest {
  id: string;
  /** performance.now() when it was sent. */
  sentAt: number;
  /** performance.now() at the full answer; null when none came. */
  answeredAt: number | null;
}

/**
 * Presents every key to GET /me (several at once) and compares the answers. Each request carries
 * a request id from `nextId`, so the access-log check can look for its record.
 */
export async function checkKeys(
  base: string,
  keys: KeyExpectation[],
  nextId: () => string,
  sent: KeyedRequest[],
): Promise<string[]> {
  const problems: string[] = [];
  let i = 0;
  const worker = async () => {
    while (i < keys.length) {
      const k = keys[i++]!;
      const id = nextId();
      const entry: KeyedRequest = { id, sentAt: performance.now(), answeredAt: null };
      sent.push(entry);
      const res = await request(base, 'GET', '/me', { key: k.key, requestId: id });
      entry.answeredAt = res.at;
      const body = JSON.parse(res.text);
      if (k.expect.status === 200) {
        if (res.status !== 200 || body.token?.id !== k.expect.tokenId)
          problems.push(`${k.what}: ${res.status} ${body.error?.code ?? body.token?.id}, expected it to work`);
        else if (JSON.stringify(body.token.permissions) !== JSON.stringify(k.expect.permissions))
          problems.push(`${k.what}: permissions ${JSON.stringify(body.token.permissions)}, not as last written`);
      } else if (res.status !== 401 || body.error?.code !== k.expect.code)
        problems.push(`${k.what}: ${res.status} ${body.error?.code ?? 'token'}, expected ${k.expect.code}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return problems;
}

/** What the access-log check found for one process's life. */
export interface AccessLogFinding {
  problems: string[];
  /** Records answered longer than the bound before the process was last seen working: each must be there. */
  checked: number;
  /** Records answered within the bound that were not written. */
  lost: number;
  /** How long before the kill the oldest lost record was answered (ms); 0 if none was lost. */
  oldestLostMs: number;
  /** How long before the kill the process was last seen working (the last answered request was sent). */
  stalledMs: number;
  /** The widest gap between a lost record's answer and the process last seen working: how near the bound came. */
  lostSpanMs: number;
}

/**
 * Checks the access log of a killed process. The bound is README's: a record is written within the
 * flush interval of its request's answer plus the write of its batch, once the process gets to run
 * its timers. So a record must be there when a request sent more than `boundMs` after its answer
 * was itself answered before the kill: that answer shows the process was running its event loop
 * (timers first) past the moment the record's batch was due. Without such evidence a busy or starved
 * process has not broken the promise, only not yet kept it. Also, every record the process said it
 * had written (its last stats answer) is there, and none twice.
 */
export function checkAccessLog(
  records: { requestId: string }[],
  sent: KeyedRequest[],
  killedAt: number,
  boundMs: number,
  writtenSaid: number,
): AccessLogFinding {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.requestId, (counts.get(r.requestId) ?? 0) + 1);
  const lastSeenWorking = Math.max(0, ...sent.filter((s) => s.answeredAt !== null).map((s) => s.sentAt));
  let checked = 0;
  let lost = 0;
  let oldestLostMs = 0;
  let present = 0;
  let lostSpanMs = 0;
  for (const s of sent) {
    const n = counts.get(s.id) ?? 0;
    if (n > 1) problems.push(`request ${s.id} has ${n} access-log records`);
    if (n > 0) present++;
    if (s.answeredAt === null) continue;
    if (lastSeenWorking - s.answeredAt > boundMs) {
      checked++;
      if (n === 0) {
        const answeredAt = s.answeredAt;
        const laterKept = sent.filter((x) => x.answeredAt !== null && x.answeredAt > answeredAt && counts.has(x.id));
        problems.push(
          `request ${s.id}, answered ${Math.round(killedAt - answeredAt)} ms before the kill and ${Math.round(lastSeenWorking - answeredAt)} ms before a request that was answered, has no record (${laterKept.length} later ones have)`,
        );
      }
    } else if (n === 0) {
      lost++;
      oldestLostMs = Math.max(oldestLostMs, killedAt - s.answeredAt);
      lostSpanMs = Math.max(lostSpanMs, lastSeenWorking - s.answeredAt);
    }
  }
  if (present < writtenSaid)
    problems.push(`the process said it had written ${writtenSaid} records; ${present} are there`);
  return { problems, checked, lost, oldestLostMs, stalledMs: killedAt - lastSeenWorking, lostSpanMs };
}
