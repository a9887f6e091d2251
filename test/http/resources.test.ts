import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { forEachDialect } from '../support/harness.js';
import { assertError, call, email, userWithSession, type Reply } from '../support/client.js';

type Session = { id: string; email: string; cookie: string };
type Who = { cookie: string } | { key: string };

forEachDialect('resources over HTTP', (env) => {
  let admin: Session;
  /** account A > folder F > building B; folder F2 under A; account X. */
  const ids = { A: '', F: '', B: '', F2: '', X: '' };

  const req = (method: string, url: string, who: Who, body?: unknown): Promise<Reply> =>
    call(env().app, method, `/api/v1.0${url}`, { ...who, ...(body !== undefined ? { body } : {}) });
  const create = async (who: Who, type: string, name: string, parentId?: string | null): Promise<string> => {
    const res = await req('POST', '/resources', who, { type, name, ...(parentId !== undefined ? { parentId } : {}) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  };
  const grant = async (resourceId: string, user: string, role: string, who: Who = { cookie: admin.cookie }) => {
    const res = await req('PUT', `/resources/${resourceId}/members/${user}`, who, { role });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const member = async (role?: string, on?: string): Promise<Session> => {
    const { app, kg } = env();
    const u = await userWithSession(app, kg, 'user');
    if (role) await grant(on ?? ids.A, u.id, role);
    return u;
  };

  before(async () => {
    const { app, kg } = env();
    admin = await userWithSession(app, kg, 'admin');
    const a = { cookie: admin.cookie };
    ids.A = await create(a, 'account', 'A');
    ids.F = await create(a, 'folder', 'F', ids.A);
    ids.B = await create(a, 'building', 'B', ids.F);
    ids.F2 = await create(a, 'folder', 'F2', ids.A);
    ids.X = await create(a, 'account', 'X');
  });

  describe('the tree', () => {
    it('an administrator creates accounts; nobody else does', async () => {
      const res = await req('POST', '/resources', { cookie: admin.cookie }, { type: 'account', name: '  Acme  ' });
      assert.equal(res.status, 201);
      assert.equal(res.body.type, 'account');
      assert.equal(res.body.name, 'Acme');
      assert.equal(res.body.parentId, null);
      assert.match(res.body.id, /^res_/);
      assert.ok(res.body.createdAt && res.body.updatedAt);
      const explicitNull = await req(
        'POST',
        '/resources',
        { cookie: admin.cookie },
        { type: 'account', name: 'Null parent', parentId: null },
      );
      assert.equal(explicitNull.status, 201);
      const owner = await member('administrator');
      assertError(
        await req('POST', '/resources', { cookie: owner.cookie }, { type: 'account', name: 'Mine' }),
        403,
        'FORBIDDEN',
      );
      assertError(
        await req('POST', '/resources', { cookie: owner.cookie }, { type: 'account', name: 'Mine', parentId: null }),
        403,
        'FORBIDDEN',
      );
    });

    it('folders nest; buildings and databases sit under folders (and accounts)', async () => {
      const manager = await member('manager');
      const m = { cookie: manager.cookie };
      const sub = await create(m, 'folder', 'sub', ids.F);
      const subsub = await create(m, 'folder', 'subsub', sub);
      const building = await create(m, 'building', 'house', subsub);
      const database = await create(m, 'database', 'db', subsub);
      assert.ok(await create(m, 'building', 'on account', ids.A));
      const shown = await req('GET', `/resources/${database}`, m);
      assert.equal(shown.body.parentId, subsub);
      assert.equal(shown.body.type, 'database');
      assertError(
        await req('POST', '/resources', m, { type: 'building', name: 'in a house', parentId: building }),
        422,
        'INVALID_PARENT',
      );
      assertError(
        await req('POST', '/resources', m, { type: 'folder', name: 'in a db', parentId: database }),
        422,
        'INVALID_PARENT',
      );
      assertError(
        await req('POST', '/resources', m, { type: 'account', name: 'nested account', parentId: ids.A }),
        422,
        'INVALID_PARENT',
      );
      assertError(
        await req('POST', '/resources', { cookie: admin.cookie }, { type: 'folder', name: 'orphan' }),
        422,
        'INVALID_PARENT',
      );
      assertError(
        await req('POST', '/resources', m, { type: 'castle', name: 'x', parentId: ids.F }),
        422,
        'UNKNOWN_RESOURCE_TYPE',
      );
      assertError(
        await req('POST', '/resources', m, { type: 'constructor', name: 'x', parentId: ids.F }),
        422,
        'UNKNOWN_RESOURCE_TYPE',
      );
      assertError(
        await req('POST', '/resources', m, { type: 'folder', name: '   ', parentId: ids.F }),
        400,
        'VALIDATION_FAILED',
      );
      assertError(await req('POST', '/resources', m, { type: 'folder', name: 'x', parentId: ids.X }), 404, 'NOT_FOUND');
      assertError(
        await req('POST', '/resources', m, { type: 'folder', name: 'x', parentId: 'res_doesnotexist' }),
        404,
        'NOT_FOUND',
      );
      const reader = await member('reader');
      assertError(
        await req('POST', '/resources', { cookie: reader.cookie }, { type: 'folder', name: 'x', parentId: ids.F }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
    });

    it('GET one, and its children page by page', async () => {
      const parent = await create({ cookie: admin.cookie }, 'folder', 'many', ids.F);
      const kids: string[] = [];
      for (let i = 0; i < 5; i++) kids.push(await create({ cookie: admin.cookie }, 'building', `b${i}`, parent));
      const reader = await member('reader');
      const r = { cookie: reader.cookie };
      const one = await req('GET', `/resources/${parent}`, r);
      assert.equal(one.status, 200);
      assert.deepEqual(
        { id: one.body.id, type: one.body.type, name: one.body.name, parentId: one.body.parentId },
        { id: parent, type: 'folder', name: 'many', parentId: ids.F },
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: Reply = await req(
          'GET',
          `/resources/${parent}/children?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          r,
        );
        assert.equal(res.status, 200);
        for (const c of res.body.items) assert.equal(c.parentId, parent);
        seen.push(...res.body.items.map((c: any) => c.id));
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen.sort(), [...kids].sort());
      const all = await req('GET', `/resources/${ids.A}/children`, r);
      assert.deepEqual(
        all.body.items
          .map((c: any) => c.id)
          .filter((id: string) => id === ids.F || id === ids.F2)
          .sort(),
        [ids.F, ids.F2].sort(),
      );
      assert.equal(all.body.nextCursor, null);
      assertError(await req('GET', `/resources/${parent}/children?limit=0`, r), 400, 'VALIDATION_FAILED');
    });

    it('GET /resources: roots for administrators, the resources one holds a role on for people, its own for a token', async () => {
      const roots = await req('GET', '/resources?limit=500', { cookie: admin.cookie });
      const rootIds = roots.body.items.map((r: any) => r.id);
      assert.ok(rootIds.includes(ids.A) && rootIds.includes(ids.X));
      assert.ok(roots.body.items.every((r: any) => r.parentId === null));
      const u = await member('reader', ids.F);
      await grant(ids.X, u.id, 'manager');
      const mine = await req('GET', '/resources', { cookie: u.cookie });
      assert.deepEqual(mine.body.items.map((r: any) => r.id).sort(), [ids.F, ids.X].sort());
      const nobody = await member();
      assert.deepEqual((await req('GET', '/resources', { cookie: nobody.cookie })).body.items, []);
      const token = await req('POST', `/resources/${ids.F}/tokens`, { cookie: u.cookie }, { name: 't' });
      const viaToken = await req('GET', '/resources', { key: token.body.key });
      assert.deepEqual(
        viaToken.body.items.map((r: any) => r.id),
        [ids.F],
      );
    });

    it('PATCH renames (resources:write)', async () => {
      const target = await create({ cookie: admin.cookie }, 'folder', 'old', ids.F);
      const manager = await member('manager');
      const renamed = await req('PATCH', `/resources/${target}`, { cookie: manager.cookie }, { name: '  new  ' });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, 'new');
      assert.equal((await req('GET', `/resources/${target}`, { cookie: manager.cookie })).body.name, 'new');
      const reader = await member('reader');
      assertError(
        await req('PATCH', `/resources/${target}`, { cookie: reader.cookie }, { name: 'no' }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
      assertError(
        await req('PATCH', `/resources/${target}`, { cookie: manager.cookie }, { name: '' }),
        400,
        'VALIDATION_FAILED',
      );
      assertError(
        await req('PATCH', `/resources/${target}`, { cookie: manager.cookie }, { name: 'x', parentId: ids.X }),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('DELETE: refused while it has children; then its tokens and memberships go with it', async () => {
      const top = await create({ cookie: admin.cookie }, 'folder', 'doomed', ids.F);
      const leaf = await create({ cookie: admin.cookie }, 'building', 'leaf', top);
      const boss = await member('administrator');
      const holder = await member();
      await grant(leaf, holder.id, 'manager');
      const onLeaf = await req('POST', `/resources/${leaf}/tokens`, { cookie: holder.cookie }, { name: 'on leaf' });
      assert.equal(onLeaf.status, 201);
      const onTop = await req('POST', `/resources/${top}/tokens`, { cookie: boss.cookie }, { name: 'on top' });
      assert.equal((await req('GET', '/me', { key: onLeaf.body.key })).status, 200);

      const manager = await member('manager');
      assertError(
        await req('DELETE', `/resources/${leaf}`, { cookie: manager.cookie }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
      assertError(await req('DELETE', `/resources/${top}`, { cookie: boss.cookie }), 409, 'RESOURCE_NOT_EMPTY');
      assert.equal((await req('DELETE', `/resources/${leaf}`, { cookie: boss.cookie })).status, 204);
      assertError(await req('GET', '/me', { key: onLeaf.body.key }), 401, 'KEY_INVALID');
      assertError(await req('GET', `/resources/${leaf}`, { cookie: boss.cookie }), 404, 'NOT_FOUND');
      assertError(await req('GET', `/tokens/${onLeaf.body.id}`, { cookie: admin.cookie }), 404, 'NOT_FOUND');
      assert.deepEqual(
        (await req('GET', '/resources', { cookie: holder.cookie })).body.items,
        [],
        'the membership went with it',
      );
      assert.equal((await req('DELETE', `/resources/${top}`, { cookie: boss.cookie })).status, 204);
      assertError(await req('GET', '/me', { key: onTop.body.key }), 401, 'KEY_INVALID');
      assertError(await req('DELETE', `/resources/${top}`, { cookie: boss.cookie }), 404, 'NOT_FOUND');
      // A token cannot delete the resource it is attached to.
      const spot = await create({ cookie: admin.cookie }, 'building', 'spot', ids.F);
      const self = await req(
        'POST',
        `/resources/${spot}/tokens`,
        { cookie: boss.cookie },
        { name: 'self', level: 'administrator' },
      );
      assertError(await req('DELETE', `/resources/${spot}`, { key: self.body.key }), 403, 'FORBIDDEN');
    });
  });

  describe('members', () => {
    it('GET lists people (inherited roles marked) and tokens with their level', async () => {
      const onA = await member('manager', ids.A);
      const onF = await member('reader', ids.F);
      const both = await member('reader', ids.A);
      await grant(ids.F, both.id, 'administrator');
      const lvl = await req(
        'POST',
        `/resources/${ids.F}/tokens`,
        { cookie: onA.cookie },
        { name: 'leveled', level: 'manager' },
      );
      const listed = await req(
        'POST',
        `/resources/${ids.F}/tokens`,
        { cookie: onA.cookie },
        { name: 'listed', permissions: ['resources:read', 'resources:write'] },
      );
      const res = await req('GET', `/resources/${ids.F}/members`, { cookie: onF.cookie });
      assert.equal(res.status, 200);
      const items: any[] = res.body.items;
      const person = (id: string) => items.find((m) => m.kind === 'user' && m.id === id);
      assert.deepEqual(
        (({ role, resourceId, inherited, email: e }) => ({ role, resourceId, inherited, email: e }))(person(onA.id)),
        { role: 'manager', resourceId: ids.A, inherited: true, email: onA.email },
      );
      assert.deepEqual((({ role, resourceId, inherited }) => ({ role, resourceId, inherited }))(person(onF.id)), {
        role: 'reader',
        resourceId: ids.F,
        inherited: false,
      });
      assert.equal(person(both.id).role, 'administrator', 'the nearer role is shown');
      assert.equal(person(both.id).inherited, false);
      assert.equal(items.filter((m) => m.kind === 'user' && m.id === both.id).length, 1);
      const token = (id: string) => items.find((m) => m.kind === 'token' && m.id === id);
      assert.equal(token(lvl.body.id).role, 'manager');
      assert.equal(token(lvl.body.id).ownerId, onA.id);
      assert.equal(token(lvl.body.id).active, true);
      assert.equal(token(listed.body.id).role, 'manager', 'explicit permissions show the least level covering them');
      assert.equal(token(listed.body.id).email, null);
      // Seen from B, the F roles are inherited too; F's tokens are not B's.
      const fromB: any[] = (await req('GET', `/resources/${ids.B}/members`, { cookie: onF.cookie })).body.items;
      assert.equal(fromB.find((m) => m.id === onF.id).inherited, true);
      assert.equal(fromB.find((m) => m.id === onF.id).resourceId, ids.F);
      assert.equal(
        fromB.find((m) => m.id === lvl.body.id),
        undefined,
      );
      // A token with members:read lists them too; one without is refused.
      const t = await req(
        'POST',
        `/resources/${ids.F}/tokens`,
        { cookie: onA.cookie },
        { name: 'no members', permissions: ['resources:read'] },
      );
      assertError(
        await req('GET', `/resources/${ids.F}/members`, { key: t.body.key }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
      assert.equal((await req('GET', `/resources/${ids.F}/members`, { key: lvl.body.key })).status, 200);
    });

    it('PUT gives a role by user id or by email, and replaces it', async () => {
      const boss = await member('administrator');
      const u = await member();
      const b = { cookie: boss.cookie };
      const byId = await req('PUT', `/resources/${ids.F}/members/${u.id}`, b, { role: 'reader' });
      assert.equal(byId.status, 200);
      assert.deepEqual(
        (({ kind, id, role, resourceId, inherited }) => ({ kind, id, role, resourceId, inherited }))(byId.body),
        { kind: 'user', id: u.id, role: 'reader', resourceId: ids.F, inherited: false },
      );
      assert.equal((await req('GET', `/resources/${ids.B}`, { cookie: u.cookie })).status, 200, 'the role holds below');
      assertError(
        await req('PATCH', `/resources/${ids.B}`, { cookie: u.cookie }, { name: 'B' }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
      const byEmail = await req('PUT', `/resources/${ids.F}/members/${encodeURIComponent(u.email.toUpperCase())}`, b, {
        role: 'manager',
      });
      assert.equal(byEmail.status, 200, JSON.stringify(byEmail.body));
      assert.equal(byEmail.body.id, u.id);
      assert.equal(
        (await req('PATCH', `/resources/${ids.B}`, { cookie: u.cookie }, { name: 'B' })).status,
        200,
        'the new role applies at once',
      );
      const listed: any[] = (await req('GET', `/resources/${ids.F}/members`, b)).body.items;
      assert.equal(listed.filter((m) => m.id === u.id).length, 1);
      assert.equal(listed.find((m) => m.id === u.id).role, 'manager');
      assertError(await req('PUT', `/resources/${ids.F}/members/${u.id}`, b, { role: 'owner' }), 422, 'UNKNOWN_LEVEL');
      assertError(
        await req('PUT', `/resources/${ids.F}/members/${u.id}`, b, { role: 'constructor' }),
        422,
        'UNKNOWN_LEVEL',
      );
      assertError(
        await req('PUT', `/resources/${ids.F}/members/usr_nobody`, b, { role: 'reader' }),
        422,
        'UNKNOWN_USER',
      );
      assertError(
        await req('PUT', `/resources/${ids.F}/members/${encodeURIComponent(email('ghost'))}`, b, { role: 'reader' }),
        422,
        'UNKNOWN_USER',
      );
    });

    it('adding by email does not tell a resource administrator which addresses belong to users', async () => {
      const { app, kg } = env();
      const boss = await member('administrator');
      const b = { cookie: boss.cookie };
      const stranger = await userWithSession(app, kg, 'user');
      const ghost = email('ghost');
      const existing = await req('PUT', `/resources/${ids.F}/members/${encodeURIComponent(stranger.email)}`, b, {
        role: 'reader',
      });
      const missing = await req('PUT', `/resources/${ids.F}/members/${encodeURIComponent(ghost)}`, b, {
        role: 'reader',
      });
      assertError(existing, 422, 'UNKNOWN_USER');
      assertError(missing, 422, 'UNKNOWN_USER');
      assert.equal(
        existing.body.error.message.replace(stranger.email, '<a>'),
        missing.body.error.message.replace(ghost, '<a>'),
      );
      assert.equal(existing.body.error.field, missing.body.error.field);
      const listed: any[] = (await req('GET', `/resources/${ids.F}/members`, b)).body.items;
      assert.ok(!listed.some((m) => m.id === stranger.id), 'nobody was added');
      // The person's id (which they can share) adds them; so does a system administrator, by email.
      assert.equal((await req('PUT', `/resources/${ids.F}/members/${stranger.id}`, b, { role: 'reader' })).status, 200);
      const other = await userWithSession(app, kg, 'user');
      const byAdmin = await req(
        'PUT',
        `/resources/${ids.F}/members/${encodeURIComponent(other.email)}`,
        { cookie: admin.cookie },
        {
          role: 'reader',
        },
      );
      assert.equal(byAdmin.status, 200, JSON.stringify(byAdmin.body));
    });

    it('members:manage is administrator-only; nobody gives, changes or removes a role beyond their own rights (ROLE_ESCALATION)', async () => {
      const manager = await member('manager');
      const victim = await member('administrator', ids.F);
      const u = await member();
      assertError(
        await req('PUT', `/resources/${ids.F}/members/${u.id}`, { cookie: manager.cookie }, { role: 'reader' }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
      assertError(
        await req('DELETE', `/resources/${ids.F}/members/${victim.id}`, { cookie: manager.cookie }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );

      // A token holding the reader bundle plus members:manage: it may hand out reader, nothing more,
      // and may neither demote nor remove an administrator.
      const boss = await member('administrator');
      const created = await req(
        'POST',
        `/resources/${ids.F}/tokens`,
        { cookie: boss.cookie },
        {
          name: 'membership bot',
          permissions: ['resources:read', 'members:read', 'tokens:create', 'members:manage'],
          apiGroups: ['resources'],
        },
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const bot = { key: created.body.key };
      assert.equal((await req('PUT', `/resources/${ids.F}/members/${u.id}`, bot, { role: 'reader' })).status, 200);
      assertError(
        await req('PUT', `/resources/${ids.F}/members/${u.id}`, bot, { role: 'manager' }),
        403,
        'ROLE_ESCALATION',
      );
      assertError(
        await req('PUT', `/resources/${ids.F}/members/${u.id}`, bot, { role: 'administrator' }),
        403,
        'ROLE_ESCALATION',
      );
      assertError(
        await req('PUT', `/resources/${ids.F}/members/${victim.id}`, bot, { role: 'reader' }),
        403,
        'ROLE_ESCALATION',
      );
      assertError(await req('DELETE', `/resources/${ids.F}/members/${victim.id}`, bot), 403, 'ROLE_ESCALATION');
      assert.equal(
        (await req('PATCH', `/resources/${ids.B}`, { cookie: victim.cookie }, { name: 'B' })).status,
        200,
        'the administrator keeps the role',
      );
      assert.equal(
        (await req('DELETE', `/resources/${ids.F}/members/${u.id}`, bot)).status,
        204,
        'a reader it may remove',
      );
      // Nor outside its subtree.
      assertError(await req('PUT', `/resources/${ids.A}/members/${u.id}`, bot, { role: 'reader' }), 404, 'NOT_FOUND');

      // An administrator of F rules F, not A.
      const fAdmin = await member('administrator', ids.F);
      assert.equal(
        (await req('PUT', `/resources/${ids.B}/members/${u.id}`, { cookie: fAdmin.cookie }, { role: 'administrator' }))
          .status,
        200,
      );
      assertError(
        await req('PUT', `/resources/${ids.A}/members/${u.id}`, { cookie: fAdmin.cookie }, { role: 'reader' }),
        404,
        'NOT_FOUND',
      );
      // An administrator may demote another administrator.
      assert.equal(
        (await req('PUT', `/resources/${ids.F}/members/${victim.id}`, { cookie: fAdmin.cookie }, { role: 'reader' }))
          .status,
        200,
      );
      assertError(
        await req('PATCH', `/resources/${ids.B}`, { cookie: victim.cookie }, { name: 'B' }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
    });

    it('DELETE takes the role away at once', async () => {
      const u = await member('manager', ids.F);
      const key = (await req('POST', `/resources/${ids.F}/tokens`, { cookie: u.cookie }, { name: 'k' })).body.key;
      assert.equal((await req('GET', `/resources/${ids.B}`, { key })).status, 200);
      assert.equal((await req('DELETE', `/resources/${ids.F}/members/${u.id}`, { cookie: admin.cookie })).status, 204);
      assertError(await req('GET', `/resources/${ids.F}`, { cookie: u.cookie }), 404, 'NOT_FOUND');
      assertError(await req('GET', `/resources/${ids.B}`, { key }), 404, 'NOT_FOUND');
      assertError(
        await req('DELETE', `/resources/${ids.F}/members/${u.id}`, { cookie: admin.cookie }),
        404,
        'NOT_FOUND',
      );
      assertError(
        await req('DELETE', `/resources/${ids.F}/members/usr_nobody`, { cookie: admin.cookie }),
        404,
        'NOT_FOUND',
      );
      // A role inherited from above is not removed here.
      const up = await member('reader', ids.A);
      assertError(
        await req('DELETE', `/resources/${ids.F}/members/${up.id}`, { cookie: admin.cookie }),
        404,
        'NOT_FOUND',
      );
    });
  });

  it("a resource outside the caller's reach is 404, never 403", async () => {
    const u = await member('administrator', ids.F);
    const c = { cookie: u.cookie };
    const key = (await req('POST', `/resources/${ids.F}/tokens`, c, { name: 'k', level: 'administrator' })).body.key;
    for (const who of [c, { key }]) {
      for (const id of [ids.A, ids.F2, ids.X, 'res_doesnotexist']) {
        assertError(await req('GET', `/resources/${id}`, who), 404, 'NOT_FOUND');
        assertError(await req('PATCH', `/resources/${id}`, who, { name: 'x' }), 404, 'NOT_FOUND');
        assertError(await req('DELETE', `/resources/${id}`, who), 404, 'NOT_FOUND');
        assertError(await req('GET', `/resources/${id}/children`, who), 404, 'NOT_FOUND');
        assertError(await req('GET', `/resources/${id}/members`, who), 404, 'NOT_FOUND');
        assertError(await req('PUT', `/resources/${id}/members/${u.id}`, who, { role: 'reader' }), 404, 'NOT_FOUND');
        assertError(await req('DELETE', `/resources/${id}/members/${u.id}`, who), 404, 'NOT_FOUND');
        assertError(await req('GET', `/resources/${id}/tokens`, who), 404, 'NOT_FOUND');
        assertError(await req('POST', `/resources/${id}/tokens`, who, { name: 'x' }), 404, 'NOT_FOUND');
        assertError(
          await req('POST', '/resources', who, { type: 'building', name: 'x', parentId: id }),
          404,
          'NOT_FOUND',
        );
      }
    }
    const sameAsMissing = await req('GET', `/resources/${ids.X}`, c);
    const missing = await req('GET', '/resources/res_doesnotexist', c);
    assert.equal(sameAsMissing.body.error.message, missing.body.error.message, 'existing and missing look alike');
  });
});
