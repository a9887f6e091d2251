import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_MODEL, allPermissions, levelPermissions } from '../../src/domain/model.js';
import {
  apiGroupAllows,
  deactivationHolds,
  decideToken,
  escalation,
  inScope,
  strongerThanActor,
  userPermissionsAt,
  type Ancestry,
  type Dimension,
  type TokenActor,
  type DecisionCode,
  type TokenFacts,
  type TokenQuestion,
  type UserFacts,
} from '../../src/domain/policy.js';

/*
 * The fixed tree of the authorization table:
 *
 *   A (account) ── F (folder) ── B (building)
 *               └─ F2 (folder)
 *   X (account)
 */
const ANCESTRY: Record<'A' | 'F' | 'B' | 'F2' | 'X', Ancestry> = {
  A: ['A'],
  F: ['F', 'A'],
  B: ['B', 'F', 'A'],
  F2: ['F2', 'A'],
  X: ['X'],
};

const NOW = new Date('2025-06-01T00:00:00.000Z');
const PAST = '2025-05-31T23:59:59.999Z';
const FUTURE = '2025-06-01T00:00:00.001Z';

// ---------------------------------------------------------------------------------------------
// The independent oracle. It knows the levels only as ranks and each permission only by the
// least rank that carries it, written out here by hand; it does not call the policy or model.
// ---------------------------------------------------------------------------------------------
type Level = 'reader' | 'manager' | 'administrator';
type Role = 'none' | Level;
const RANK: Record<Role, number> = { none: 0, reader: 1, manager: 2, administrator: 3 };
const LEAST_RANK: Record<string, number> = {
  'resources:read': 1,
  'members:read': 1,
  'tokens:create': 1,
  'resources:write': 2,
  'tokens:read': 2,
  'logs:read': 2,
  'resources:delete': 3,
  'members:manage': 3,
  'tokens:manage': 3,
  'keys:verify': 3,
};
const PERMISSION_NAMES = Object.keys(LEAST_RANK);
/** Permissions available at a rank. */
const upTo = (rank: number) => PERMISSION_NAMES.filter((p) => LEAST_RANK[p]! <= rank).sort();

type Position = 'F (same)' | 'B (descendant)' | 'A (ancestor)' | 'F2 (sibling)' | 'X (other account)' | '(no target)';
const POSITIONS: Position[] = [
  'F (same)',
  'B (descendant)',
  'A (ancestor)',
  'F2 (sibling)',
  'X (other account)',
  '(no target)',
];
const TARGET: Record<Position, Ancestry | undefined> = {
  'F (same)': ANCESTRY.F,
  'B (descendant)': ANCESTRY.B,
  'A (ancestor)': ANCESTRY.A,
  'F2 (sibling)': ANCESTRY.F2,
  'X (other account)': ANCESTRY.X,
  '(no target)': undefined,
};
/** Token attached at F: F itself and B lie in its subtree; no target means "at F". */
const IN_SUBTREE: Record<Position, boolean> = {
  'F (same)': true,
  'B (descendant)': true,
  'A (ancestor)': false,
  'F2 (sibling)': false,
  'X (other account)': false,
  '(no target)': true,
};
/** The owner's role sits on A, so it reaches everything under A and nothing in X. */
const UNDER_A: Record<Position, boolean> = {
  'F (same)': true,
  'B (descendant)': true,
  'A (ancestor)': true,
  'F2 (sibling)': true,
  'X (other account)': false,
  '(no target)': true,
};

interface GroupCase {
  name: string;
  tokenGroups: string[];
  asked: string;
  allowed: boolean;
  /** The permission asked for, by the level that first carries it. */
  permissionFor: Record<Level, string>;
}
const TOKENS_PERMS = { reader: 'tokens:create', manager: 'tokens:read', administrator: 'tokens:manage' };
const RESOURCES_PERMS = { reader: 'resources:read', manager: 'resources:write', administrator: 'resources:delete' };
const GROUPS: GroupCase[] = [
  {
    name: 'native token asks tokens',
    tokenGroups: ['native'],
    asked: 'tokens',
    allowed: true,
    permissionFor: TOKENS_PERMS,
  },
  {
    name: 'resources-only token asks tokens',
    tokenGroups: ['resources'],
    asked: 'tokens',
    allowed: false,
    permissionFor: TOKENS_PERMS,
  },
  {
    name: 'resources-only token asks resources',
    tokenGroups: ['resources'],
    asked: 'resources',
    allowed: true,
    permissionFor: RESOURCES_PERMS,
  },
];
type Asked = 'no permission' | Level;
const ASKED: Asked[] = ['no permission', 'reader', 'manager', 'administrator'];

type State =
  | 'active'
  | 'active, expires later'
  | 'active, rolled key within grace'
  | 'deactivated'
  | 'expired'
  | 'owner deactivated'
  | 'rolled key past grace';
const STATES: State[] = [
  'active',
  'active, expires later',
  'active, rolled key within grace',
  'deactivated',
  'expired',
  'owner deactivated',
  'rolled key past grace',
];
/** What a state alone says: null when the token is usable. */
const STATE_REFUSAL: Record<State, DecisionCode | null> = {
  active: null,
  'active, expires later': null,
  'active, rolled key within grace': null,
  deactivated: 'DISABLED',
  expired: 'EXPIRED',
  'owner deactivated': 'OWNER_DISABLED',
  'rolled key past grace': 'EXPIRED',
};

interface Row {
  role: Role;
  level: Level;
  position: Position;
  group: GroupCase;
  asked: Asked;
  state: State;
}

/**
 * From first principles: refuse an unusable token; then an API group it was not given; then a
 * target outside its subtree; what remains is the token's level capped by the owner's role where
 * that role reaches; the asked permission must be among it.
 */
function oracle(row: Row): { code: DecisionCode; permissions: string[] } {
  const refusal = STATE_REFUSAL[row.state];
  if (refusal !== null) return { code: refusal, permissions: [] };
  if (!row.group.allowed) return { code: 'API_GROUP_NOT_ALLOWED', permissions: [] };
  if (!IN_SUBTREE[row.position]) return { code: 'OUT_OF_SCOPE', permissions: [] };
  const ownerRank = UNDER_A[row.position] ? RANK[row.role] : 0;
  const permissions = upTo(Math.min(RANK[row.level], ownerRank));
  if (row.asked !== 'no permission' && !permissions.includes(row.group.permissionFor[row.asked])) {
    return { code: 'INSUFFICIENT_PERMISSIONS', permissions };
  }
  return { code: 'VALID', permissions };
}

function user(id: string, roles: [string, string][], extra: Partial<UserFacts> = {}): UserFacts {
  return { id, active: true, systemRole: 'user', roles: new Map(roles), ...extra };
}

function token(extra: Partial<TokenFacts> = {}): TokenFacts {
  return {
    id: 'tok_1',
    active: true,
    expiresAt: null,
    resourceId: 'F',
    permissions: levelPermissions(DEFAULT_MODEL, 'administrator'),
    apiGroups: ['native'],
    ownerId: 'u1',
    impersonateUserId: null,
    ...extra,
  };
}

function question(row: Row): TokenQuestion {
  const owner = user('u1', row.role === 'none' ? [] : [['A', row.role]], { active: row.state !== 'owner deactivated' });
  const t = token({
    active: row.state !== 'deactivated',
    expiresAt: row.state === 'expired' ? PAST : row.state === 'active, expires later' ? FUTURE : null,
    permissions: levelPermissions(DEFAULT_MODEL, row.level),
    apiGroups: row.group.tokenGroups,
  });
  return {
    model: DEFAULT_MODEL,
    token: t,
    owner,
    impersonated: null,
    keyExpiresAt:
      row.state === 'rolled key past grace' ? PAST : row.state === 'active, rolled key within grace' ? FUTURE : null,
    target: TARGET[row.position],
    home: ANCESTRY.F,
    permission: row.asked === 'no permission' ? undefined : row.group.permissionFor[row.asked],
    apiGroup: row.group.asked,
    now: NOW,
  };
}

describe('oracle assumptions', () => {
  it("the hand-written ranks agree with the default model's levels", () => {
    for (const level of ['reader', 'manager', 'administrator'] as const) {
      assert.deepEqual([...levelPermissions(DEFAULT_MODEL, level)].sort(), upTo(RANK[level]), level);
    }
    assert.deepEqual([...allPermissions(DEFAULT_MODEL)].sort(), [...PERMISSION_NAMES].sort());
  });
});

describe('authorization table: token at F, owner role on A', () => {
  const counts: Partial<Record<DecisionCode, number>> = {};
  for (const state of STATES) {
    describe(`state: ${state}`, () => {
      for (const group of GROUPS) {
        for (const role of ['none', 'reader', 'manager', 'administrator'] as const) {
          for (const level of ['reader', 'manager', 'administrator'] as const) {
            for (const position of POSITIONS) {
              for (const asked of ASKED) {
                const row: Row = { role, level, position, group, asked, state };
                const expected = oracle(row);
                counts[expected.code] = (counts[expected.code] ?? 0) + 1;
                const name = `${group.name} | owner ${role} on A | token ${level} | target ${position} | asks ${asked === 'no permission' ? asked : group.permissionFor[asked]} → ${expected.code}`;
                it(name, () => {
                  const d = decideToken(question(row));
                  assert.equal(d.code, expected.code);
                  assert.deepEqual([...d.permissions].sort(), expected.permissions);
                });
              }
            }
          }
        }
      }
    });
  }
  it('the table exercises every decision code', () => {
    assert.deepEqual(Object.keys(counts).sort(), [
      'API_GROUP_NOT_ALLOWED',
      'DISABLED',
      'EXPIRED',
      'INSUFFICIENT_PERMISSIONS',
      'OUT_OF_SCOPE',
      'OWNER_DISABLED',
      'VALID',
    ]);
  });
});

describe('expiry boundaries', () => {
  const base = (extra: Partial<TokenQuestion>): TokenQuestion => ({
    model: DEFAULT_MODEL,
    token: token(),
    owner: user('u1', [['A', 'administrator']]),
    home: ANCESTRY.F,
    now: NOW,
    ...extra,
  });
  it('a token expiring exactly now is expired; a millisecond later it is not yet', () => {
    assert.equal(decideToken(base({ token: token({ expiresAt: NOW.toISOString() }) })).code, 'EXPIRED');
    assert.equal(decideToken(base({ token: token({ expiresAt: FUTURE }) })).code, 'VALID');
  });
  it('a rolled key whose grace ends exactly now is expired', () => {
    assert.equal(decideToken(base({ keyExpiresAt: NOW.toISOString() })).code, 'EXPIRED');
    assert.equal(decideToken(base({ keyExpiresAt: FUTURE })).code, 'VALID');
  });
  it('an unreadable expiry fails closed', () => {
    assert.equal(decideToken(base({ token: token({ expiresAt: 'not a time' }) })).code, 'EXPIRED');
    assert.equal(decideToken(base({ keyExpiresAt: 'not a time' })).code, 'EXPIRED');
  });
  it('a refused token carries no permissions', () => {
    for (const q of [
      base({ token: token({ active: false }) }),
      base({ keyExpiresAt: PAST }),
      base({ owner: user('u1', [['A', 'administrator']], { active: false }) }),
    ]) {
      assert.deepEqual(decideToken(q).permissions, []);
    }
  });
});

describe('impersonation', () => {
  // Only system administrators may impersonate; the owner holds every right, so what shows is the impersonated user's.
  const owner = user('u1', [], { systemRole: 'admin' });
  const other = user('u2', [['F', 'manager']]);
  const imp = (extra: Partial<TokenQuestion> = {}): TokenQuestion => ({
    model: DEFAULT_MODEL,
    token: token({ impersonateUserId: 'u2' }),
    owner,
    impersonated: other,
    home: ANCESTRY.F,
    target: ANCESTRY.B,
    now: NOW,
    ...extra,
  });

  it("acts with the impersonated user's rights, not the owner's", () => {
    const d = decideToken(imp({ permission: 'resources:write' }));
    assert.equal(d.code, 'VALID');
    assert.deepEqual([...d.permissions].sort(), upTo(RANK.manager));
    assert.equal(decideToken(imp({ permission: 'tokens:manage' })).code, 'INSUFFICIENT_PERMISSIONS');
  });

  it("is still capped by the token's own permissions", () => {
    const d = decideToken(
      imp({ token: token({ impersonateUserId: 'u2', permissions: levelPermissions(DEFAULT_MODEL, 'reader') }) }),
    );
    assert.deepEqual([...d.permissions].sort(), upTo(RANK.reader));
  });

  it('an owner with rights gains nothing from them while impersonating someone with fewer', () => {
    const d = decideToken(imp({ impersonated: user('u2', [['F', 'reader']]) }));
    assert.deepEqual([...d.permissions].sort(), upTo(RANK.reader));
  });

  it('OWNER_DISABLED when the impersonated user is inactive, missing or not the one named', () => {
    assert.equal(
      decideToken(imp({ impersonated: user('u2', [['F', 'manager']], { active: false }) })).code,
      'OWNER_DISABLED',
    );
    assert.equal(decideToken(imp({ impersonated: null })).code, 'OWNER_DISABLED');
    assert.equal(decideToken(imp({ impersonated: undefined })).code, 'OWNER_DISABLED');
    assert.equal(decideToken(imp({ impersonated: user('u3', [['F', 'administrator']]) })).code, 'OWNER_DISABLED');
  });

  it('OWNER_DISABLED when the owner is inactive, even if the impersonated user is active', () => {
    assert.equal(decideToken(imp({ owner: user('u1', [], { active: false }) })).code, 'OWNER_DISABLED');
  });

  it('OWNER_DISABLED when the owner is no longer a system administrator', () => {
    assert.equal(decideToken(imp({ owner: user('u1', [['A', 'administrator']]) })).code, 'OWNER_DISABLED');
  });

  it('a token without impersonation ignores a stray impersonated user', () => {
    const d = decideToken(
      imp({
        owner: user('u1', []),
        token: token({ impersonateUserId: null }),
        impersonated: user('u2', [['A', 'administrator']]),
      }),
    );
    assert.equal(d.code, 'VALID');
    assert.deepEqual(d.permissions, []); // the owner holds nothing
  });

  it("an impersonated system administrator lends all the token's permissions", () => {
    const d = decideToken(imp({ impersonated: user('u2', [], { systemRole: 'admin' }), target: ANCESTRY.B }));
    assert.deepEqual([...d.permissions].sort(), upTo(3));
  });
});

describe('system administrators and system tokens', () => {
  const admin = user('root', [], { systemRole: 'admin' });
  const all = upTo(3);
  const sys = (extra: Partial<TokenQuestion> = {}): TokenQuestion => ({
    model: DEFAULT_MODEL,
    token: token({ resourceId: null, ownerId: 'root' }),
    owner: admin,
    home: [],
    now: NOW,
    ...extra,
  });

  it('a system token of an admin reaches every resource with all its permissions', () => {
    for (const target of [ANCESTRY.A, ANCESTRY.B, ANCESTRY.F2, ANCESTRY.X, undefined]) {
      const d = decideToken(sys({ target, permission: 'tokens:manage', apiGroup: 'tokens' }));
      assert.equal(d.code, 'VALID', String(target));
      assert.deepEqual([...d.permissions].sort(), all);
    }
  });

  it('a system token is still limited by its own permissions and API groups', () => {
    const t = token({ resourceId: null, ownerId: 'root', permissions: ['resources:read'], apiGroups: ['resources'] });
    assert.equal(
      decideToken(sys({ token: t, target: ANCESTRY.X, permission: 'resources:read', apiGroup: 'resources' })).code,
      'VALID',
    );
    assert.equal(
      decideToken(sys({ token: t, target: ANCESTRY.X, permission: 'resources:write', apiGroup: 'resources' })).code,
      'INSUFFICIENT_PERMISSIONS',
    );
    assert.equal(decideToken(sys({ token: t, target: ANCESTRY.X, apiGroup: 'logs' })).code, 'API_GROUP_NOT_ALLOWED');
  });

  it("a system token whose owner is no longer an admin holds only what the owner's roles give", () => {
    const demoted = user('root', [['A', 'reader']]);
    assert.deepEqual([...decideToken(sys({ owner: demoted, target: ANCESTRY.B })).permissions].sort(), upTo(1));
    assert.deepEqual(decideToken(sys({ owner: demoted, target: ANCESTRY.X })).permissions, []);
  });

  it("an admin owner gets all the token's permissions at a resource-scoped token, without any role", () => {
    const q: TokenQuestion = {
      model: DEFAULT_MODEL,
      token: token({ ownerId: 'root' }),
      owner: admin,
      home: ANCESTRY.F,
      target: ANCESTRY.B,
      now: NOW,
    };
    assert.deepEqual([...decideToken(q).permissions].sort(), all);
    // …but the token's scope still binds.
    assert.equal(decideToken({ ...q, target: ANCESTRY.F2 }).code, 'OUT_OF_SCOPE');
  });

  it('an inactive admin has nothing', () => {
    assert.equal(
      decideToken(sys({ owner: user('root', [], { systemRole: 'admin', active: false }) })).code,
      'OWNER_DISABLED',
    );
    assert.deepEqual(
      [...userPermissionsAt(DEFAULT_MODEL, user('root', [], { systemRole: 'admin', active: false }), ANCESTRY.B)],
      [],
    );
  });

  it('userPermissionsAt gives an admin every permission anywhere, even outside the tree', () => {
    for (const ancestry of [ANCESTRY.A, ANCESTRY.X, []]) {
      assert.deepEqual([...userPermissionsAt(DEFAULT_MODEL, admin, ancestry)].sort(), all);
    }
  });

  it('permissions outside the model are never granted, even to an admin', () => {
    const d = decideToken(
      sys({ token: token({ resourceId: null, ownerId: 'root', permissions: ['resources:read', 'made:up'] }) }),
    );
    assert.deepEqual(d.permissions, ['resources:read']);
  });
});

describe('userPermissionsAt: inheritance down the tree', () => {
  const u = user('u', [
    ['A', 'reader'],
    ['F', 'manager'],
    ['B', 'administrator'],
  ]);
  const cases: [string, Ancestry, number][] = [
    ['A: reader held there', ANCESTRY.A, 1],
    ['F: manager on F', ANCESTRY.F, 2],
    ['B: administrator on B', ANCESTRY.B, 3],
    ['F2: only reader, inherited from A', ANCESTRY.F2, 1],
    ['X: nothing', ANCESTRY.X, 0],
    ['empty ancestry: nothing', [], 0],
  ];
  for (const [name, ancestry, rank] of cases) {
    it(name, () => assert.deepEqual([...userPermissionsAt(DEFAULT_MODEL, u, ancestry)].sort(), upTo(rank)));
  }
  it('a role on a descendant does not flow up', () => {
    const low = user('l', [['B', 'administrator']]);
    assert.deepEqual([...userPermissionsAt(DEFAULT_MODEL, low, ANCESTRY.F)], []);
    assert.deepEqual([...userPermissionsAt(DEFAULT_MODEL, low, ANCESTRY.A)], []);
  });
  it('the strongest role along the path wins (a lower role below does not take away)', () => {
    const v = user('v', [
      ['A', 'administrator'],
      ['B', 'reader'],
    ]);
    assert.deepEqual([...userPermissionsAt(DEFAULT_MODEL, v, ANCESTRY.B)].sort(), upTo(3));
  });
  it('an inactive user has nothing; unknown role names give nothing', () => {
    assert.deepEqual([...userPermissionsAt(DEFAULT_MODEL, { ...u, active: false }, ANCESTRY.B)], []);
    const odd = user('o', [
      ['A', 'owner'],
      ['F', 'toString'],
      ['B', 'constructor'],
    ]);
    assert.deepEqual([...userPermissionsAt(DEFAULT_MODEL, odd, ANCESTRY.B)], []);
  });
});

describe('apiGroupAllows / inScope', () => {
  it('native means every group; otherwise the group must be listed', () => {
    assert.equal(apiGroupAllows(['native'], 'logs'), true);
    assert.equal(apiGroupAllows(['resources', 'logs'], 'logs'), true);
    assert.equal(apiGroupAllows(['resources'], 'logs'), false);
    assert.equal(apiGroupAllows([], 'resources'), false);
    assert.equal(apiGroupAllows(['Native'], 'logs'), false);
  });
  it("scope is the token's subtree; a system token reaches everything", () => {
    assert.equal(inScope('F', ANCESTRY.B), true);
    assert.equal(inScope('F', ANCESTRY.F), true);
    assert.equal(inScope('F', ANCESTRY.A), false);
    assert.equal(inScope('F', ANCESTRY.F2), false);
    assert.equal(inScope('F', []), false);
    assert.equal(inScope(null, ANCESTRY.X), true);
    assert.equal(inScope(null, []), true);
  });
});

describe('escalation', () => {
  it('returns exactly the requested permissions the grantor lacks', () => {
    assert.deepEqual(escalation(['resources:read', 'tokens:manage'], new Set(['resources:read'])), ['tokens:manage']);
    assert.deepEqual(escalation([], new Set()), []);
    assert.deepEqual(escalation(['a'], new Set(['a', 'b'])), []);
  });
  it('property: result = requested \\ held, in request order', () => {
    const perm = fc.constantFrom(...PERMISSION_NAMES, 'made:up');
    fc.assert(
      fc.property(fc.array(perm, { maxLength: 15 }), fc.uniqueArray(perm), (requested, held) => {
        const holds = new Set(held);
        const excess = escalation(requested, holds);
        const expected: string[] = [];
        for (const p of requested) if (!held.includes(p)) expected.push(p);
        assert.deepEqual(excess, expected);
      }),
      { numRuns: 300 },
    );
  });
  it("a token minted within the grantor's rights never escalates when judged (property)", () => {
    const roleArb = fc.constantFrom<Role>('none', 'reader', 'manager', 'administrator');
    const whereArb = fc.constantFrom<keyof typeof ANCESTRY>('A', 'F', 'B', 'F2', 'X');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(whereArb, roleArb), { maxLength: 4 }),
        fc.subarray(PERMISSION_NAMES),
        whereArb,
        whereArb,
        (roles, requested, home, target) => {
          const owner = user(
            'u1',
            roles.filter(([, r]) => r !== 'none'),
          );
          const holdsAtHome = userPermissionsAt(DEFAULT_MODEL, owner, ANCESTRY[home]);
          fc.pre(escalation(requested, holdsAtHome).length === 0);
          const d = decideToken({
            model: DEFAULT_MODEL,
            token: token({ resourceId: home, permissions: requested }),
            owner,
            home: ANCESTRY[home],
            target: ANCESTRY[target],
            now: NOW,
          });
          const holdsAtTarget = userPermissionsAt(DEFAULT_MODEL, owner, ANCESTRY[target]);
          for (const p of d.permissions) {
            assert.ok(requested.includes(p) && holdsAtTarget.has(p), p);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('decideToken: properties over arbitrary facts', () => {
  const permArb = fc.constantFrom(...PERMISSION_NAMES, 'made:up');
  const groupArb = fc.constantFrom('native', 'resources', 'tokens', 'logs', 'verify');
  const where = fc.constantFrom<keyof typeof ANCESTRY>('A', 'F', 'B', 'F2', 'X');
  const timeArb = fc.option(fc.constantFrom(PAST, FUTURE, NOW.toISOString()), { nil: null });
  const userArb = (id: string) =>
    fc.record({
      id: fc.constant(id),
      active: fc.boolean(),
      systemRole: fc.constantFrom<'admin' | 'user'>('admin', 'user'),
      roles: fc
        .array(fc.tuple(where, fc.constantFrom('reader', 'manager', 'administrator', 'bogus')), { maxLength: 3 })
        .map((r) => new Map<string, string>(r)),
    });

  it('never grants what the token lacks, what the acting user lacks, or anything when refused', () => {
    fc.assert(
      fc.property(
        userArb('u1'),
        userArb('u2'),
        fc.boolean(),
        fc.record({
          active: fc.boolean(),
          expiresAt: timeArb,
          resourceId: fc.option(where, { nil: null }),
          permissions: fc.uniqueArray(permArb),
          apiGroups: fc.uniqueArray(groupArb, { maxLength: 2 }),
        }),
        timeArb,
        fc.option(where, { nil: undefined }),
        fc.option(permArb, { nil: undefined }),
        fc.option(groupArb, { nil: undefined }),
        (owner, other, impersonates, t, keyExpiresAt, target, permission, apiGroup) => {
          const facts: TokenFacts = { id: 'tok', ownerId: 'u1', impersonateUserId: impersonates ? 'u2' : null, ...t };
          const home = t.resourceId === null ? [] : ANCESTRY[t.resourceId];
          const d = decideToken({
            model: DEFAULT_MODEL,
            token: facts,
            owner,
            impersonated: impersonates ? other : null,
            keyExpiresAt,
            home,
            target: target === undefined ? undefined : ANCESTRY[target],
            permission,
            apiGroup,
            now: NOW,
          });
          const acting = impersonates ? other : owner;
          const held = userPermissionsAt(DEFAULT_MODEL, acting, target === undefined ? home : ANCESTRY[target]);
          for (const p of d.permissions) assert.ok(facts.permissions.includes(p) && held.has(p), p);
          if (d.code !== 'VALID' && d.code !== 'INSUFFICIENT_PERMISSIONS') assert.deepEqual(d.permissions, []);
          if (d.code === 'VALID') {
            assert.ok(t.active && owner.active && acting.active);
            if (impersonates) assert.equal(owner.systemRole, 'admin');
            if (permission !== undefined) assert.ok(d.permissions.includes(permission));
            if (apiGroup !== undefined) assert.ok(t.apiGroups.includes('native') || t.apiGroups.includes(apiGroup));
            if (target !== undefined && t.resourceId !== null) assert.ok(ANCESTRY[target].includes(t.resourceId));
            if (t.expiresAt !== null) assert.ok(Date.parse(t.expiresAt) > NOW.getTime());
            if (keyExpiresAt !== null) assert.ok(Date.parse(keyExpiresAt) > NOW.getTime());
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('strongerThanActor: a token is acted on only by someone it is no stronger than', () => {
  const READER = upTo(RANK.reader);
  const MANAGER = upTo(RANK.manager);
  const ALL = upTo(RANK.administrator);
  const DAY = '2025-06-02T00:00:00.000Z';
  const MONTH = '2025-07-01T00:00:00.000Z';
  const acting = (extra: Partial<TokenFacts> = {}) =>
    token({ id: 'tok_actor', permissions: MANAGER, expiresAt: MONTH, ...extra });
  const target = (extra: Partial<TokenFacts> = {}) =>
    token({ id: 'tok_target', permissions: READER, expiresAt: DAY, ...extra });
  const byToken = (t: TokenFacts, held: readonly string[], extra: Partial<TokenActor> = {}): TokenActor => ({
    user: user('u1', [['A', 'manager']]),
    token: t,
    systemAdmin: false,
    held: new Set(held),
    ...extra,
  });
  const byUser = (u: UserFacts, held: readonly string[], systemAdmin = false): TokenActor => ({
    user: u,
    token: null,
    systemAdmin,
    held: new Set(held),
  });
  const judge = (t: TokenFacts, home: Ancestry, a: TokenActor): Dimension[] => strongerThanActor(t, home, a);

  it('a weaker or equal token is within reach', () => {
    assert.deepEqual(judge(target(), ANCESTRY.F, byToken(acting(), MANAGER)), []);
    assert.deepEqual(judge(target({ resourceId: 'B' }), ANCESTRY.B, byToken(acting(), MANAGER)), []);
    assert.deepEqual(
      judge(target({ permissions: MANAGER, expiresAt: MONTH }), ANCESTRY.F, byToken(acting(), MANAGER)),
      [],
    );
  });

  it('permissions: one the actor does not hold at the target is stronger (nominal, not what the owner lends now)', () => {
    assert.deepEqual(judge(target({ permissions: ALL }), ANCESTRY.F, byToken(acting(), MANAGER)), ['permissions']);
    // The owner was demoted: the actor holds reader rights now, the target still names manager ones.
    assert.deepEqual(judge(target({ permissions: MANAGER }), ANCESTRY.F, byToken(acting(), READER)), ['permissions']);
  });

  it('API groups: a group the actor may not call, native above all, is stronger', () => {
    const a = acting({ apiGroups: ['tokens'] });
    assert.deepEqual(judge(target({ apiGroups: ['tokens'] }), ANCESTRY.F, byToken(a, MANAGER)), []);
    assert.deepEqual(judge(target({ apiGroups: ['native'] }), ANCESTRY.F, byToken(a, MANAGER)), ['apiGroups']);
    assert.deepEqual(judge(target({ apiGroups: ['resources'] }), ANCESTRY.F, byToken(a, MANAGER)), ['apiGroups']);
    assert.deepEqual(judge(target({ apiGroups: ['resources'] }), ANCESTRY.F, byToken(acting(), MANAGER)), []);
  });

  it("scope: a token above or beside the actor's subtree, or a system token, is stronger", () => {
    assert.deepEqual(judge(target({ resourceId: 'A' }), ANCESTRY.A, byToken(acting(), MANAGER)), ['scope']);
    assert.deepEqual(judge(target({ resourceId: 'F2' }), ANCESTRY.F2, byToken(acting(), MANAGER)), ['scope']);
    assert.deepEqual(judge(target({ resourceId: null }), [], byToken(acting(), MANAGER)), ['scope']);
    // A system token reaches everywhere, another system token too.
    const sys = acting({ resourceId: null });
    assert.deepEqual(judge(target({ resourceId: 'X' }), ANCESTRY.X, byToken(sys, MANAGER)), []);
    assert.deepEqual(judge(target({ resourceId: null }), [], byToken(sys, MANAGER)), []);
  });

  it('expiry: later than the actor, or never, is stronger; the same instant is not; an actor without expiry outlives all', () => {
    assert.deepEqual(judge(target({ expiresAt: '2025-07-01T00:00:00.001Z' }), ANCESTRY.F, byToken(acting(), MANAGER)), [
      'expiry',
    ]);
    assert.deepEqual(judge(target({ expiresAt: null }), ANCESTRY.F, byToken(acting(), MANAGER)), ['expiry']);
    assert.deepEqual(judge(target({ expiresAt: MONTH }), ANCESTRY.F, byToken(acting(), MANAGER)), []);
    assert.deepEqual(judge(target({ expiresAt: null }), ANCESTRY.F, byToken(acting({ expiresAt: null }), MANAGER)), []);
  });

  it('expiry: an unreadable time on either side fails closed', () => {
    assert.deepEqual(judge(target({ expiresAt: 'soon' }), ANCESTRY.F, byToken(acting(), MANAGER)), ['expiry']);
    assert.deepEqual(judge(target(), ANCESTRY.F, byToken(acting({ expiresAt: 'soon' }), MANAGER)), ['expiry']);
  });

  it('impersonation: a token acting as someone else is stronger, unless the actor is that user or a system administrator', () => {
    const imp = target({ impersonateUserId: 'u9' });
    assert.deepEqual(judge(imp, ANCESTRY.F, byToken(acting(), MANAGER)), ['impersonation']);
    assert.deepEqual(judge(imp, ANCESTRY.F, byToken(acting(), MANAGER, { user: user('u9', []) })), []);
    assert.deepEqual(judge(imp, ANCESTRY.F, byToken(acting(), MANAGER, { systemAdmin: true })), []);
    assert.deepEqual(judge(imp, ANCESTRY.F, byUser(user('u5', [['A', 'administrator']]), ALL)), ['impersonation']);
    assert.deepEqual(judge(imp, ANCESTRY.F, byUser(user('root', [], { systemRole: 'admin' }), ALL, true)), []);
  });

  it('reports every dimension at once', () => {
    const t = target({
      permissions: ALL,
      apiGroups: ['native'],
      resourceId: null,
      expiresAt: null,
      impersonateUserId: 'u9',
    });
    assert.deepEqual(judge(t, [], byToken(acting({ apiGroups: ['tokens'] }), MANAGER)), [
      'permissions',
      'apiGroups',
      'scope',
      'expiry',
      'impersonation',
    ]);
  });

  it('a token is never stronger than itself', () => {
    const self = acting({ permissions: ALL });
    assert.deepEqual(judge(self, ANCESTRY.F, byToken(self, READER)), []);
  });

  it("a signed-in user may act on their own tokens, whatever they hold now; on others' only when no stronger", () => {
    const demoted = user('u1', [['A', 'reader']]);
    const strong = target({ permissions: ALL, expiresAt: null, impersonateUserId: 'u9', resourceId: null });
    assert.deepEqual(judge(strong, [], byUser(demoted, READER)), []);
    const other = user('u2', [['A', 'manager']]);
    assert.deepEqual(judge(target({ permissions: ALL }), ANCESTRY.F, byUser(other, MANAGER)), ['permissions']);
    assert.deepEqual(judge(target({ expiresAt: null, apiGroups: ['native'] }), ANCESTRY.F, byUser(other, MANAGER)), []);
    // A system token is out of reach of a person who is not a system administrator; not of one who is.
    assert.deepEqual(judge(target({ resourceId: null, permissions: [] }), [], byUser(other, [])), ['scope']);
    const root = user('root', [], { systemRole: 'admin' });
    assert.deepEqual(judge(target({ resourceId: null, permissions: ALL }), [], byUser(root, ALL, true)), []);
  });

  it("a token's own owner is not the actor when the token acting impersonates someone else", () => {
    // The owner u1's token impersonating u2 acts as u2: u1's tokens are not its own, so the usual rules apply.
    const impersonating = acting({ impersonateUserId: 'u2', expiresAt: null });
    const ownersToken = target({ ownerId: 'u1', permissions: ALL, expiresAt: null });
    assert.deepEqual(judge(ownersToken, ANCESTRY.F, byToken(impersonating, READER, { user: user('u2', []) })), [
      'permissions',
    ]);
  });
});

describe('deactivationHolds', () => {
  const held = (...p: string[]) => new Set(p);
  it('a deactivation by the owner, or none recorded, never holds', () => {
    assert.equal(deactivationHolds('u1', 'u1', held()), false);
    assert.equal(deactivationHolds('u1', null, held()), false);
  });
  it("someone else's deactivation holds against anyone without tokens:manage there, the owner too", () => {
    assert.equal(deactivationHolds('u1', 'boss', held('tokens:create', 'tokens:read')), true);
    assert.equal(deactivationHolds('u1', 'boss', held('tokens:manage')), false);
  });
});
