import assert from 'node:assert/strict';
import { csrfTokenFor } from '../../src/http/csrf.js';
import type { Keygate } from '../../src/keygate.js';
import { asUser, email, PASSWORD } from '../support/client.js';
import { noteSecret, noteSecretsIn } from '../support/secret-scan.js';

/**
 * The fuzzer's world: a resource tree, people, tokens and a webhook to aim requests at, and the
 * principals that send them. Principals live apart from the targets: their ids are never offered
 * to the fuzzer, so a request may delete, roll or demote a target but only reach a principal through
 * a route that takes no id (sign-out, a leaked-key report). `refresh` puts back whatever a request
 * took away, so the next request still has something real to hit.
 */

/** What a path parameter or an id-valued field can point at. */
export type TargetKind = 'resource' | 'user' | 'token' | 'webhook' | 'delivery';

/** Who sends a request. Cookie principals are people signed in to the console. */
export type PrincipalName = 'admin' | 'reader';

/** A webhook receiver that is never there: deliveries fail at once, nothing leaves the machine. */
export const WEBHOOK_URL = 'http://127.0.0.1:9/keygate-fuzz';

export interface World {
  /** Real ids per kind, kept populated by `refresh`; the fuzzer picks among them by index at run time. */
  targets: Record<TargetKind, string[]>;
  /** Emails of the target users (routes that take an email or an id). */
  targetEmails: string[];
  /** The keys of the principals' tokens: an administrator-level and a reader-level token on the account. */
  keys: Record<PrincipalName, string>;
  /** The principals' session cookies. */
  cookies: Record<PrincipalName, string>;
  /** The CSRF token of a principal's session (as the console sends it). */
  csrf(who: PrincipalName): string;
  /** Every secret a message must not show: keys and cookies. */
  secrets(): string[];
  /** Puts back whatever the last request deleted, signed out, revoked or rolled. */
  refresh(): Promise<void>;
  /** A cheap fingerprint of the state refused writes must leave alone: tokens, keys, resources, memberships, users, webhooks. */
  snapshot(): Promise<Snapshot>;
}

/** Rows per table, each row one JSON string keyed by its id; volatile columns left out. */
export type Snapshot = Record<string, Map<string, string>>;

/** Columns a request may change without changing anything a refusal must leave alone. */
const VOLATILE = new Set([
  'last_used_at',
  'last_used_ip',
  'credits_remaining',
  'credits_refilled_at',
  'password_hash', // compared through its own fingerprint below; never kept in a message
]);

/** Builds the world over a fresh keygate. */
export async function buildWorld(kg: Keygate): Promise<World> {
  const adminRow = await kg.users.create(
    { email: email('fuzz-admin'), password: PASSWORD, systemRole: 'admin' },
    'system',
  );
  const readerRow = await kg.users.create({ email: email('fuzz-reader'), password: PASSWORD }, 'system');
  const admin = await asUser(kg, adminRow.id);
  const account = await kg.resources.create(admin, { type: 'account', name: 'Fuzz account' }, null);
  // A child the fuzzer cannot name keeps the account (and the principals' tokens on it) from being deleted.
  await kg.resources.create(admin, { type: 'database', name: 'anchor', parentId: account.id }, null);
  await kg.resources.setRole(admin, account.id, readerRow.id, 'reader', null);

  const principalToken = async (level: string, logging: 'none' | 'request+response') => {
    const made = await kg.tokens.create(admin, account.id, { name: `fuzz ${level}`, level, logging }, null);
    noteSecret(made.key);
    return made.key;
  };
  const signIn = async (row: { email: string }) => {
    const { cookie } = await kg.users.signIn(row.email, PASSWORD);
    noteSecret(cookie);
    return cookie;
  };

  const targets: Record<TargetKind, string[]> = { resource: [], user: [], token: [], webhook: [], delivery: [] };
  const targetEmails: string[] = [];

  /** The target resources by role, so a deleted one is recreated in its place in the tree. */
  const tree: { id: string; type: string; parent: () => string }[] = [];
  const folder = () => tree[1]!.id;
  const makeResource = async (type: string, parent: () => string) =>
    (await kg.resources.create(admin, { type, name: `fuzz ${type}`, parentId: parent() }, null)).id;
  for (const [type, parent] of [
    ['folder', () => account.id],
    ['folder', () => account.id],
    ['building', folder],
    ['database', () => account.id],
  ] as const)
    tree.push({ id: await makeResource(type, parent), type, parent });

  const makeUser = async () => {
    const row = await kg.users.create({ email: email('fuzz-target'), password: PASSWORD }, admin);
    await kg.resources.setRole(admin, folder(), row.id, 'manager', null);
    return row;
  };
  const makeToken = async (level: string) => {
    const made = await kg.tokens.create(admin, folder(), { name: `target ${level}`, level }, null);
    noteSecret(made.key);
    return made.view.row.id;
  };
  const makeWebhook = async () => {
    const made = await kg.webhooks.create(admin, { url: WEBHOOK_URL, resourceId: account.id });
    // A signing secret may rest in the webhooks table (keygate signs with it), nowhere else.
    noteSecretsIn({ secret: made.secret });
    return made.row.id;
  };

  const users = [await makeUser(), await makeUser()];
  const tokenLevels = ['manager', 'reader', 'administrator'];
  const tokens: string[] = [];
  for (const level of tokenLevels) tokens.push(await makeToken(level));
  const webhooks = [await makeWebhook()];
  const delivery = await kg.webhooks.ping(admin, webhooks[0]!);

  const world: World = {
    targets,
    targetEmails,
    keys: {
      admin: await principalToken('administrator', 'request+response'),
      reader: await principalToken('reader', 'none'),
    },
    cookies: { admin: await signIn(adminRow), reader: await signIn(readerRow) },
    csrf: (who) => csrfTokenFor(world.cookies[who]),
    secrets: () => [...Object.values(world.keys), ...Object.values(world.cookies)],
    async refresh() {
      const db = kg.stores.db;
      const present = async (table: 'resources' | 'users' | 'tokens' | 'webhooks', ids: string[]) =>
        new Set((await db.selectFrom(table).select('id').where('id', 'in', ids).execute()).map((r) => r.id));
      const resources = await present(
        'resources',
        tree.map((r) => r.id),
      );
      for (const r of tree) if (!resources.has(r.id)) r.id = await makeResource(r.type, r.parent);
      const liveUsers = await present(
        'users',
        users.map((u) => u.id),
      );
      for (const [i, u] of users.entries()) if (!liveUsers.has(u.id)) users[i] = await makeUser();
      const liveTokens = await present('tokens', tokens);
      for (const [i, id] of tokens.entries()) if (!liveTokens.has(id)) tokens[i] = await makeToken(tokenLevels[i]!);
      const liveHooks = await present('webhooks', webhooks);
      for (const [i, id] of webhooks.entries()) if (!liveHooks.has(id)) webhooks[i] = await makeWebhook();
      // A principal's token deactivated by a leak report, or its session ended: a new one.
      for (const who of ['admin', 'reader'] as const) {
        const verdict = await kg.access.evaluateKey(world.keys[who]);
        if (verdict.code !== 'VALID')
          world.keys[who] =
            who === 'admin'
              ? await principalToken('administrator', 'request+response')
              : await principalToken('reader', 'none');
        const row = who === 'admin' ? adminRow : readerRow;
        if ((await kg.users.sessionUserId(world.cookies[who])) !== row.id) world.cookies[who] = await signIn(row);
      }
      fill();
    },
    async snapshot() {
      const db = kg.stores.db;
      const [tokenRows, keyRows, resourceRows, memberRows, userRows, hookRows] = await Promise.all([
        db.selectFrom('tokens').selectAll().execute(),
        db.selectFrom('token_keys').selectAll().execute(),
        db.selectFrom('resources').selectAll().execute(),
        db.selectFrom('memberships').selectAll().execute(),
        db.selectFrom('users').selectAll().execute(),
        db.selectFrom('webhooks').selectAll().execute(),
      ]);
      const keyed = (rows: Record<string, unknown>[], id: (r: Record<string, unknown>) => string) =>
        new Map(
          rows.map((r) => [
            id(r),
            JSON.stringify(
              Object.entries(r)
                .filter(([k]) => !VOLATILE.has(k))
                .map(([k, v]) => [k, String(v)])
                .concat(r.password_hash === undefined ? [] : [['password', fingerprint(r.password_hash)]]),
            ),
          ]),
        );
      return {
        tokens: keyed(tokenRows, (r) => String(r.id)),
        token_keys: keyed(keyRows, (r) => `${r.token_id}/${fingerprint(r.key_hash)}`),
        resources: keyed(resourceRows, (r) => String(r.id)),
        memberships: keyed(memberRows, (r) => `${r.resource_id}/${r.user_id}`),
        users: keyed(userRows, (r) => String(r.id)),
        webhooks: keyed(hookRows, (r) => String(r.id)),
      };
    },
  };

  /** The target lists, rebuilt from the live objects (in place: the fuzzer holds these arrays). */
  function fill(): void {
    const replace = (list: string[], values: string[]) => list.splice(0, list.length, ...values);
    replace(targets.resource, [account.id, ...tree.map((r) => r.id)]);
    replace(
      targets.user,
      users.map((u) => u.id),
    );
    replace(
      targetEmails,
      users.map((u) => u.email),
    );
    replace(targets.token, tokens);
    replace(targets.webhook, webhooks);
    replace(targets.delivery, [delivery.id]);
  }
  fill();
  assert.ok(world.keys.admin && world.keys.reader);
  return world;
}

/** A short, non-reversible tag for a secret column, so a change shows without the value. */
function fingerprint(value: unknown): string {
  let h = 2166136261;
  for (const ch of String(value)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 0).toString(16);
}

/** The tables and row ids in which two snapshots differ (ids and column names only: never a value). */
export function snapshotDiff(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [table, rows] of Object.entries(before)) {
    const later = after[table] ?? new Map<string, string>();
    for (const [id, row] of rows) {
      const now = later.get(id);
      if (now === undefined) out.push(`${table} ${id} removed`);
      else if (now !== row) {
        const a = new Map(JSON.parse(row) as [string, string][]);
        const b = new Map(JSON.parse(now) as [string, string][]);
        const columns = [...a.keys()].filter((k) => a.get(k) !== b.get(k));
        out.push(`${table} ${id} changed (${columns.join(', ')})`);
      }
    }
    for (const id of later.keys()) if (!rows.has(id)) out.push(`${table} ${id} added`);
  }
  return out;
}
