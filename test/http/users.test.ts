import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { forEachDialect } from '../support/harness.js';
import { PASSWORD, assertError, call, email, userWithSession, type Reply } from '../support/client.js';

type Who = { cookie: string } | { key: string } | Record<string, never>;

const NEW_PASSWORD = 'another long passphrase, different';

forEachDialect('users and sessions over HTTP', (env) => {
  /** Every response body this suite saw: none may hold a password or a password hash. */
  const seen: string[] = [];
  const req = async (method: string, url: string, who: Who, body?: unknown): Promise<Reply> => {
    const res = await call(env().app, method, `/api/v1.0${url}`, { ...who, ...(body !== undefined ? { body } : {}) });
    seen.push(typeof res.body === 'string' ? res.body : JSON.stringify(res.body));
    return res;
  };
  const signIn = async (address: string, password: string) => {
    const res = await env().app.inject({
      method: 'POST',
      url: '/api/v1.0/session',
      payload: { email: address, password },
    });
    seen.push(res.body);
    return res;
  };
  let admin: { id: string; email: string; cookie: string };

  before(async () => {
    const { app, kg } = env();
    admin = await userWithSession(app, kg, 'admin');
  });

  it('ensureAdmin creates the first administrator once; a second call leaves it as it is', async () => {
    const { kg } = env();
    const address = email('boot');
    assert.equal(await kg.users.ensureAdmin(address, PASSWORD), true);
    assert.equal(await kg.users.ensureAdmin(address, NEW_PASSWORD), false);
    assert.equal(
      await kg.users.ensureAdmin(address.toUpperCase(), NEW_PASSWORD),
      false,
      'the same email in other case',
    );
    const row = await kg.stores.users.findByEmail(address);
    assert.equal(row?.system_role, 'admin');
    assert.equal(row?.active, 1);
    assert.equal((await signIn(address, PASSWORD)).statusCode, 200, 'the first password still works');
    assert.equal((await signIn(address, NEW_PASSWORD)).statusCode, 401, 'the second was not set');
  });

  describe('session', () => {
    it('POST /session signs in and sets an http-only cookie; a wrong password or an unknown email are the same 401', async () => {
      const { app, kg } = env();
      const u = await userWithSession(app, kg, 'user');
      const ok = await signIn(u.email.toUpperCase(), PASSWORD);
      assert.equal(ok.statusCode, 200);
      const body = JSON.parse(ok.body);
      assert.equal(body.user.id, u.id);
      assert.equal(body.user.email, u.email);
      assert.ok(Date.parse(body.expiresAt) > Date.now());
      const cookie = ok.cookies.find((c) => c.name === 'keygate_session');
      assert.ok(cookie);
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(cookie.path, '/');
      assert.equal(ok.headers['cache-control'], 'no-store');

      const wrong = await req('POST', '/session', {}, { email: u.email, password: 'not the password at all' });
      assertError(wrong, 401, 'INVALID_CREDENTIALS');
      const unknown = await req('POST', '/session', {}, { email: email('nobody'), password: PASSWORD });
      assertError(unknown, 401, 'INVALID_CREDENTIALS');
      assert.equal(wrong.body.error.message, unknown.body.error.message, 'nothing tells which emails exist');
      assert.equal(wrong.headers['set-cookie'], undefined);
      assertError(await req('POST', '/session', {}, { email: u.email }), 400, 'VALIDATION_FAILED');
    });

    it('DELETE /session ends the session: the cookie then gets 401', async () => {
      const { app, kg } = env();
      const u = await userWithSession(app, kg, 'user');
      const other = await signIn(u.email, PASSWORD);
      const otherCookie = other.cookies.find((c) => c.name === 'keygate_session')!.value;
      assert.equal((await req('GET', '/me', { cookie: u.cookie })).status, 200);
      const out = await req('DELETE', '/session', { cookie: u.cookie });
      assert.equal(out.status, 204);
      assert.match(String(out.headers['set-cookie']), /keygate_session=;/);
      assertError(await req('GET', '/me', { cookie: u.cookie }), 401, 'UNAUTHENTICATED');
      assert.equal((await req('GET', '/me', { cookie: otherCookie })).status, 200, 'only that session ends');
      assert.equal((await req('DELETE', '/session', {})).status, 204, 'signing out without a session is harmless');
      assertError(await req('GET', '/me', {}), 401, 'UNAUTHENTICATED');
      assertError(await req('GET', '/me', { cookie: 'not-a-session' }), 401, 'UNAUTHENTICATED');
    });

    it('GET /me tells a user from a token', async () => {
      const { app, kg } = env();
      const u = await userWithSession(app, kg, 'user');
      const me = await req('GET', '/me', { cookie: u.cookie });
      assert.deepEqual(me.body.kind, 'user');
      assert.deepEqual(
        (({ id, email: e, systemRole, active }) => ({ id, email: e, systemRole, active }))(me.body.user),
        { id: u.id, email: u.email, systemRole: 'user', active: true },
      );
      const account = await req('POST', '/resources', { cookie: admin.cookie }, { type: 'account', name: 'mine' });
      await req('PUT', `/resources/${account.body.id}/members/${u.id}`, { cookie: admin.cookie }, { role: 'manager' });
      const t = await req(
        'POST',
        `/resources/${account.body.id}/tokens`,
        { cookie: u.cookie },
        { name: 'who am i', level: 'reader', apiGroups: ['tokens'] },
      );
      const asToken = await req('GET', '/me', { key: t.body.key });
      assert.equal(asToken.body.kind, 'token');
      assert.deepEqual(
        (({ id, name, ownerId, resourceId, apiGroups }) => ({ id, name, ownerId, resourceId, apiGroups }))(
          asToken.body.token,
        ),
        { id: t.body.id, name: 'who am i', ownerId: u.id, resourceId: account.body.id, apiGroups: ['tokens'] },
      );
      assert.deepEqual(asToken.body.token.permissions, ['members:read', 'resources:read', 'tokens:create']);
      assert.equal(asToken.body.user, undefined);
    });
  });

  describe('users', () => {
    it('an administrator creates users; the email must be new; nobody else creates them', async () => {
      const address = email('new');
      const made = await req(
        'POST',
        '/users',
        { cookie: admin.cookie },
        { email: address, name: 'New Person', password: PASSWORD },
      );
      assert.equal(made.status, 201, JSON.stringify(made.body));
      assert.deepEqual(
        (({ email: e, name, systemRole, active }) => ({ email: e, name, systemRole, active }))(made.body),
        { email: address, name: 'New Person', systemRole: 'user', active: true },
      );
      assert.match(made.body.id, /^usr_/);
      assert.equal((await signIn(address, PASSWORD)).statusCode, 200);
      assertError(
        await req('POST', '/users', { cookie: admin.cookie }, { email: address, password: PASSWORD }),
        409,
        'EMAIL_TAKEN',
      );
      assertError(
        await req('POST', '/users', { cookie: admin.cookie }, { email: address.toUpperCase() }),
        409,
        'EMAIL_TAKEN',
      );
      assertError(
        await req('POST', '/users', { cookie: admin.cookie }, { email: email('short'), password: 'short' }),
        400,
        'VALIDATION_FAILED',
      );
      assertError(
        await req('POST', '/users', { cookie: admin.cookie }, { email: 'not an email', password: PASSWORD }),
        400,
        'VALIDATION_FAILED',
      );
      assertError(
        await req('POST', '/users', { cookie: admin.cookie }, { email: email('role'), systemRole: 'root' }),
        400,
        'VALIDATION_FAILED',
      );
      const second = await req(
        'POST',
        '/users',
        { cookie: admin.cookie },
        { email: email('admin'), password: PASSWORD, systemRole: 'admin' },
      );
      assert.equal(second.body.systemRole, 'admin');

      const { app, kg } = env();
      const plain = await userWithSession(app, kg, 'user');
      assertError(
        await req('POST', '/users', { cookie: plain.cookie }, { email: email('x'), password: PASSWORD }),
        403,
        'FORBIDDEN',
      );
      assertError(await req('GET', '/users', { cookie: plain.cookie }), 403, 'FORBIDDEN');
      const list = await req('GET', '/users?limit=500', { cookie: admin.cookie });
      assert.ok(list.body.items.some((x: any) => x.id === made.body.id));
      // A user without a password exists but cannot sign in.
      const noPw = email('nopw');
      assert.equal((await req('POST', '/users', { cookie: admin.cookie }, { email: noPw })).status, 201);
      assertError(await req('POST', '/session', {}, { email: noPw, password: PASSWORD }), 401, 'INVALID_CREDENTIALS');
    });

    it("people see and change their own name and password, not others', and not their own role", async () => {
      const { app, kg } = env();
      const u = await userWithSession(app, kg, 'user');
      const other = await userWithSession(app, kg, 'user');
      assert.equal((await req('GET', `/users/${u.id}`, { cookie: u.cookie })).body.id, u.id);
      assertError(await req('GET', `/users/${other.id}`, { cookie: u.cookie }), 404, 'NOT_FOUND');
      const renamed = await req('PATCH', `/users/${u.id}`, { cookie: u.cookie }, { name: '  Ada  ' });
      assert.equal(renamed.status, 200);
      assert.equal(renamed.body.name, 'Ada');
      assertError(
        await req('PATCH', `/users/${other.id}`, { cookie: u.cookie }, { name: 'Mallory' }),
        404,
        'NOT_FOUND',
      );
      assertError(
        await req('PATCH', `/users/${u.id}`, { cookie: u.cookie }, { systemRole: 'admin' }),
        403,
        'FORBIDDEN',
      );
      assertError(await req('PATCH', `/users/${u.id}`, { cookie: u.cookie }, { active: false }), 403, 'FORBIDDEN');
      assertError(
        await req('PATCH', `/users/${u.id}`, { cookie: u.cookie }, { password: 'short' }),
        400,
        'VALIDATION_FAILED',
      );
      assertError(await req('PATCH', `/users/${u.id}`, { cookie: u.cookie }, {}), 400, 'VALIDATION_FAILED');

      // One's own password changes only with the current one.
      const missing = await req('PATCH', `/users/${u.id}`, { cookie: u.cookie }, { password: NEW_PASSWORD });
      assertError(missing, 403, 'CURRENT_PASSWORD_INVALID');
      assert.equal(missing.body.error.field, 'currentPassword');
      assertError(
        await req(
          'PATCH',
          `/users/${u.id}`,
          { cookie: u.cookie },
          { password: NEW_PASSWORD, currentPassword: 'not the current one' },
        ),
        403,
        'CURRENT_PASSWORD_INVALID',
      );
      assert.equal((await signIn(u.email, PASSWORD)).statusCode, 200, 'the refused changes changed nothing');
      const changed = await req(
        'PATCH',
        `/users/${u.id}`,
        { cookie: u.cookie },
        { password: NEW_PASSWORD, currentPassword: PASSWORD },
      );
      assert.equal(changed.status, 200);
      assertError(
        await req('POST', '/session', {}, { email: u.email, password: PASSWORD }),
        401,
        'INVALID_CREDENTIALS',
      );
      assert.equal((await signIn(u.email, NEW_PASSWORD)).statusCode, 200);
      // A password change ends the sessions that existed (the one that made it included).
      assertError(await req('GET', '/me', { cookie: u.cookie }), 401, 'UNAUTHENTICATED');
      // A token cannot change its owner's password.
      const account = await req('POST', '/resources', { cookie: admin.cookie }, { type: 'account', name: 'pw' });
      await req(
        'PUT',
        `/resources/${account.body.id}/members/${other.id}`,
        { cookie: admin.cookie },
        { role: 'reader' },
      );
      const t = await req('POST', `/resources/${account.body.id}/tokens`, { cookie: other.cookie }, { name: 't' });
      assertError(
        await req('PATCH', `/users/${other.id}`, { key: t.body.key }, { password: NEW_PASSWORD }),
        404,
        'NOT_FOUND',
      );
    });

    it("an administrator resets another user's password without theirs, but their own only with it", async () => {
      const { app, kg } = env();
      const u = await userWithSession(app, kg, 'user');
      const reset = await req('PATCH', `/users/${u.id}`, { cookie: admin.cookie }, { password: NEW_PASSWORD });
      assert.equal(reset.status, 200);
      assert.equal((await signIn(u.email, NEW_PASSWORD)).statusCode, 200);
      const other = await userWithSession(app, kg, 'admin');
      assertError(
        await req('PATCH', `/users/${other.id}`, { cookie: other.cookie }, { password: NEW_PASSWORD }),
        403,
        'CURRENT_PASSWORD_INVALID',
      );
    });

    it('deactivating a user stops their sessions and tokens at once; reactivating brings the tokens back', async () => {
      const { app, kg } = env();
      const u = await userWithSession(app, kg, 'user');
      const account = await req('POST', '/resources', { cookie: admin.cookie }, { type: 'account', name: 'deact' });
      await req('PUT', `/resources/${account.body.id}/members/${u.id}`, { cookie: admin.cookie }, { role: 'manager' });
      const t = await req('POST', `/resources/${account.body.id}/tokens`, { cookie: u.cookie }, { name: 't' });
      assert.equal((await req('GET', '/me', { key: t.body.key })).status, 200);
      const off = await req('PATCH', `/users/${u.id}`, { cookie: admin.cookie }, { active: false });
      assert.equal(off.status, 200);
      assert.equal(off.body.active, false);
      assertError(await req('GET', '/me', { cookie: u.cookie }), 401, 'UNAUTHENTICATED');
      assertError(await req('GET', '/me', { key: t.body.key }), 401, 'KEY_DISABLED');
      assertError(
        await req('POST', '/session', {}, { email: u.email, password: PASSWORD }),
        401,
        'INVALID_CREDENTIALS',
      );
      const on = await req('PATCH', `/users/${u.id}`, { cookie: admin.cookie }, { active: true });
      assert.equal(on.body.active, true);
      assert.equal((await req('GET', '/me', { key: t.body.key })).status, 200);
      assertError(await req('GET', '/me', { cookie: u.cookie }), 401, 'UNAUTHENTICATED');
      assert.equal((await signIn(u.email, PASSWORD)).statusCode, 200);
    });

    it('an administrator can make and unmake administrators', async () => {
      const { app, kg } = env();
      const u = await userWithSession(app, kg, 'user');
      const up = await req('PATCH', `/users/${u.id}`, { cookie: admin.cookie }, { systemRole: 'admin' });
      assert.equal(up.body.systemRole, 'admin');
      assert.equal((await req('GET', '/users', { cookie: u.cookie })).status, 200, 'the new role applies at once');
      assert.equal(
        (await req('PATCH', `/users/${u.id}`, { cookie: admin.cookie }, { systemRole: 'user' })).body.systemRole,
        'user',
      );
      assertError(await req('GET', '/users', { cookie: u.cookie }), 403, 'FORBIDDEN');
    });
  });

  it('passwords are stored as argon2id and never appear in a response', async () => {
    const { kg } = env();
    const row = await kg.stores.users.findById(admin.id);
    assert.ok(row?.password_hash?.startsWith('$argon2id$'), row?.password_hash ?? 'no hash');
    const created = await kg.stores.users.findByEmail(
      (await req('GET', `/users/${admin.id}`, { cookie: admin.cookie })).body.email,
    );
    assert.ok(created?.password_hash?.startsWith('$argon2id$'));
    assert.ok(seen.length > 40, `saw ${seen.length} responses`);
    for (const body of seen) {
      assert.ok(!body.includes(PASSWORD) && !body.includes(NEW_PASSWORD), 'no password in a response');
      assert.ok(!body.includes('$argon2'), 'no password hash in a response');
      assert.ok(!/password/i.test(body) || /"message"/.test(body), 'no password field outside error messages');
    }
  });
});

forEachDialect('the last administrator', (env) => {
  it('cannot be demoted or deactivated while no other active administrator exists', async () => {
    const { app, kg } = env();
    const only = await userWithSession(app, kg, 'admin');
    const a = { cookie: only.cookie };
    const patch = (id: string, body: unknown, who = a) => call(app, 'PATCH', `/api/v1.0/users/${id}`, { ...who, body });
    assertError(await patch(only.id, { systemRole: 'user' }), 409, 'CONFLICT');
    assertError(await patch(only.id, { active: false }), 409, 'CONFLICT');
    // A deactivated administrator does not count.
    const dormant = await userWithSession(app, kg, 'admin');
    assert.equal((await patch(dormant.id, { active: false })).status, 200);
    assertError(await patch(only.id, { systemRole: 'user' }), 409, 'CONFLICT');
    assertError(await patch(only.id, { active: false }), 409, 'CONFLICT');
    // With a second active administrator, the first may step down.
    const second = await userWithSession(app, kg, 'admin');
    assert.equal((await patch(only.id, { systemRole: 'user' })).status, 200);
    assertError(await patch(second.id, { systemRole: 'user' }, { cookie: second.cookie }), 409, 'CONFLICT');
    const me = await call(app, 'GET', '/api/v1.0/me', a);
    assert.equal(me.body.user.systemRole, 'user');
  });
});
