import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DEFAULT_MODEL,
  NATIVE_API_GROUP,
  allPermissions,
  levelCovering,
  levelPermissions,
  mayPlace,
  modelProblems,
  type AccessModel,
} from '../../src/domain/model.js';

const clone = (m: AccessModel): AccessModel => structuredClone(m);
const isSubset = (a: readonly string[], b: readonly string[]) => a.every((p) => b.includes(p));

describe('DEFAULT_MODEL', () => {
  it('is sound', () => assert.deepEqual(modelProblems(DEFAULT_MODEL), []));

  it("has the source pages' levels, in rising order, strictly nested", () => {
    assert.deepEqual(Object.keys(DEFAULT_MODEL.levels), ['reader', 'manager', 'administrator']);
    const reader = levelPermissions(DEFAULT_MODEL, 'reader');
    const manager = levelPermissions(DEFAULT_MODEL, 'manager');
    const administrator = levelPermissions(DEFAULT_MODEL, 'administrator');
    assert.ok(isSubset(reader, manager) && manager.length > reader.length);
    assert.ok(isSubset(manager, administrator) && administrator.length > manager.length);
    for (const bundle of [reader, manager, administrator])
      assert.equal(new Set(bundle).size, bundle.length, 'no duplicates');
  });

  it('administrator holds every permission; reader can only read (and mint tokens up to its own rights)', () => {
    assert.deepEqual(
      [...levelPermissions(DEFAULT_MODEL, 'administrator')].sort(),
      [...allPermissions(DEFAULT_MODEL)].sort(),
    );
    assert.deepEqual([...levelPermissions(DEFAULT_MODEL, 'reader')].sort(), [
      'members:read',
      'resources:read',
      'tokens:create',
    ]);
  });

  it('has the native API group and the documented ones', () => {
    assert.ok(NATIVE_API_GROUP in DEFAULT_MODEL.apiGroups);
    for (const g of ['native', 'resources', 'tokens', 'verify', 'logs']) assert.ok(g in DEFAULT_MODEL.apiGroups, g);
  });

  it('permissions are area:action strings', () => {
    for (const p of allPermissions(DEFAULT_MODEL)) assert.match(p, /^[a-z]+:[a-z]+$/);
  });
});

describe('levelPermissions', () => {
  it('is empty for an unknown level, including Object.prototype names', () => {
    for (const name of ['', 'owner', 'Reader', 'toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      assert.deepEqual([...levelPermissions(DEFAULT_MODEL, name)], [], name);
    }
  });
});

describe('mayPlace (default tree)', () => {
  const table: [string, string | null, boolean][] = [
    ['account', null, true],
    ['account', 'account', false],
    ['account', 'folder', false],
    ['folder', null, false],
    ['folder', 'account', true],
    ['folder', 'folder', true],
    ['folder', 'building', false],
    ['building', 'account', true],
    ['building', 'folder', true],
    ['building', null, false],
    ['building', 'building', false],
    ['building', 'database', false],
    ['database', 'account', true],
    ['database', 'folder', true],
    ['database', 'database', false],
    ['database', 'building', false],
    ['database', null, false],
    ['planet', null, false],
    ['planet', 'account', false],
    ['toString', null, false],
    ['constructor', 'account', false],
    ['__proto__', null, false],
    ['hasOwnProperty', 'folder', false],
  ];
  for (const [type, parent, expected] of table) {
    it(`${type} under ${parent ?? '(root)'} → ${expected}`, () =>
      assert.equal(mayPlace(DEFAULT_MODEL, type, parent), expected));
  }

  it('never throws for arbitrary names', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string()), (type, parent) => {
        assert.equal(typeof mayPlace(DEFAULT_MODEL, type, parent), 'boolean');
      }),
      { numRuns: 300 },
    );
  });
});

describe('levelCovering', () => {
  it('gives the least level that covers the permissions', () => {
    assert.equal(levelCovering(DEFAULT_MODEL, ['resources:read']), 'reader');
    assert.equal(levelCovering(DEFAULT_MODEL, ['resources:read', 'members:read', 'tokens:create']), 'reader');
    assert.equal(levelCovering(DEFAULT_MODEL, ['resources:write']), 'manager');
    assert.equal(levelCovering(DEFAULT_MODEL, ['resources:read', 'logs:read']), 'manager');
    assert.equal(levelCovering(DEFAULT_MODEL, ['keys:verify']), 'administrator');
    assert.equal(levelCovering(DEFAULT_MODEL, [...allPermissions(DEFAULT_MODEL)]), 'administrator');
    assert.equal(levelCovering(DEFAULT_MODEL, []), 'reader');
  });
  it('is null when no level covers them', () => {
    assert.equal(levelCovering(DEFAULT_MODEL, ['nonsense:do']), null);
    assert.equal(levelCovering(DEFAULT_MODEL, ['resources:read', 'nonsense:do']), null);
  });
  it('the level found covers the permissions, and no earlier level does (property)', () => {
    const names = Object.keys(DEFAULT_MODEL.levels);
    fc.assert(
      fc.property(fc.subarray([...allPermissions(DEFAULT_MODEL), 'other:thing']), (perms) => {
        const level = levelCovering(DEFAULT_MODEL, perms);
        if (level === null) {
          assert.ok(names.every((n) => !isSubset(perms, levelPermissions(DEFAULT_MODEL, n))));
          return;
        }
        assert.ok(isSubset(perms, levelPermissions(DEFAULT_MODEL, level)));
        for (const earlier of names.slice(0, names.indexOf(level)))
          assert.ok(!isSubset(perms, levelPermissions(DEFAULT_MODEL, earlier)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('modelProblems', () => {
  it('catches an unknown parent type', () => {
    const m = clone(DEFAULT_MODEL);
    m.resourceTypes.room = { parents: ['building', 'floor'] };
    assert.deepEqual(modelProblems(m), ['resource type room: unknown parent type floor']);
  });
  it('catches a parent type named after an Object.prototype member', () => {
    const m = clone(DEFAULT_MODEL);
    m.resourceTypes.room = { parents: ['toString'] };
    assert.deepEqual(modelProblems(m), ['resource type room: unknown parent type toString']);
  });
  it('catches an unknown permission in a level', () => {
    const m = clone(DEFAULT_MODEL);
    m.levels.auditor = ['logs:read', 'logs:export'];
    assert.deepEqual(modelProblems(m), ['level auditor: unknown permission logs:export']);
  });
  it('catches a model with no root type', () => {
    const m = clone(DEFAULT_MODEL);
    m.resourceTypes.account = { parents: ['folder'] };
    assert.deepEqual(modelProblems(m), ['no resource type may be a root']);
  });
  it('catches a missing native API group', () => {
    const m = clone(DEFAULT_MODEL);
    delete m.apiGroups.native;
    assert.deepEqual(modelProblems(m), ['the native API group must exist']);
  });
  it('reports several problems at once', () => {
    const m: AccessModel = {
      resourceTypes: { a: { parents: ['b'] } },
      permissions: {},
      levels: { x: ['p:q'] },
      apiGroups: {},
    };
    assert.equal(modelProblems(m).length, 4);
  });
  it('accepts a sound extension', () => {
    const m = clone(DEFAULT_MODEL);
    m.resourceTypes.room = { parents: ['building'] };
    m.permissions['logs:export'] = 'Export logs.';
    m.levels.auditor = ['logs:read', 'logs:export'];
    m.apiGroups.gateway = 'Proxied upstream routes.';
    assert.deepEqual(modelProblems(m), []);
    assert.equal(mayPlace(m, 'room', 'building'), true);
    assert.equal(mayPlace(m, 'room', 'folder'), false);
  });
});
