import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, it } from 'node:test';
import type { AuditRow } from '../../src/store/audit.js';
import { PASSWORD, call, email, userWithSession, type Reply } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

const UA = 'audit-test/1.0 (+https://example.com)';
const NEW_PASSWORD = 'another horse battery staple';

forEachDialect(
  'the audit trail: one record per change, with who, through which token, from where, and before → after',
  (env) => {
    let admin: { id: string; email: string; cookie: string };
    /** Every key and password minted here: none may appear in any audit record. */
    const secrets: string[] = [PASSWORD, NEW_PASSWORD];
    let seen = 0;

    const req = (
      method: string,
      url: string,
      who: { cookie?: string; key?: string },
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Reply> =>
      call(env().app, method, `/api/v1.0${url}`, {
        ...who,
        ...(body !== undefined ? { body } : {}),
        headers: { 'user-agent': UA, ...headers },
      });

    const all = (): Promise<AuditRow[]> =>
      env().kg.stores.db.selectFrom('audit_events').selectAll().orderBy('id').execute();

    /** The records written since the last call; asserts there is exactly one and returns it with parsed details. */
    async function onlyNew(action: string): Promise<AuditRow & { d: any }> {
      const rows = await all();
      const fresh = rows.slice(seen);
      seen = rows.length;
      assert.equal(fresh.length, 1, `one record, got ${JSON.stringify(fresh.map((r) => r.action))}`);
      const row = fresh[0]!;
      assert.equal(row.action, action);
      assert.ok(!Number.isNaN(Date.parse(row.at)), 'a time');
      return { ...row, d: JSON.parse(row.details) };
    }

    function from(row: AuditRow, actor: { type: string; id: string | null; via?: string | null }): void {
      assert.equal(row.actor_type, actor.type);
      assert.equal(row.actor_id, actor.id);
      assert.equal(row.via_token_id, actor.via ?? null);
      assert.equal(row.ip, '127.0.0.1');
      assert.equal(row.user_agent, UA);
    }

    before(async () => {
      const { app, kg } = env();
      admin = await userWithSession(app, kg, 'admin');
      seen = (await all()).length;
    });

    let person: { id: string; email: string };
    let account = '';
    let folder = '';

    it('user.create, session.create, session.fail (known and unknown alike), session.delete', async () => {
      const address = email('audited');
      const created = await req('POST', '/users', admin, { email: address, password: PASSWORD, name: 'Ann' });
      assert.equal(created.status, 201);
      person = { id: created.body.id, email: address };
      const c = await onlyNew('user.create');
      from(c, { type: 'user', id: admin.id });
      assert.equal(c.target_type, 'user');
      assert.equal(c.target_id, person.id);
      assert.deepEqual(c.d.after, { email: address, name: 'Ann', systemRole: 'user', active: true });
      assert.equal(c.d.passwordSet, true);

      const signedIn = await req('POST', '/session', {}, { email: address.toUpperCase(), password: PASSWORD });
      assert.equal(signedIn.status, 200);
      const s = await onlyNew('session.create');
      from(s, { type: 'user', id: person.id });
      assert.equal(s.target_id, person.id);

      const wrong = await req(
        'POST',
        '/session',
        {},
        { email: ` ${address.toUpperCase()}`, password: 'wrong password!' },
      );
      const f = await onlyNew('session.fail');
      from(f, { type: 'anonymous', id: null });
      assert.equal(f.target_type, 'user');
      assert.equal(f.target_id, person.id);
      assert.equal(f.d.email, address, 'the normalized address');
      assert.equal(f.d.reason, 'wrong-password');

      const nobody = email('nobody');
      const unknown = await req('POST', '/session', {}, { email: nobody, password: 'wrong password!' });
      const u = await onlyNew('session.fail');
      from(u, { type: 'anonymous', id: null });
      assert.equal(u.target_id, 'unknown', 'no user id for an address nobody has');
      assert.equal(u.d.email, nobody);
      assert.equal(u.d.reason, 'unknown-user');
      // The caller cannot tell the two apart.
      assert.equal(wrong.status, 401);
      assert.equal(unknown.status, 401);
      assert.deepEqual(
        { ...wrong.body.error, requestId: '' },
        { ...unknown.body.error, requestId: '' },
        'the same answer for a known and an unknown address',
      );

      // A password typed into the email field is not kept.
      const typo = 'tr0ub4dor&3 password';
      secrets.push(typo);
      await req('POST', '/session', {}, { email: typo, password: 'x' });
      const t = await onlyNew('session.fail');
      assert.equal(t.d.email, null);

      const cookie = signedIn.headers['set-cookie']!.toString().match(/keygate_session=([^;]+)/)![1]!;
      assert.equal((await req('DELETE', '/session', { cookie })).status, 204);
      const out = await onlyNew('session.delete');
      from(out, { type: 'user', id: person.id });
      assert.equal(out.target_id, person.id);
      // Signing out of a session that is gone changes nothing and records nothing.
      assert.equal((await req('DELETE', '/session', { cookie })).status, 204);
      assert.equal((await all()).length, seen, 'no record for an unknown session');
    });

    it('user.update with before → after (a password only as "changed"), user.disable and user.enable', async () => {
      await req('PATCH', `/users/${person.id}`, admin, { name: 'Ann B', password: NEW_PASSWORD });
      const u = await onlyNew('user.update');
      from(u, { type: 'user', id: admin.id });
      assert.deepEqual(u.d.changes, { name: { from: 'Ann', to: 'Ann B' } });
      assert.equal(u.d.passwordChanged, true);

      await req('PATCH', `/users/${person.id}`, admin, { active: false });
      const off = await onlyNew('user.disable');
      assert.deepEqual(off.d.changes, { active: { from: true, to: false } });
      await req('PATCH', `/users/${person.id}`, admin, { active: true });
      const on = await onlyNew('user.enable');
      assert.deepEqual(on.d.changes, { active: { from: false, to: true } });
    });

    it('resource.create, resource.update (rename), membership.add / update / remove', async () => {
      const a = await req('POST', '/resources', admin, { type: 'account', name: 'Acme' });
      account = a.body.id;
      const c = await onlyNew('resource.create');
      from(c, { type: 'user', id: admin.id });
      assert.deepEqual(c.d.after, { type: 'account', name: 'Acme', parentId: null, externalId: null });
      folder = (await req('POST', '/resources', admin, { type: 'folder', name: 'Plans', parentId: account })).body.id;
      await onlyNew('resource.create');

      assert.equal((await req('PATCH', `/resources/${folder}`, admin, { name: ' Drawings ' })).status, 200);
      const r = await onlyNew('resource.update');
      assert.equal(r.target_id, folder);
      assert.deepEqual(r.d.changes, { name: { from: 'Plans', to: 'Drawings' } });

      assert.equal(
        (await req('PUT', `/resources/${account}/members/${person.id}`, admin, { role: 'reader' })).status,
        200,
      );
      const add = await onlyNew('membership.add');
      from(add, { type: 'user', id: admin.id });
      assert.equal(add.target_id, `${account}:${person.id}`);
      assert.equal(add.resource_id, account);
      assert.equal(add.d.role, 'reader');

      await req('PUT', `/resources/${account}/members/${person.id}`, admin, { role: 'manager' });
      const change = await onlyNew('membership.update');
      assert.deepEqual(change.d.changes, { role: { from: 'reader', to: 'manager' } });

      assert.equal((await req('DELETE', `/resources/${account}/members/${person.id}`, admin)).status, 204);
      const gone = await onlyNew('membership.remove');
      assert.equal(gone.d.role, 'manager');
      await req('PUT', `/resources/${account}/members/${person.id}`, admin, { role: 'manager' });
      await onlyNew('membership.add');
    });

    let tokenId = '';
    it('token.create, update, deactivate, activate, roll, reveal, delete: before → after, never the key', async () => {
      const created = await req('POST', `/resources/${folder}/tokens`, admin, { name: 'ci', level: 'reader' });
      assert.equal(created.status, 201);
      tokenId = created.body.id;
      secrets.push(created.body.key);
      const c = await onlyNew('token.create');
      from(c, { type: 'user', id: admin.id });
      assert.equal(c.target_id, tokenId);
      assert.equal(c.resource_id, folder);
      assert.equal(c.d.after.name, 'ci');
      assert.equal(c.d.after.level, 'reader');
      assert.equal(c.d.after.keyPrefix, created.body.keyPrefix);

      await req('PATCH', `/tokens/${tokenId}`, admin, { name: 'ci-2', logging: 'request' });
      const u = await onlyNew('token.update');
      assert.deepEqual(u.d.changes, { name: { from: 'ci', to: 'ci-2' }, logging: { from: 'none', to: 'request' } });

      await req('POST', `/tokens/${tokenId}/deactivate`, admin);
      const off = await onlyNew('token.deactivate');
      assert.deepEqual(off.d.changes, {
        active: { from: true, to: false },
        deactivatedBy: { from: null, to: admin.id },
      });
      await req('POST', `/tokens/${tokenId}/activate`, admin);
      const on = await onlyNew('token.activate');
      assert.deepEqual(on.d.changes.active, { from: false, to: true });

      const rolled = await req('POST', `/tokens/${tokenId}/roll`, admin, { graceSeconds: 60 });
      assert.equal(rolled.status, 200);
      secrets.push(rolled.body.key);
      const r = await onlyNew('token.roll');
      assert.equal(r.d.graceSeconds, 60);
      assert.deepEqual(r.d.changes.keyPrefix, { from: created.body.keyPrefix, to: rolled.body.keyPrefix });
      assert.match(r.d.oldKeyValidUntil, /^\d{4}-/);

      const revealed = await req('GET', `/tokens/${tokenId}/key`, admin);
      assert.equal(revealed.body.key, rolled.body.key);
      const rv = await onlyNew('token.reveal');
      from(rv, { type: 'user', id: admin.id });
    });

    it('a token acting is the actor and its own via; an impersonating token acts as the user, via itself', async () => {
      const plain = await req('POST', '/tokens', admin, { name: 'ops', level: 'administrator' });
      secrets.push(plain.body.key);
      await onlyNew('token.create');
      await req('POST', `/resources/${folder}/tokens`, { key: plain.body.key }, { name: 'by-token' });
      const byToken = await onlyNew('token.create');
      from(byToken, { type: 'token', id: plain.body.id, via: plain.body.id });

      const acting = await req('POST', '/tokens', admin, {
        name: 'as-ann',
        level: 'administrator',
        impersonate: person.email,
      });
      assert.equal(acting.status, 201, JSON.stringify(acting.body));
      secrets.push(acting.body.key);
      await onlyNew('token.create');
      const made = await req('POST', `/resources/${account}/tokens`, { key: acting.body.key }, { name: 'for-ann' });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      secrets.push(made.body.key);
      const imp = await onlyNew('token.create');
      from(imp, { type: 'user', id: person.id, via: acting.body.id });
      assert.equal(imp.d.after.ownerId, person.id);
    });

    it('token.delete and resource.delete keep what was there', async () => {
      assert.equal((await req('DELETE', `/tokens/${tokenId}`, admin)).status, 204);
      const d = await onlyNew('token.delete');
      assert.equal(d.d.before.name, 'ci-2');
      assert.equal(d.d.before.logging, 'request');

      const spare = (await req('POST', '/resources', admin, { type: 'account', name: 'Spare' })).body.id;
      await onlyNew('resource.create');
      const t = await req('POST', `/resources/${spare}/tokens`, admin, { name: 'goes with it' });
      secrets.push(t.body.key);
      await onlyNew('token.create');
      assert.equal((await req('DELETE', `/resources/${spare}`, admin)).status, 204);
      const rd = await onlyNew('resource.delete');
      assert.deepEqual(rd.d.before, { type: 'account', name: 'Spare', parentId: null, externalId: null });
      assert.equal(rd.d.tokensDeleted, 1);
      assert.deepEqual(rd.d.tokenIds, [t.body.id]);
    });

    it('no key, key hash, encrypted key or password is anywhere in the audit trail', async () => {
      const { kg } = env();
      const text = JSON.stringify(await all());
      assert.ok(secrets.length >= 8);
      for (const s of secrets) {
        assert.ok(!text.includes(s), `a secret in the audit trail: ${s.slice(0, 6)}…`);
        assert.ok(!text.includes(kg.keys.hash(s)), 'a key hash in the audit trail');
      }
      const hashes = await kg.stores.db.selectFrom('users').select('password_hash').execute();
      const sealed = await kg.stores.db.selectFrom('tokens').select('encrypted_key').execute();
      for (const h of [...hashes.map((r) => r.password_hash), ...sealed.map((r) => r.encrypted_key)])
        if (h) assert.ok(!text.includes(h), 'no stored hash or ciphertext');
    });
  },
  { KEYGATE_RECOVERABLE_KEYS: 'true', KEYGATE_ENCRYPTION_KEY: randomBytes(32).toString('hex') },
);
