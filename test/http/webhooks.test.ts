import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { assertError, asUser, call, userWithSession, type Reply } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

type Who = { cookie: string } | { key: string };
const HOOK = 'https://hooks.example.com/keygate';

forEachDialect('webhooks: who may manage which, URL rules, secret shown once', (env) => {
  const w = {
    admin: { cookie: '' } as Who,
    resourceAdmin: { cookie: '' } as Who,
    manager: { cookie: '' } as Who,
    stranger: { cookie: '' } as Who,
    adminKey: { key: '' } as Who,
    readerKey: { key: '' } as Who,
    A: '',
    B: '',
    X: '',
  };
  const req = (method: string, url: string, who: Who, body?: unknown): Promise<Reply> =>
    call(env().app, method, `/api/v1.0${url}`, { ...who, ...(body !== undefined ? { body } : {}) });

  before(async () => {
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    w.admin = { cookie: admin.cookie };
    const make = async (type: string, name: string, parentId?: string) => {
      const res = await req('POST', '/resources', w.admin, { type, name, ...(parentId ? { parentId } : {}) });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    w.A = await make('account', 'A');
    w.B = await make('building', 'B', w.A);
    w.X = await make('account', 'X');
    const member = async (role: string | null) => {
      const u = await userWithSession(app, kg, 'user');
      if (role) assert.equal((await req('PUT', `/resources/${w.A}/members/${u.id}`, w.admin, { role })).status, 200);
      return u;
    };
    const ra = await member('administrator');
    w.resourceAdmin = { cookie: ra.cookie };
    w.manager = { cookie: (await member('manager')).cookie };
    w.stranger = { cookie: (await member(null)).cookie };
    const raToken = await kg.tokens.create(await asUser(kg, ra.id), w.A, { name: 'ops', level: 'administrator' }, null);
    w.adminKey = { key: raToken.key };
    const reader = await kg.tokens.create(await asUser(kg, ra.id), w.A, { name: 'ro', level: 'reader' }, null);
    w.readerKey = { key: reader.key };
  });

  it('a system administrator creates a system-wide webhook; the secret is in the answer only', async () => {
    const res = await req('POST', '/webhooks', w.admin, { url: HOOK, events: ['token.created'] });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.match(res.body.secret, /^whsec_/);
    assert.equal(res.body.resourceId, null);
    const secret = res.body.secret as string;
    const shown = [
      await req('GET', `/webhooks/${res.body.id}`, w.admin),
      await req('GET', '/webhooks', w.admin),
      await req('PATCH', `/webhooks/${res.body.id}`, w.admin, { active: false }),
    ];
    for (const r of shown) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(!JSON.stringify(r.body).includes(secret), 'secret shown again');
      assert.ok(!JSON.stringify(r.body).includes('"secret"'));
    }
    const rotated = await req('POST', `/webhooks/${res.body.id}/rotate-secret`, w.admin);
    assert.equal(rotated.status, 200);
    assert.match(rotated.body.secret, /^whsec_/);
    assert.notEqual(rotated.body.secret, secret);
    const row = await env().kg.notifications.store.findById(res.body.id);
    assert.equal(row?.secret, rotated.body.secret);
  });

  it('a caller may choose a secret of at least 24 characters', async () => {
    const chosen = 'my-own-secret-of-24-chars!';
    const ok = await req('POST', '/webhooks', w.admin, { url: HOOK, secret: chosen });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.secret, chosen);
    const short = await req('POST', '/webhooks', w.admin, { url: HOOK, secret: 'too-short' });
    assertError(short, 400, 'VALIDATION_FAILED');
    assert.equal(short.body.error.field, 'secret');
  });

  it('only system administrators manage system-wide webhooks', async () => {
    for (const who of [w.resourceAdmin, w.manager, w.stranger, w.adminKey]) {
      assertError(await req('POST', '/webhooks', who, { url: HOOK }), 403, 'FORBIDDEN');
    }
    const sys = await req('POST', '/webhooks', w.admin, { url: HOOK, resourceId: null });
    assert.equal(sys.status, 201);
    for (const who of [w.resourceAdmin, w.manager, w.stranger, w.adminKey, w.readerKey]) {
      const got = await req('GET', `/webhooks/${sys.body.id}`, who);
      assert.ok(got.status === 404 || got.status === 403, `${got.status}`);
      assertError(await req('DELETE', `/webhooks/${sys.body.id}`, who), got.status, got.body.error.code);
    }
  });

  it("a resource's administrators (people and tokens) manage its webhooks; managers and others do not", async () => {
    const mine = await req('POST', '/webhooks', w.resourceAdmin, { url: HOOK, resourceId: w.A });
    assert.equal(mine.status, 201, JSON.stringify(mine.body));
    const below = await req('POST', '/webhooks', w.adminKey, { url: HOOK, resourceId: w.B });
    assert.equal(below.status, 201, JSON.stringify(below.body));
    assertError(
      await req('POST', '/webhooks', w.manager, { url: HOOK, resourceId: w.A }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    assertError(
      await req('POST', '/webhooks', w.readerKey, { url: HOOK, resourceId: w.A }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    assertError(await req('POST', '/webhooks', w.stranger, { url: HOOK, resourceId: w.A }), 404, 'NOT_FOUND');
    assertError(await req('POST', '/webhooks', w.resourceAdmin, { url: HOOK, resourceId: w.X }), 404, 'NOT_FOUND');

    assert.equal((await req('GET', `/webhooks/${mine.body.id}`, w.adminKey)).status, 200);
    assert.equal((await req('GET', `/webhooks/${mine.body.id}`, w.admin)).status, 200);
    assertError(await req('GET', `/webhooks/${mine.body.id}`, w.manager), 403, 'INSUFFICIENT_PERMISSIONS');
    assertError(await req('GET', `/webhooks/${mine.body.id}`, w.stranger), 404, 'NOT_FOUND');
    assertError(await req('GET', `/webhooks/${mine.body.id}/deliveries`, w.stranger), 404, 'NOT_FOUND');

    const listed = await req('GET', '/webhooks', w.resourceAdmin);
    const ids = listed.body.items.map((h: { id: string }) => h.id);
    assert.ok(ids.includes(mine.body.id) && ids.includes(below.body.id));
    assert.ok(
      listed.body.items.every((h: { resourceId: string | null }) => h.resourceId !== null),
      'no system-wide',
    );
    assert.deepEqual((await req('GET', '/webhooks', w.stranger)).body.items, []);
    const onA = await req('GET', `/webhooks?resourceId=${w.A}`, w.resourceAdmin);
    assert.deepEqual(
      onA.body.items.map((h: { id: string }) => h.id),
      [mine.body.id],
    );
    assertError(await req('GET', `/webhooks?resourceId=${w.A}`, w.manager), 403, 'INSUFFICIENT_PERMISSIONS');

    const edited = await req('PATCH', `/webhooks/${mine.body.id}`, w.resourceAdmin, {
      events: ['token.deleted', 'token.created'],
    });
    assert.deepEqual(edited.body.events, ['token.created', 'token.deleted']);
    assertError(
      await req('PATCH', `/webhooks/${mine.body.id}`, w.manager, { active: false }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    assert.equal((await req('DELETE', `/webhooks/${mine.body.id}`, w.resourceAdmin)).status, 204);
    assertError(await req('GET', `/webhooks/${mine.body.id}`, w.resourceAdmin), 404, 'NOT_FOUND');
  });

  it('a token whose API groups leave out webhooks may not call them', async () => {
    const { kg } = env();
    const admin = await kg.users.create(
      { email: `g-${Date.now()}@example.com`, password: 'x'.repeat(16), systemRole: 'admin' },
      'system',
    );
    const { key } = await kg.tokens.create(
      await asUser(kg, admin.id),
      null,
      { name: 'logs', level: 'administrator', apiGroups: ['logs'] },
      null,
    );
    assertError(await req('GET', '/webhooks', { key }), 403, 'API_GROUP_NOT_ALLOWED');
  });

  it('refuses URLs that are not http(s), carry credentials or point at private addresses, naming url', async () => {
    for (const url of [
      'ftp://example.com/hook',
      'javascript:alert(1)',
      'http://127.0.0.1/hook',
      'http://[::1]/hook',
      'http://10.0.0.1/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::ffff:127.0.0.1]/',
      'http://localhost:3000/',
      'https://user:secret@example.com/',
    ]) {
      const res = await req('POST', '/webhooks', w.admin, { url });
      assertError(res, 400, 'VALIDATION_FAILED');
      assert.equal(res.body.error.field, 'url', url);
      assert.match(res.body.error.message, /url/);
    }
    const made = await req('POST', '/webhooks', w.admin, { url: HOOK });
    const patched = await req('PATCH', `/webhooks/${made.body.id}`, w.admin, { url: 'http://10.1.2.3/' });
    assertError(patched, 400, 'VALIDATION_FAILED');
    assert.equal(patched.body.error.field, 'url');
    const badEvent = await req('POST', '/webhooks', w.admin, { url: HOOK, events: ['token.exploded'] });
    assertError(badEvent, 400, 'VALIDATION_FAILED');
    assert.match(badEvent.body.error.field, /^events/);
  });
});
