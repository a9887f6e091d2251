import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { DEFAULT_MODEL } from '../../src/domain/model.js';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { asUser, assertError, call, userWithSession, type Reply } from '../support/client.js';

/**
 * The authorization table, over HTTP: owner's role × token level × position of the target ×
 * the token's API group × the token's state. Each row's expected outcome comes from the small
 * oracle below, written from the spec's rules and not from the code under test.
 *
 * The tree: account A > folder F > building B; folder F2 under A (F's sibling); account X apart.
 * Every token is attached at F; every owner holds its role on A (so it holds at F and B too).
 */

type Level = 'reader' | 'manager' | 'administrator';
type Position = 'F' | 'B' | 'A' | 'F2' | 'X';
type Group = 'native' | 'resources' | 'tokens';
type State = 'active' | 'deactivated' | 'expired' | 'owner deactivated';

const LEVELS: Level[] = ['reader', 'manager', 'administrator'];
const POSITIONS: { pos: Position; label: string }[] = [
  { pos: 'F', label: 'F (its own resource)' },
  { pos: 'B', label: 'B (descendant)' },
  { pos: 'A', label: 'A (ancestor)' },
  { pos: 'F2', label: 'F2 (sibling)' },
  { pos: 'X', label: 'X (other account)' },
];
const GROUPS: Group[] = ['native', 'resources', 'tokens'];
const STATES: State[] = ['active', 'deactivated', 'expired', 'owner deactivated'];

/** What each level (and role) bundles, as the spec's model names them. */
const BUNDLES: Record<Level, string[]> = {
  reader: ['resources:read', 'members:read', 'tokens:create'],
  manager: ['resources:read', 'members:read', 'tokens:create', 'resources:write', 'tokens:read', 'logs:read'],
  administrator: [
    'resources:read',
    'members:read',
    'tokens:create',
    'resources:write',
    'tokens:read',
    'logs:read',
    'resources:delete',
    'members:manage',
    'tokens:manage',
    'keys:verify',
  ],
};
const RANK: Record<Level, number> = { reader: 0, manager: 1, administrator: 2 };

/** The endpoints each row calls: group and the permission each needs on the target. */
interface Endpoint {
  name: string;
  group: Group;
  permission: string | null;
  request(env: TestEnv, key: string, targetId: string): Promise<Reply>;
}
const ENDPOINTS: Endpoint[] = [
  {
    name: 'GET /resources/:target',
    group: 'resources',
    permission: 'resources:read',
    request: ({ app }, key, id) => call(app, 'GET', `/api/v1.0/resources/${id}`, { key }),
  },
  {
    name: 'PATCH /resources/:target',
    group: 'resources',
    permission: 'resources:write',
    request: ({ app }, key, id) =>
      call(app, 'PATCH', `/api/v1.0/resources/${id}`, { key, body: { name: `renamed ${id.slice(-4)}` } }),
  },
  // Listing a resource's tokens needs no particular permission (only some right there); tokens:read widens it from "own" to "all".
  {
    name: 'GET /resources/:target/tokens',
    group: 'tokens',
    permission: null,
    request: ({ app }, key, id) => call(app, 'GET', `/api/v1.0/resources/${id}/tokens?limit=500`, { key }),
  },
];

interface Row {
  role: Level;
  level: Level;
  pos: Position;
  group: Group;
  state: State;
}

type Outcome = { status: 200 } | { status: number; code: string };

/** The oracle: state, then API group, then scope, then permission. */
function expected(row: Row, endpoint: Endpoint): Outcome {
  if (row.state === 'deactivated' || row.state === 'owner deactivated') return { status: 401, code: 'KEY_DISABLED' };
  if (row.state === 'expired') return { status: 401, code: 'KEY_EXPIRED' };
  if (row.group !== 'native' && row.group !== endpoint.group) return { status: 403, code: 'API_GROUP_NOT_ALLOWED' };
  if (row.pos !== 'F' && row.pos !== 'B') return { status: 404, code: 'NOT_FOUND' };
  const rights = BUNDLES[row.level].filter((p) => BUNDLES[row.role].includes(p));
  if (endpoint.permission !== null && !rights.includes(endpoint.permission))
    return { status: 403, code: 'INSUFFICIENT_PERMISSIONS' };
  return { status: 200 };
}

function rowName(row: Row): string {
  const pos = POSITIONS.find((p) => p.pos === row.pos)!.label;
  return `owner ${row.role} × token ${row.level} at F × target ${pos} × group ${row.group} × ${row.state}`;
}

forEachDialect('authorization table over HTTP', (env) => {
  const ids = {} as Record<Position, string>;
  /** Keys by `role/level/group/state`. */
  const keys = new Map<string, string>();
  const ownerIds = new Map<string, string>();
  /** A token of the administrator's at each position, to tell "all tokens" listings from "own only". */
  const probes = {} as Record<Position, string>;
  let adminCookie = '';

  const tokenKey = (r: Pick<Row, 'role' | 'level' | 'group' | 'state'>) => `${r.role}/${r.level}/${r.group}/${r.state}`;

  before(async () => {
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    adminCookie = admin.cookie;
    const make = async (type: string, name: string, parentId?: string) => {
      const res = await call(app, 'POST', '/api/v1.0/resources', {
        cookie: admin.cookie,
        body: { type, name, ...(parentId ? { parentId } : {}) },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    ids.A = await make('account', 'A');
    ids.F = await make('folder', 'F', ids.A);
    ids.B = await make('building', 'B', ids.F);
    ids.F2 = await make('folder', 'F2', ids.A);
    ids.X = await make('account', 'X');

    for (const { pos } of POSITIONS) {
      const res = await call(app, 'POST', `/api/v1.0/resources/${ids[pos]}/tokens`, {
        cookie: admin.cookie,
        body: { name: `probe ${pos}`, level: 'reader' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      probes[pos] = res.body.id;
    }

    // One owner per role whose tokens stay live, and one per role who will be deactivated.
    for (const role of LEVELS) {
      for (const fate of ['live', 'doomed'] as const) {
        const owner = await userWithSession(app, kg, 'user');
        const put = await call(app, 'PUT', `/api/v1.0/resources/${ids.A}/members/${owner.id}`, {
          cookie: admin.cookie,
          body: { role },
        });
        assert.equal(put.status, 200, JSON.stringify(put.body));
        ownerIds.set(`${role}/${fate}`, owner.id);
        for (const level of LEVELS) {
          if (RANK[level] > RANK[role]) continue;
          for (const group of GROUPS) {
            const states = STATES.filter((s) => (fate === 'doomed') === (s === 'owner deactivated'));
            for (const state of states) {
              const res = await call(app, 'POST', `/api/v1.0/resources/${ids.F}/tokens`, {
                cookie: owner.cookie,
                body: { name: `${role} ${level} ${group} ${state}`, level, apiGroups: [group], expiresIn: '30d' },
              });
              assert.equal(res.status, 201, JSON.stringify(res.body));
              keys.set(tokenKey({ role, level, group, state }), res.body.key);
              if (state === 'deactivated') {
                const off = await call(app, 'POST', `/api/v1.0/tokens/${res.body.id}/deactivate`, {
                  cookie: owner.cookie,
                });
                assert.equal(off.status, 200, JSON.stringify(off.body));
              }
              if (state === 'expired') {
                await kg.stores.tokens.update(res.body.id, { expires_at: new Date(Date.now() - 60_000).toISOString() });
                kg.cache.invalidateToken(res.body.id);
              }
            }
          }
        }
      }
      const doomed = ownerIds.get(`${role}/doomed`)!;
      const off = await call(app, 'PATCH', `/api/v1.0/users/${doomed}`, {
        cookie: admin.cookie,
        body: { active: false },
      });
      assert.equal(off.status, 200, JSON.stringify(off.body));
    }
  });

  it("the oracle's bundles are the default model's levels", () => {
    for (const level of LEVELS)
      assert.deepEqual([...BUNDLES[level]].sort(), [...DEFAULT_MODEL.levels[level]!].sort(), level);
  });

  describe("a token cannot be created above its owner's role", () => {
    for (const role of LEVELS) {
      for (const level of LEVELS) {
        if (RANK[level] <= RANK[role]) continue;
        it(`owner ${role} × token ${level} at F → 403 PERMISSION_ESCALATION`, async () => {
          const { app, kg } = env();
          const owner = await userWithSession(app, kg, 'user');
          await call(app, 'PUT', `/api/v1.0/resources/${ids.A}/members/${owner.id}`, {
            cookie: adminCookie,
            body: { role },
          });
          const res = await call(app, 'POST', `/api/v1.0/resources/${ids.F}/tokens`, {
            cookie: owner.cookie,
            body: { name: 'too much', level },
          });
          assertError(res, 403, 'PERMISSION_ESCALATION');
          // Nor as an explicit list holding a permission of the higher level only.
          const extra = BUNDLES[level].find((p) => !BUNDLES[role].includes(p))!;
          const res2 = await call(app, 'POST', `/api/v1.0/resources/${ids.F}/tokens`, {
            cookie: owner.cookie,
            body: { name: 'too much', permissions: ['resources:read', extra] },
          });
          assertError(res2, 403, 'PERMISSION_ESCALATION');
        });
      }
    }
  });

  describe('the table', () => {
    for (const role of LEVELS) {
      for (const level of LEVELS) {
        if (RANK[level] > RANK[role]) continue;
        for (const { pos } of POSITIONS) {
          for (const group of GROUPS) {
            for (const state of STATES) {
              const row: Row = { role, level, pos, group, state };
              // Refused states are refused whatever the endpoint: one call per such row keeps the table small.
              const endpoints =
                state === 'active' ? ENDPOINTS : [ENDPOINTS.find((e) => group === 'native' || e.group === group)!];
              it(rowName(row), async () => {
                const key = keys.get(tokenKey(row));
                assert.ok(key, 'token was created in setup');
                for (const endpoint of endpoints) {
                  const want = expected(row, endpoint);
                  const got = await endpoint.request(env(), key, ids[pos]);
                  if ('code' in want) {
                    assertError(got, want.status, want.code);
                    continue;
                  }
                  assert.equal(got.status, 200, `${endpoint.name}: ${JSON.stringify(got.body)}`);
                  if (endpoint.group === 'resources') {
                    assert.equal(got.body.id, ids[pos], endpoint.name);
                  } else {
                    const listed: { id: string; ownerId: string; resourceId: string }[] = got.body.items;
                    assert.ok(
                      listed.every((t) => t.resourceId === ids[pos]),
                      'only tokens of the target',
                    );
                    const rights = BUNDLES[level].filter((p) => BUNDLES[role].includes(p));
                    const seesAll = rights.includes('tokens:read');
                    assert.equal(
                      listed.some((t) => t.id === probes[pos]),
                      seesAll,
                      `others' tokens listed iff tokens:read (${endpoint.name})`,
                    );
                    if (!seesAll)
                      assert.ok(
                        listed.every((t) => t.ownerId === ownerIds.get(`${role}/live`)),
                        'own tokens only',
                      );
                  }
                }
              });
            }
          }
        }
      }
    }
  });

  describe("a token's rights follow its owner's role, at once", () => {
    it('shrink when the owner is demoted, vanish when the membership goes, return when it is given back', async () => {
      const { app, kg } = env();
      const owner = await userWithSession(app, kg, 'user');
      const grant = (role: Level) =>
        call(app, 'PUT', `/api/v1.0/resources/${ids.A}/members/${owner.id}`, { cookie: adminCookie, body: { role } });
      assert.equal((await grant('administrator')).status, 200);
      const created = await call(app, 'POST', `/api/v1.0/resources/${ids.F}/tokens`, {
        cookie: owner.cookie,
        body: { name: 'shrinks', level: 'administrator' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const key: string = created.body.key;
      const patch = () => call(app, 'PATCH', `/api/v1.0/resources/${ids.F}`, { key, body: { name: 'F' } });
      const get = () => call(app, 'GET', `/api/v1.0/resources/${ids.B}`, { key });

      assert.equal((await patch()).status, 200);
      const me = await call(app, 'GET', '/api/v1.0/me', { key });
      assert.deepEqual(me.body.token.permissions, [...BUNDLES.administrator].sort());

      assert.equal((await grant('reader')).status, 200);
      assertError(await patch(), 403, 'INSUFFICIENT_PERMISSIONS');
      assert.equal((await get()).status, 200, 'still reads');
      const me2 = await call(app, 'GET', '/api/v1.0/me', { key });
      assert.deepEqual(me2.body.token.permissions, [...BUNDLES.reader].sort(), "level ∩ owner's role now");

      assert.equal(
        (await call(app, 'DELETE', `/api/v1.0/resources/${ids.A}/members/${owner.id}`, { cookie: adminCookie })).status,
        204,
      );
      assertError(await get(), 404, 'NOT_FOUND');
      assertError(await patch(), 404, 'NOT_FOUND');
      const me3 = await call(app, 'GET', '/api/v1.0/me', { key });
      assert.equal(me3.status, 200, 'the key itself is still valid');
      assert.deepEqual(me3.body.token.permissions, []);

      assert.equal((await grant('manager')).status, 200);
      assert.equal((await patch()).status, 200, 'rights return with the role');
    });

    it('a role held lower in the tree only counts below it', async () => {
      const { app, kg } = env();
      const owner = await userWithSession(app, kg, 'user');
      assert.equal(
        (
          await call(app, 'PUT', `/api/v1.0/resources/${ids.A}/members/${owner.id}`, {
            cookie: adminCookie,
            body: { role: 'reader' },
          })
        ).status,
        200,
      );
      assert.equal(
        (
          await call(app, 'PUT', `/api/v1.0/resources/${ids.B}/members/${owner.id}`, {
            cookie: adminCookie,
            body: { role: 'manager' },
          })
        ).status,
        200,
      );
      const created = await call(app, 'POST', `/api/v1.0/resources/${ids.F}/tokens`, {
        cookie: owner.cookie,
        body: { name: 'mixed', permissions: ['resources:read', 'resources:write'] },
      });
      assertError(created, 403, 'PERMISSION_ESCALATION');
      const reader = await call(app, 'POST', `/api/v1.0/resources/${ids.F}/tokens`, {
        cookie: owner.cookie,
        body: { name: 'reader', level: 'reader' },
      });
      assert.equal(reader.status, 201);
      // A manager-level token on B is fine: the owner is a manager there.
      const onB = await call(app, 'POST', `/api/v1.0/resources/${ids.B}/tokens`, {
        cookie: owner.cookie,
        body: { name: 'b', level: 'manager' },
      });
      assert.equal(onB.status, 201, JSON.stringify(onB.body));
      assert.equal(
        (await call(app, 'PATCH', `/api/v1.0/resources/${ids.B}`, { key: onB.body.key, body: { name: 'B' } })).status,
        200,
      );
      assertError(
        await call(app, 'PATCH', `/api/v1.0/resources/${ids.F}`, { key: onB.body.key, body: { name: 'F' } }),
        404,
        'NOT_FOUND',
      );
    });
  });
});

/*
 * The token-on-token table, over HTTP: every token-management route × who acts (people and tokens)
 * × which token they act on. The tree is the same (A > F > B). Roles on A: O manager, M administrator,
 * P reader; D was a manager when its tokens were made and is a reader now; N was a manager and holds no
 * role now. "20d", "30d", "60d" are expiries that many days ahead. The verdict of each cell below is
 * written by hand from the rule "act only on a token no stronger than you in permissions, API groups,
 * scope, expiry and impersonation; an impersonating token is the user it impersonates":
 *
 *   O  own token, within reach: everything, rolling and revealing too
 *   o  own token, stronger than the actor: may see it; anything else → 403 PERMISSION_ESCALATION
 *   M  another's token, with tokens:manage, within reach: manage it; roll and reveal → 403 FORBIDDEN
 *   m  another's token, with tokens:manage or tokens:read, stronger: see it; else → 403 PERMISSION_ESCALATION
 *   R  another's token, tokens:read only, within reach: see it; manage → 403 INSUFFICIENT_PERMISSIONS; reveal → 403 FORBIDDEN
 *   r  like R but stronger: reveal → 403 PERMISSION_ESCALATION
 *   N  out of sight: 404 NOT_FOUND everywhere
 *
 * A deactivation by someone other than the owner (T13) is lifted only with tokens:manage: an
 * allowed activate of T13 by anyone without it → 403 FORBIDDEN.
 */

type Person = 'O' | 'M' | 'P' | 'D' | 'N' | 'admin';
interface TokenSpec {
  owner: Person;
  at: 'F' | 'A' | 'B' | null;
  level: Level;
  groups?: string[];
  days: number | null;
  impersonate?: Person;
}
const TARGETS: { name: string; spec: TokenSpec; off?: 'M' | 'O' }[] = [
  { name: 'T1 O reader 20d', spec: { owner: 'O', at: 'F', level: 'reader', days: 20 } },
  { name: 'T2 O manager 20d', spec: { owner: 'O', at: 'F', level: 'manager', days: 20 } },
  { name: 'T3 O manager never', spec: { owner: 'O', at: 'F', level: 'manager', days: null } },
  { name: 'T4 O reader 60d', spec: { owner: 'O', at: 'F', level: 'reader', days: 60 } },
  {
    name: 'T5 O reader 20d [resources]',
    spec: { owner: 'O', at: 'F', level: 'reader', groups: ['resources'], days: 20 },
  },
  { name: 'T6 O reader 20d at A', spec: { owner: 'O', at: 'A', level: 'reader', days: 20 } },
  { name: 'T7 O reader 20d at B', spec: { owner: 'O', at: 'B', level: 'reader', days: 20 } },
  { name: 'T8 M reader 20d', spec: { owner: 'M', at: 'F', level: 'reader', days: 20 } },
  { name: 'T9 M administrator 20d', spec: { owner: 'M', at: 'F', level: 'administrator', days: 20 } },
  { name: 'T10 D manager 20d (D demoted since)', spec: { owner: 'D', at: 'F', level: 'manager', days: 20 } },
  {
    name: 'T11 admin reader 20d impersonating P',
    spec: { owner: 'admin', at: 'F', level: 'reader', days: 20, impersonate: 'P' },
  },
  { name: 'T12 admin system token reader 20d', spec: { owner: 'admin', at: null, level: 'reader', days: 20 } },
  { name: 'T13 O reader 20d, deactivated by M', spec: { owner: 'O', at: 'F', level: 'reader', days: 20 }, off: 'M' },
  { name: 'T14 O reader 20d, deactivated by O', spec: { owner: 'O', at: 'F', level: 'reader', days: 20 }, off: 'O' },
  { name: 'T15 O reader 20d [tokens]', spec: { owner: 'O', at: 'F', level: 'reader', groups: ['tokens'], days: 20 } },
];

type Letter = 'O' | 'o' | 'M' | 'm' | 'R' | 'r' | 'N';
interface Actor {
  name: string;
  /** A signed-in person, or a token of this spec. */
  person?: Person;
  token?: TokenSpec;
  /** Holds tokens:manage at F (lifts someone else's deactivation). */
  manages: boolean;
  /** One letter per target, T1 … T15. */
  cells: string;
  /** Shared targets in its "my tokens" list, and in F's token list (null: 404). */
  mine: number[];
  atF: number[] | null;
  /** Expected status of creating a 20-day and a never-expiring token at F, and a system token. */
  create: [number, number, number];
  /** Who owns what it creates. */
  creates?: Person;
}
const OWN_AT_F = [1, 2, 3, 4, 5, 13, 14, 15];
const ALL_AT_F = [1, 2, 3, 4, 5, 8, 9, 10, 11, 13, 14, 15];
const O_ALL = [1, 2, 3, 4, 5, 6, 7, 13, 14, 15];
const O_IN_F = [1, 2, 3, 4, 5, 7, 13, 14, 15];
const ACTORS: Actor[] = [
  {
    name: 'O signed in',
    person: 'O',
    manages: false,
    cells: 'OOOOOOORrRrNOOO',
    mine: O_ALL,
    atF: ALL_AT_F,
    create: [201, 201, 403],
  },
  {
    name: 'M signed in (account administrator)',
    person: 'M',
    manages: true,
    cells: 'MMMMMMMOOMmNMMM',
    mine: [8, 9],
    atF: ALL_AT_F,
    create: [201, 201, 403],
  },
  {
    name: 'admin signed in',
    person: 'admin',
    manages: true,
    cells: 'MMMMMMMMMMOOMMM',
    mine: [11, 12],
    atF: ALL_AT_F,
    create: [201, 201, 201],
  },
  {
    name: 'D signed in (demoted to reader)',
    person: 'D',
    manages: false,
    cells: 'NNNNNNNNNONNNNN',
    mine: [10],
    atF: [10],
    create: [201, 201, 403],
  },
  {
    name: 'N signed in (no role left)',
    person: 'N',
    manages: false,
    cells: 'NNNNNNNNNNNNNNN',
    mine: [],
    atF: null,
    create: [404, 404, 403],
  },
  {
    name: "O's manager token 30d",
    token: { owner: 'O', at: 'F', level: 'manager', days: 30 },
    manages: false,
    cells: 'OOooONORrRrNOOO',
    mine: O_IN_F,
    atF: ALL_AT_F,
    create: [201, 422, 403],
  },
  {
    name: "O's reader token 30d",
    token: { owner: 'O', at: 'F', level: 'reader', days: 30 },
    manages: false,
    cells: 'OoooONONNNNNOOO',
    mine: O_IN_F,
    atF: OWN_AT_F,
    create: [201, 422, 403],
  },
  {
    name: "O's manager token 30d [tokens]",
    token: { owner: 'O', at: 'F', level: 'manager', groups: ['tokens'], days: 30 },
    manages: false,
    cells: 'oooooNorrrrNooO',
    mine: O_IN_F,
    atF: ALL_AT_F,
    create: [201, 422, 403],
  },
  {
    name: "O's manager token, never expires",
    token: { owner: 'O', at: 'F', level: 'manager', days: null },
    manages: false,
    cells: 'OOOOONORrRrNOOO',
    mine: O_IN_F,
    atF: ALL_AT_F,
    create: [201, 201, 403],
  },
  {
    name: "O's manager token 30d at B",
    token: { owner: 'O', at: 'B', level: 'manager', days: 30 },
    manages: false,
    cells: 'NNNNNNONNNNNNNN',
    mine: [7],
    atF: null,
    create: [404, 404, 403],
  },
  {
    name: "D's manager token 30d (made before D's demotion)",
    token: { owner: 'D', at: 'F', level: 'manager', days: 30 },
    manages: false,
    cells: 'NNNNNNNNNoNNNNN',
    mine: [10],
    atF: [10],
    create: [201, 422, 403],
  },
  {
    name: "M's administrator token 30d",
    token: { owner: 'M', at: 'F', level: 'administrator', days: 30 },
    manages: true,
    cells: 'MMmmMNMOOMmNMMM',
    mine: [8, 9],
    atF: ALL_AT_F,
    create: [201, 422, 403],
  },
  {
    name: "admin's system token, never expires",
    token: { owner: 'admin', at: null, level: 'administrator', days: null },
    manages: true,
    cells: 'MMMMMMMMMMOOMMM',
    mine: [11, 12],
    atF: ALL_AT_F,
    create: [201, 201, 201],
  },
  {
    name: "admin's system token impersonating O",
    token: { owner: 'admin', at: null, level: 'administrator', days: null, impersonate: 'O' },
    manages: false,
    cells: 'OOOOOOORrRrNOOO',
    mine: O_ALL,
    atF: ALL_AT_F,
    create: [201, 201, 403],
    creates: 'O',
  },
  {
    name: "admin's administrator token at F, never expires",
    token: { owner: 'admin', at: 'F', level: 'administrator', days: null },
    manages: true,
    cells: 'MMMMMNMMMMoNMMM',
    mine: [11],
    atF: ALL_AT_F,
    create: [201, 201, 403],
  },
  {
    name: "N's manager token 30d (N has no role now)",
    token: { owner: 'N', at: 'F', level: 'manager', days: 30 },
    manages: false,
    cells: 'NNNNNNNNNNNNNNN',
    mine: [],
    atF: null,
    create: [404, 404, 403],
  },
];

type ManageRoute = 'GET' | 'PATCH' | 'DELETE' | 'activate' | 'deactivate' | 'roll' | 'reveal';
const MANAGE_ROUTES: ManageRoute[] = ['GET', 'PATCH', 'DELETE', 'activate', 'deactivate', 'roll', 'reveal'];
/** Routes that change the token when allowed: those cells act on a fresh copy of the target. */
const MUTATING: ManageRoute[] = ['DELETE', 'activate', 'deactivate', 'roll'];

/** The oracle for one cell. */
type Verdict = { status: 200 | 204 } | { status: number; code: string };
function expectedOn(letter: Letter, route: ManageRoute, actor: Actor, targetIndex: number): Verdict {
  if (letter === 'N') return { status: 404, code: 'NOT_FOUND' };
  if (route === 'GET') return { status: 200 };
  const stronger = letter === 'o' || letter === 'm' || letter === 'r';
  if (route === 'reveal') {
    if (stronger) return { status: 403, code: 'PERMISSION_ESCALATION' };
    return letter === 'O' ? { status: 200 } : { status: 403, code: 'FORBIDDEN' };
  }
  if (letter === 'R' || letter === 'r') return { status: 403, code: 'INSUFFICIENT_PERMISSIONS' };
  if (stronger) return { status: 403, code: 'PERMISSION_ESCALATION' };
  if (route === 'roll' && letter === 'M') return { status: 403, code: 'FORBIDDEN' };
  if (route === 'activate' && targetIndex === 13 && !actor.manages) return { status: 403, code: 'FORBIDDEN' };
  return { status: route === 'DELETE' ? 204 : 200 };
}

forEachDialect(
  'token-on-token authorization table over HTTP',
  (env) => {
    const ids = {} as Record<'A' | 'F' | 'B', string>;
    const people = {} as Record<Person, { id: string; email: string; cookie: string }>;
    const actorKeys = new Map<string, string>();
    /** Shared targets by index (1-based), and fresh copies by `route/actor/index`. */
    const shared = new Map<number, string>();
    const fresh = new Map<string, string>();
    const DAY_MS = 86_400_000;
    const t0 = Date.now();

    const who = (a: Actor) => (a.person ? { cookie: people[a.person].cookie } : { key: actorKeys.get(a.name)! });

    before(async () => {
      const { app, kg } = env();
      for (const p of ['O', 'M', 'P', 'D', 'N'] as const) people[p] = await userWithSession(app, kg, 'user');
      people.admin = await userWithSession(app, kg, 'admin');
      const make = async (type: string, name: string, parentId?: string) => {
        const res = await call(app, 'POST', '/api/v1.0/resources', {
          cookie: people.admin.cookie,
          body: { type, name, ...(parentId ? { parentId } : {}) },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        return res.body.id as string;
      };
      ids.A = await make('account', 'A');
      ids.F = await make('folder', 'F', ids.A);
      ids.B = await make('building', 'B', ids.F);
      const roles: [Person, Level][] = [
        ['O', 'manager'],
        ['M', 'administrator'],
        ['P', 'reader'],
        ['D', 'manager'],
        ['N', 'manager'],
      ];
      for (const [p, role] of roles) {
        const put = await call(app, 'PUT', `/api/v1.0/resources/${ids.A}/members/${people[p].id}`, {
          cookie: people.admin.cookie,
          body: { role },
        });
        assert.equal(put.status, 200, JSON.stringify(put.body));
      }
      /** Made through the service as the owner (setup, not the code under test's HTTP surface). */
      const mint = async (spec: TokenSpec, off?: 'M' | 'O') => {
        const p = await asUser(kg, people[spec.owner].id);
        const { view, key } = await kg.tokens.create(
          p,
          spec.at === null ? null : ids[spec.at],
          {
            name: 'cell',
            level: spec.level,
            apiGroups: spec.groups ?? ['native'],
            expiresAt: spec.days === null ? null : new Date(t0 + spec.days * DAY_MS).toISOString(),
            ...(spec.impersonate ? { impersonate: people[spec.impersonate].email } : {}),
          },
          null,
        );
        if (off) await kg.tokens.setActive(await asUser(kg, people[off].id), view.row.id, false, null);
        return { id: view.row.id, key };
      };
      for (const a of ACTORS) if (a.token) actorKeys.set(a.name, (await mint(a.token)).key);
      for (const [i, t] of TARGETS.entries()) shared.set(i + 1, (await mint(t.spec, t.off)).id);
      for (const route of MUTATING)
        for (const a of ACTORS)
          for (const [i, t] of TARGETS.entries()) {
            const want = expectedOn(a.cells[i] as Letter, route, a, i + 1);
            if (want.status < 300) fresh.set(`${route}/${a.name}/${i + 1}`, (await mint(t.spec, t.off)).id);
          }
      // Only now do D and N lose their roles, after their tokens were made.
      const demote = await call(app, 'PUT', `/api/v1.0/resources/${ids.A}/members/${people.D.id}`, {
        cookie: people.admin.cookie,
        body: { role: 'reader' },
      });
      assert.equal(demote.status, 200, JSON.stringify(demote.body));
      const drop = await call(app, 'DELETE', `/api/v1.0/resources/${ids.A}/members/${people.N.id}`, {
        cookie: people.admin.cookie,
      });
      assert.equal(drop.status, 204, JSON.stringify(drop.body));
    });

    it('every actor has one hand-written cell per target', () => {
      for (const a of ACTORS) assert.match(a.cells, new RegExp(`^[OoMmRrN]{${TARGETS.length}}$`), a.name);
    });

    const request = (route: ManageRoute, id: string, as: { key: string } | { cookie: string }) => {
      const { app } = env();
      const path = `/api/v1.0/tokens/${id}`;
      switch (route) {
        case 'GET':
          return call(app, 'GET', path, as);
        case 'PATCH':
          return call(app, 'PATCH', path, { ...as, body: { description: 'edited' } });
        case 'DELETE':
          return call(app, 'DELETE', path, as);
        case 'activate':
        case 'deactivate':
          return call(app, 'POST', `${path}/${route}`, as);
        case 'roll':
          return call(app, 'POST', `${path}/roll`, { ...as, body: { graceSeconds: 0 } });
        case 'reveal':
          return call(app, 'GET', `${path}/key`, as);
      }
    };

    for (const actor of ACTORS) {
      describe(actor.name, () => {
        for (const route of MANAGE_ROUTES) {
          it(`${route} on each target`, async () => {
            for (const [i, target] of TARGETS.entries()) {
              const want = expectedOn(actor.cells[i] as Letter, route, actor, i + 1);
              const id = fresh.get(`${route}/${actor.name}/${i + 1}`) ?? shared.get(i + 1)!;
              const got = await request(route, id, who(actor));
              const label = `${route} ${target.name} → ${JSON.stringify(got.body)}`;
              assert.equal(got.status, want.status, label);
              if ('code' in want) assert.equal(got.body.error.code, want.code, label);
              if ((route === 'roll' || route === 'reveal') && got.status === 200) assert.match(got.body.key, /\S/);
              if (got.status >= 400) assert.equal(got.body.key, undefined, 'no key with a refusal');
            }
          });
        }

        it('GET /tokens (my tokens) and GET /resources/F/tokens', async () => {
          const { app } = env();
          const sharedIds = new Map([...shared].map(([i, id]) => [id, i]));
          const pages = async (path: string) => {
            const seen: number[] = [];
            let cursor: string | null = null;
            do {
              const res = await call(app, 'GET', `${path}?limit=500${cursor ? `&cursor=${cursor}` : ''}`, who(actor));
              if (res.status !== 200) return res.status;
              for (const t of res.body.items as { id: string }[]) {
                const i = sharedIds.get(t.id);
                if (i !== undefined) seen.push(i);
              }
              cursor = res.body.nextCursor;
            } while (cursor);
            return seen.sort((x, y) => x - y);
          };
          assert.deepEqual(await pages('/api/v1.0/tokens'), actor.mine, 'my tokens');
          assert.deepEqual(await pages(`/api/v1.0/resources/${ids.F}/tokens`), actor.atF ?? 404, "F's tokens");
        });

        it('POST /resources/F/tokens (20 days, never) and POST /tokens', async () => {
          const { app } = env();
          const body = (expiresAt: string | null) => ({ name: 'made', level: 'reader', expiresAt });
          const in20 = new Date(Date.now() + 20 * DAY_MS).toISOString();
          const made = [
            await call(app, 'POST', `/api/v1.0/resources/${ids.F}/tokens`, { ...who(actor), body: body(in20) }),
            await call(app, 'POST', `/api/v1.0/resources/${ids.F}/tokens`, { ...who(actor), body: body(null) }),
            await call(app, 'POST', '/api/v1.0/tokens', { ...who(actor), body: body(in20) }),
          ];
          assert.deepEqual(
            made.map((r) => r.status),
            actor.create,
            JSON.stringify(made.map((r) => r.body)),
          );
          const owner = people[actor.creates ?? actor.person ?? actor.token!.owner].id;
          for (const r of made.filter((x) => x.status === 201)) {
            assert.equal(r.body.ownerId, owner, 'owned by the user the actor acts as');
            assert.equal(r.body.impersonate, null);
          }
        });
      });
    }
  },
  { KEYGATE_RECOVERABLE_KEYS: 'true', KEYGATE_ENCRYPTION_KEY: randomBytes(32).toString('hex') },
);
