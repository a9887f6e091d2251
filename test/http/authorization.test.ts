import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DEFAULT_MODEL } from '../../src/domain/model.js';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { assertError, call, userWithSession, type Reply } from '../support/client.js';

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
