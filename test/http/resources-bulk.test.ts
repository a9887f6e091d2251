import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { forEachDialect } from '../support/harness.js';
import { asUser, assertError, call, userWithSession, type Reply } from '../support/client.js';

type Who = { cookie: string } | { key: string };
interface Item {
  externalId: string;
  type: string;
  name: string;
  parentExternalId?: string | null;
  parentId?: string | null;
}

forEachDialect('resources by external id over HTTP', (env) => {
  let admin: { cookie: string; id: string };
  const req = (method: string, url: string, who: Who, body?: unknown): Promise<Reply> =>
    call(env().app, method, `/api/v1.0${url}`, { ...who, ...(body !== undefined ? { body } : {}) });
  const bulk = (who: Who, items: unknown) => req('POST', '/resources/bulk', who, { items });
  const upsert = async (who: Who, items: Item[]) => {
    const res = await bulk(who, items);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items as { externalId: string; type: string; id: string; status: string }[];
  };
  const show = async (id: string) => (await req('GET', `/resources/${id}`, { cookie: admin.cookie })).body;
  const byExternalId = async (who: Who, externalId: string, type?: string) => {
    const qs = new URLSearchParams({ externalId, ...(type ? { type } : {}) });
    const res = await req('GET', `/resources?${qs}`, who);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  /** A token attached to `resourceId`, minted through the service by the administrator (setup, not under test). */
  const mint = async (resourceId: string, level: string): Promise<{ key: string }> => {
    const { kg } = env();
    const { key } = await kg.tokens.create(
      await asUser(kg, admin.id),
      resourceId,
      { name: `${level} bot`, level },
      null,
    );
    return { key };
  };
  /** An error's whole body but the request id, to compare two refusals. */
  const refusal = (res: Reply) => ({
    status: res.status,
    code: res.body.error.code,
    message: res.body.error.message,
    field: res.body.error.field,
  });

  before(async () => {
    const { app, kg } = env();
    admin = await userWithSession(app, kg, 'admin');
  });

  describe('upserting', () => {
    it('creates a tree in one batch (parents earlier in the batch), then answers unchanged', async () => {
      const a = { cookie: admin.cookie };
      const items: Item[] = [
        { externalId: 'acc-1', type: 'account', name: 'Acme' },
        { externalId: '7', type: 'folder', name: 'Plans', parentExternalId: 'acc-1' },
        { externalId: '8', type: 'folder', name: 'Sub', parentExternalId: '7' },
        { externalId: '2f1c0e5a-9d1b-4c53-8a2e-4e0f3b1f6a10', type: 'building', name: 'House', parentExternalId: '8' },
      ];
      const created = await upsert(a, items);
      assert.deepEqual(
        created.map((x) => [x.externalId, x.type, x.status]),
        items.map((x) => [x.externalId, x.type, 'created']),
      );
      const [acc, plans, sub, house] = created.map((x) => x.id);
      assert.match(acc!, /^res_/);
      const shown = await show(house!);
      assert.equal(shown.externalId, '2f1c0e5a-9d1b-4c53-8a2e-4e0f3b1f6a10');
      assert.equal(shown.parentId, sub);
      assert.deepEqual(
        shown.path.map((s: { id: string }) => s.id),
        [acc, plans, sub],
      );
      assert.equal((await show(acc!)).externalId, 'acc-1');

      const again = await upsert(a, items);
      assert.deepEqual(
        again.map((x) => [x.id, x.status]),
        created.map((x) => [x.id, 'unchanged']),
      );

      const audit = await req('GET', `/logs/audit?targetId=${house}`, a);
      assert.equal(audit.status, 200, JSON.stringify(audit.body));
      const records = audit.body.items.filter((r: { action: string }) => r.action.startsWith('resource.'));
      assert.equal(records.length, 1, 'unchanged items are not audited again');
      assert.equal(records[0].action, 'resource.create');
      assert.deepEqual(records[0].details.after, {
        type: 'building',
        name: 'House',
        parentId: sub,
        externalId: '2f1c0e5a-9d1b-4c53-8a2e-4e0f3b1f6a10',
      });
    });

    it('renames and moves existing resources, by parentExternalId or parentId, and audits the changes', async () => {
      const a = { cookie: admin.cookie };
      const [acc, f1, f2, b] = (
        await upsert(a, [
          { externalId: 'acc-2', type: 'account', name: 'Two' },
          { externalId: 'f1', type: 'folder', name: 'F1', parentExternalId: 'acc-2' },
          { externalId: 'f2', type: 'folder', name: 'F2', parentExternalId: 'acc-2' },
          { externalId: 'b', type: 'building', name: 'B', parentExternalId: 'f1' },
        ])
      ).map((x) => x.id);

      const renamed = await upsert(a, [{ externalId: 'b', type: 'building', name: '  B renamed ', parentId: f1 }]);
      assert.deepEqual(renamed, [{ externalId: 'b', type: 'building', id: b, status: 'updated' }]);
      assert.equal((await show(b!)).name, 'B renamed');

      const moved = await upsert(a, [{ externalId: 'b', type: 'building', name: 'B renamed', parentExternalId: 'f2' }]);
      assert.equal(moved[0]!.status, 'updated');
      assert.equal((await show(b!)).parentId, f2);

      // A folder moves with what it holds.
      await upsert(a, [{ externalId: 'f2', type: 'folder', name: 'F2', parentId: f1 }]);
      assert.deepEqual(
        (await show(b!)).path.map((s: { id: string }) => s.id),
        [acc, f1, f2],
      );

      const audit = await req('GET', `/logs/audit?targetId=${b}`, a);
      const updates = audit.body.items.filter((r: { action: string }) => r.action === 'resource.update');
      assert.equal(updates.length, 2);
      const changes = updates.map((r: { details: { changes: unknown } }) => r.details.changes);
      assert.ok(changes.some((c: object) => JSON.stringify(c) === JSON.stringify({ parentId: { from: f1, to: f2 } })));
      assert.ok(
        changes.some((c: object) => JSON.stringify(c) === JSON.stringify({ name: { from: 'B', to: 'B renamed' } })),
      );
    });

    it('refuses a move that makes a cycle, a placement the model forbids, and an unknown type', async () => {
      const a = { cookie: admin.cookie };
      await upsert(a, [
        { externalId: 'acc-3', type: 'account', name: 'Three' },
        { externalId: 'outer', type: 'folder', name: 'Outer', parentExternalId: 'acc-3' },
        { externalId: 'inner', type: 'folder', name: 'Inner', parentExternalId: 'outer' },
        { externalId: 'h', type: 'building', name: 'H', parentExternalId: 'inner' },
      ]);
      const cycle = await bulk(a, [{ externalId: 'outer', type: 'folder', name: 'Outer', parentExternalId: 'inner' }]);
      assertError(cycle, 422, 'INVALID_PARENT');
      assert.equal(cycle.body.error.field, 'items[0].parentExternalId');
      const self = await bulk(a, [{ externalId: 'outer', type: 'folder', name: 'Outer', parentExternalId: 'outer' }]);
      assertError(self, 422, 'INVALID_PARENT');
      // A building is no parent type of a building: "h" is not even looked for among buildings.
      const underBuilding = await bulk(a, [{ externalId: 'h2', type: 'building', name: 'H2', parentExternalId: 'h' }]);
      assertError(underBuilding, 404, 'NOT_FOUND');
      const building = (await byExternalId(a, 'h', 'building')).items[0].id;
      const viaId = await bulk(a, [{ externalId: 'h2', type: 'building', name: 'H2', parentId: building }]);
      assertError(viaId, 422, 'INVALID_PARENT');
      assert.equal(viaId.body.error.field, 'items[0].parentId');
      const nestedAccount = await bulk(a, [
        { externalId: 'acc-3b', type: 'account', name: 'Nested', parentExternalId: 'acc-3' },
      ]);
      assertError(nestedAccount, 422, 'INVALID_PARENT');
      assert.equal(nestedAccount.body.error.field, 'items[0].parentExternalId');
      const rootFolder = await bulk(a, [{ externalId: 'lost', type: 'folder', name: 'Lost' }]);
      assertError(rootFolder, 422, 'INVALID_PARENT');
      const unknown = await bulk(a, [
        { externalId: 'x', type: 'folder', name: 'X', parentExternalId: 'acc-3' },
        { externalId: 'y', type: 'castle', name: 'Y', parentExternalId: 'acc-3' },
      ]);
      assertError(unknown, 422, 'UNKNOWN_RESOURCE_TYPE');
      assert.equal(unknown.body.error.field, 'items[1].type');
      assert.deepEqual((await byExternalId(a, 'x')).items, [], 'nothing of a refused batch is written');
    });

    it('fails a whole batch atomically on any refusal, and refuses the same (type, externalId) twice', async () => {
      const a = { cookie: admin.cookie };
      const [acc] = (await upsert(a, [{ externalId: 'acc-4', type: 'account', name: 'Four' }])).map((x) => x.id);
      const late = await bulk(a, [
        { externalId: 'ok-1', type: 'folder', name: 'Fine', parentId: acc },
        { externalId: 'acc-4', type: 'account', name: 'Four renamed' },
        { externalId: 'ok-2', type: 'building', name: 'Fine too', parentExternalId: 'ok-1' },
        { externalId: 'bad', type: 'building', name: 'Orphan', parentExternalId: 'no-such-folder' },
      ]);
      assertError(late, 404, 'NOT_FOUND');
      assert.equal(late.body.error.field, 'items[3].parentExternalId');
      assert.deepEqual((await byExternalId(a, 'ok-1')).items, []);
      assert.deepEqual((await byExternalId(a, 'ok-2')).items, []);
      assert.equal((await show(acc!)).name, 'Four');

      const twice = await bulk(a, [
        { externalId: 'dup', type: 'folder', name: 'One', parentId: acc },
        { externalId: 'dup', type: 'building', name: 'Other type: fine', parentId: acc },
        { externalId: 'dup', type: 'folder', name: 'Two', parentId: acc },
      ]);
      assertError(twice, 409, 'CONFLICT');
      assert.equal(twice.body.error.field, 'items[2].externalId');
      assert.deepEqual((await byExternalId(a, 'dup')).items, []);
    });

    it('a parentExternalId naming parents of two types is refused, unless only one is within reach', async () => {
      const a = { cookie: admin.cookie };
      const [, folder] = (
        await upsert(a, [
          { externalId: 'amb', type: 'account', name: 'Amb account' },
          { externalId: 'amb', type: 'folder', name: 'Amb folder', parentExternalId: 'amb' },
        ])
      ).map((x) => x.id);
      const ambiguous = await bulk(a, [{ externalId: 'amb-b', type: 'building', name: 'B', parentExternalId: 'amb' }]);
      assertError(ambiguous, 400, 'VALIDATION_FAILED');
      assert.equal(ambiguous.body.error.field, 'items[0].parentExternalId');
      // The account lies outside a token on the folder: for it, "amb" names the folder alone.
      const scoped = await mint(folder!, 'manager');
      const [made] = await upsert(scoped, [
        { externalId: 'amb-b', type: 'building', name: 'B', parentExternalId: 'amb' },
      ]);
      assert.equal((await show(made!.id)).parentId, folder);
    });

    it('POST /resources takes an externalId, unique per type', async () => {
      const a = { cookie: admin.cookie };
      const res = await req('POST', '/resources', a, { type: 'account', name: 'Five', externalId: 'acc-5' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.externalId, 'acc-5');
      const plain = await req('POST', '/resources', a, { type: 'account', name: 'Plain' });
      assert.equal(plain.body.externalId, null);
      const again = await req('POST', '/resources', a, { type: 'account', name: 'Five again', externalId: 'acc-5' });
      assertError(again, 409, 'CONFLICT');
      assert.equal(again.body.error.field, 'externalId');
      const otherType = await req('POST', '/resources', a, {
        type: 'folder',
        name: 'Same id, other type',
        externalId: 'acc-5',
        parentId: res.body.id,
      });
      assert.equal(otherType.status, 201, JSON.stringify(otherType.body));
      const both = await byExternalId(a, 'acc-5');
      assert.deepEqual(
        both.items.map((r: { type: string }) => r.type),
        ['account', 'folder'],
      );
      assert.equal(both.nextCursor, null);
      assert.deepEqual(
        (await byExternalId(a, 'acc-5', 'folder')).items.map((r: { id: string }) => r.id),
        [otherType.body.id],
      );
      // Listing and children carry it too.
      const children = await req('GET', `/resources/${res.body.id}/children`, a);
      assert.equal(children.body.items[0].externalId, 'acc-5');
    });
  });

  describe('a folder-scoped token, as an attacker would use it', () => {
    /** Account A > folders F1, F2; F2 > building B2; F1 > building B1. The token is a manager at F1. */
    const ids: Record<string, string> = {};
    let manager: { key: string };
    before(async () => {
      const a = { cookie: admin.cookie };
      const rows = await upsert(a, [
        { externalId: 'atk-A', type: 'account', name: 'A' },
        { externalId: 'atk-F1', type: 'folder', name: 'F1', parentExternalId: 'atk-A' },
        { externalId: 'atk-F2', type: 'folder', name: 'F2', parentExternalId: 'atk-A' },
        { externalId: 'atk-B2', type: 'building', name: 'B2', parentExternalId: 'atk-F2' },
        { externalId: 'atk-B1', type: 'building', name: 'B1', parentExternalId: 'atk-F1' },
      ]);
      for (const r of rows) ids[r.externalId.slice(4)] = r.id;
      manager = await mint(ids.F1!, 'manager');
    });

    it('upserts under its own folder, by external id or keygate id', async () => {
      const made = await upsert(manager, [
        { externalId: 'atk-S', type: 'folder', name: 'S', parentExternalId: 'atk-F1' },
        { externalId: 'atk-B3', type: 'building', name: 'B3', parentExternalId: 'atk-S' },
        { externalId: 'atk-B4', type: 'building', name: 'B4', parentId: ids.F1 },
      ]);
      assert.deepEqual(
        made.map((x) => x.status),
        ['created', 'created', 'created'],
      );
      // Moving within its reach is allowed.
      const moved = await upsert(manager, [
        { externalId: 'atk-B4', type: 'building', name: 'B4', parentExternalId: 'atk-S' },
      ]);
      assert.equal(moved[0]!.status, 'updated');
    });

    it('cannot place anything under another folder: the same 404 as for a folder that does not exist', async () => {
      const byExt = await bulk(manager, [
        { externalId: 'atk-X', type: 'building', name: 'X', parentExternalId: 'atk-F2' },
      ]);
      const missingExt = await bulk(manager, [
        { externalId: 'atk-X', type: 'building', name: 'X', parentExternalId: 'atk-nothing' },
      ]);
      assertError(byExt, 404, 'NOT_FOUND');
      assert.deepEqual(refusal(byExt), refusal(missingExt));
      assert.equal(byExt.body.error.field, 'items[0].parentExternalId');

      const byId = await bulk(manager, [{ externalId: 'atk-X', type: 'building', name: 'X', parentId: ids.F2 }]);
      const missingId = await bulk(manager, [
        { externalId: 'atk-X', type: 'building', name: 'X', parentId: 'res_doesnotexist0000000' },
      ]);
      assertError(byId, 404, 'NOT_FOUND');
      assert.deepEqual(refusal(byId), refusal(missingId));
      // Nor at the top, nor under the account above its folder.
      assertError(await bulk(manager, [{ externalId: 'atk-X', type: 'account', name: 'Mine' }]), 403, 'FORBIDDEN');
      assertError(
        await bulk(manager, [{ externalId: 'atk-X', type: 'folder', name: 'X', parentId: ids.A }]),
        404,
        'NOT_FOUND',
      );
      assert.deepEqual((await byExternalId({ cookie: admin.cookie }, 'atk-X')).items, []);
    });

    it('cannot move its resources out of its folder, nor another folder\u2019s into it', async () => {
      const out = await bulk(manager, [
        { externalId: 'atk-B1', type: 'building', name: 'B1', parentExternalId: 'atk-F2' },
      ]);
      assertError(out, 404, 'NOT_FOUND');
      assert.equal((await show(ids.B1!)).parentId, ids.F1);
      // Its own folder cannot be moved (nor renamed): the account above is outside its reach.
      assertError(
        await bulk(manager, [{ externalId: 'atk-F1', type: 'folder', name: 'F1', parentExternalId: 'atk-F2' }]),
        404,
        'NOT_FOUND',
      );
      assertError(
        await bulk(manager, [{ externalId: 'atk-F1', type: 'folder', name: 'Renamed', parentId: ids.A }]),
        404,
        'NOT_FOUND',
      );
      assert.equal((await show(ids.F1!)).name, 'F1');
      // Into it: B2 lives in F2.
      const into = await bulk(manager, [
        { externalId: 'atk-B2', type: 'building', name: 'Pwned', parentExternalId: 'atk-F1' },
      ]);
      assertError(into, 404, 'NOT_FOUND');
      const b2 = await show(ids.B2!);
      assert.equal(b2.name, 'B2');
      assert.equal(b2.parentId, ids.F2);
    });

    it('cannot rename a resource outside its reach by reusing its external id, even amid a valid batch', async () => {
      const res = await bulk(manager, [
        { externalId: 'atk-B5', type: 'building', name: 'Innocent', parentExternalId: 'atk-F1' },
        { externalId: 'atk-B2', type: 'building', name: 'B2', parentExternalId: 'atk-F2' },
      ]);
      assertError(res, 404, 'NOT_FOUND');
      assert.equal(res.body.error.field, 'items[1].externalId');
      assert.deepEqual((await byExternalId({ cookie: admin.cookie }, 'atk-B5')).items, []);
      const same = await bulk(manager, [
        { externalId: 'atk-B2', type: 'building', name: 'Renamed', parentExternalId: 'atk-F2' },
      ]);
      assertError(same, 404, 'NOT_FOUND');
      assert.equal((await show(ids.B2!)).name, 'B2');
    });

    it('learns nothing from GET ?externalId= about what lies outside its reach', async () => {
      const outside = await byExternalId(manager, 'atk-B2');
      const nowhere = await byExternalId(manager, 'atk-never-used');
      assert.deepEqual(outside, { items: [], nextCursor: null });
      assert.deepEqual(outside, nowhere);
      assert.deepEqual(await byExternalId(manager, 'atk-B2', 'building'), nowhere);
      const inside = await byExternalId(manager, 'atk-B1');
      assert.deepEqual(
        inside.items.map((r: { id: string; externalId: string }) => [r.id, r.externalId]),
        [[ids.B1, 'atk-B1']],
      );
      assert.equal((await byExternalId({ cookie: admin.cookie }, 'atk-B2')).items[0].id, ids.B2);
    });

    it('a reader token may not upsert even inside its folder', async () => {
      const reader = await mint(ids.F1!, 'reader');
      const res = await bulk(reader, [{ externalId: 'atk-R', type: 'building', name: 'R', parentId: ids.F1 }]);
      assertError(res, 403, 'INSUFFICIENT_PERMISSIONS');
      assert.equal(res.body.error.field, 'items[0].parentId');
    });

    it('a token on the folder a resource is moved into reaches it at once', async () => {
      const watcher = await mint(ids.F2!, 'reader');
      await upsert({ cookie: admin.cookie }, [
        { externalId: 'atk-M', type: 'building', name: 'M', parentExternalId: 'atk-F1' },
      ]);
      const m = (await byExternalId({ cookie: admin.cookie }, 'atk-M')).items[0].id;
      assertError(await req('GET', `/resources/${m}`, watcher), 404, 'NOT_FOUND');
      await upsert({ cookie: admin.cookie }, [
        { externalId: 'atk-M', type: 'building', name: 'M', parentExternalId: 'atk-F2' },
      ]);
      assert.equal((await req('GET', `/resources/${m}`, watcher)).status, 200);
      assertError(await req('GET', `/resources/${m}`, manager), 404, 'NOT_FOUND');
    });
  });

  describe('bad input is a 4xx envelope, never a 500', () => {
    const item = (i: number) => ({ externalId: `bad-${i}`, type: 'account', name: `N${i}` });
    const cases: [string, unknown, number, string, string?][] = [
      ['empty', [], 400, 'VALIDATION_FAILED'],
      ['1001 items', Array.from({ length: 1001 }, (_, i) => item(i)), 400, 'VALIDATION_FAILED'],
      ['items not an array', { 0: item(0) }, 400, 'VALIDATION_FAILED'],
      ['items a string', 'items', 400, 'VALIDATION_FAILED'],
      ['an item a number', [1], 400, 'VALIDATION_FAILED'],
      [
        'both parent fields',
        [{ ...item(0), parentId: 'res_x', parentExternalId: 'y' }],
        400,
        'VALIDATION_FAILED',
        'items[0].parentExternalId',
      ],
      ['no externalId', [{ type: 'account', name: 'N' }], 400, 'VALIDATION_FAILED'],
      ['empty externalId', [{ ...item(0), externalId: '' }], 400, 'VALIDATION_FAILED'],
      ['externalId of 257 characters', [{ ...item(0), externalId: 'x'.repeat(257) }], 400, 'VALIDATION_FAILED'],
      ['externalId with a newline', [{ ...item(0), externalId: 'a\nb' }], 400, 'VALIDATION_FAILED'],
      ['externalId with a NUL', [{ ...item(0), externalId: 'a\u0000b' }], 400, 'VALIDATION_FAILED'],
      ['externalId an object', [{ ...item(0), externalId: { $ne: null } }], 400, 'VALIDATION_FAILED'],
      ['name of 100 000 characters', [{ ...item(0), name: 'n'.repeat(100_000) }], 400, 'VALIDATION_FAILED'],
      ['blank name', [{ ...item(0), name: '   ' }], 400, 'VALIDATION_FAILED'],
      [
        'parentExternalId of 10 000 characters',
        [{ ...item(0), parentExternalId: 'p'.repeat(10_000) }],
        400,
        'VALIDATION_FAILED',
      ],
      ['unknown field', [{ ...item(0), owner: 'me' }], 400, 'VALIDATION_FAILED'],
      ['type of 1000 characters', [{ ...item(0), type: 't'.repeat(1000) }], 400, 'VALIDATION_FAILED'],
      ['unknown type', [{ ...item(0), type: '__proto__' }], 422, 'UNKNOWN_RESOURCE_TYPE', 'items[0].type'],
    ];
    for (const [title, items, status, code, field] of cases) {
      it(title, async () => {
        const res = await bulk({ cookie: admin.cookie }, items);
        assertError(res, status, code);
        if (field) assert.equal(res.body.error.field, field);
      });
    }

    it('a body over the size limit, a body that is not JSON', async () => {
      // Over the server's body limit (1 MiB by default): refused before it is parsed.
      const tooBig = await bulk({ cookie: admin.cookie }, [{ ...item(0), name: 'n'.repeat(2 * 1024 * 1024) }]);
      assertError(tooBig, 413, 'PAYLOAD_TOO_LARGE');
      const garbled = await call(env().app, 'POST', '/api/v1.0/resources/bulk', {
        cookie: admin.cookie,
        headers: { 'content-type': 'application/json' },
        payload: '{"items": [',
      });
      assertError(garbled, 400, 'MALFORMED_BODY');
    });

    it('GET ?externalId= with bad or clashing parameters', async () => {
      const a = { cookie: admin.cookie };
      assertError(await req('GET', '/resources?externalId=', a), 400, 'VALIDATION_FAILED');
      assertError(await req('GET', `/resources?externalId=${'x'.repeat(300)}`, a), 400, 'VALIDATION_FAILED');
      assertError(await req('GET', '/resources?externalId=a%0Ab', a), 400, 'VALIDATION_FAILED');
      assertError(await req('GET', '/resources?type=folder', a), 400, 'VALIDATION_FAILED');
      assertError(await req('GET', '/resources?externalId=a&q=b', a), 400, 'VALIDATION_FAILED');
    });

    it('without credentials: 401', async () => {
      const res = await call(env().app, 'POST', '/api/v1.0/resources/bulk', { body: { items: [item(0)] } });
      assertError(res, 401, 'UNAUTHENTICATED');
    });
  });

  describe('resolveRef (the gateway target lookup)', () => {
    const ids: Record<string, string> = {};
    before(async () => {
      const rows = await upsert({ cookie: admin.cookie }, [
        { externalId: 'ref-acc', type: 'account', name: 'Refs' },
        { externalId: 'shared', type: 'folder', name: 'Folder', parentExternalId: 'ref-acc' },
        { externalId: 'shared', type: 'building', name: 'Building', parentExternalId: 'ref-acc' },
        { externalId: 'only-building', type: 'building', name: 'Lone', parentExternalId: 'ref-acc' },
      ]);
      for (const r of rows) ids[`${r.type}:${r.externalId}`] = r.id;
    });

    it('a keygate id names its resource (of the type asked, when one is)', async () => {
      const { kg } = env();
      const id = ids['account:ref-acc']!;
      assert.equal(await kg.resources.resolveRef(id), id);
      assert.equal(await kg.resources.resolveRef(id, 'account'), id);
      assert.equal(await kg.resources.resolveRef(id, 'building'), null);
    });

    it('an external id names the resource carrying it; several types sharing it need the type', async () => {
      const { kg } = env();
      assert.equal(await kg.resources.resolveRef('ref-acc'), ids['account:ref-acc']);
      assert.equal(await kg.resources.resolveRef('only-building'), ids['building:only-building']);
      assert.equal(await kg.resources.resolveRef('only-building', 'building'), ids['building:only-building']);
      assert.equal(await kg.resources.resolveRef('only-building', 'folder'), null);
      assert.equal(await kg.resources.resolveRef('shared'), null, 'ambiguous without a type');
      assert.equal(await kg.resources.resolveRef('shared', 'folder'), ids['folder:shared']);
      assert.equal(await kg.resources.resolveRef('shared', 'building'), ids['building:shared']);
    });

    it('anything else names nothing', async () => {
      const { kg } = env();
      assert.equal(await kg.resources.resolveRef('no-such-thing'), null);
      assert.equal(await kg.resources.resolveRef('no-such-thing', 'folder'), null);
      assert.equal(await kg.resources.resolveRef(''), null);
      assert.equal(await kg.resources.resolveRef('x'.repeat(5000)), null);
      assert.equal(await kg.resources.resolveRef('res_doesnotexist0000000', 'account'), null);
    });
  });
});
