import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { before, describe, it } from 'node:test';
import { csrfTokenFor } from '../../src/http/csrf.js';
import { forEachDialect } from '../support/harness.js';
import { call, userWithSession } from '../support/client.js';

/**
 * The reproductions of issue 5, section 1, over a listening server: each `it` is an attack that
 * succeeded before tokens were held to "no stronger than whoever acts on them" and must fail now.
 */

interface Reply {
  status: number;
  body: any;
}
type Who = { key: string } | { cookie: string };
const inADay = () => new Date(Date.now() + 86_400_000).toISOString();

forEachDialect(
  'token-on-token attacks over real HTTP',
  (env) => {
    let base = '';
    let admin = { id: '', cookie: '' };
    let owner = { id: '', cookie: '' };
    let accountAdmin = { id: '', cookie: '' };
    let reader = { id: '', email: '', cookie: '' };
    let folder = '';

    /** One request over the socket. */
    const http = async (method: string, path: string, who: Who, body?: unknown): Promise<Reply> => {
      const headers: Record<string, string> = {};
      if ('key' in who) headers['x-api-key'] = who.key;
      else {
        // As the console does: same-origin, with the session's CSRF token.
        headers.cookie = `keygate_session=${who.cookie}`;
        headers['x-csrf-token'] = csrfTokenFor(who.cookie);
        headers.origin = base;
      }
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}/api/v1.0${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? null : JSON.parse(text) };
    };
    const refused = (res: Reply, status: number, code: string) => {
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body?.error?.code, code, JSON.stringify(res.body));
      assert.equal(res.body.key, undefined, 'no key handed out');
    };
    const token = async (who: Who, body: Record<string, unknown>, resourceId: string | null = folder) => {
      const res = await http('POST', resourceId === null ? '/tokens' : `/resources/${resourceId}/tokens`, who, {
        name: 'a token',
        ...body,
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { id: res.body.id as string, key: res.body.key as string };
    };
    const works = async (key: string) => (await http('GET', '/me', { key })).status === 200;

    before(async () => {
      const { app, kg } = env();
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      admin = await userWithSession(app, kg, 'admin');
      owner = await userWithSession(app, kg, 'user');
      accountAdmin = await userWithSession(app, kg, 'user');
      reader = await userWithSession(app, kg, 'user');
      const account = await call(app, 'POST', '/api/v1.0/resources', {
        cookie: admin.cookie,
        body: { type: 'account', name: 'Acme' },
      });
      const f = await call(app, 'POST', '/api/v1.0/resources', {
        cookie: admin.cookie,
        body: { type: 'folder', name: 'F', parentId: account.body.id },
      });
      folder = f.body.id;
      for (const [who, role] of [
        [owner, 'manager'],
        [accountAdmin, 'administrator'],
        [reader, 'reader'],
      ] as const) {
        const put = await call(app, 'PUT', `/api/v1.0/resources/${account.body.id}/members/${who.id}`, {
          cookie: admin.cookie,
          body: { role },
        });
        assert.equal(put.status, 200, JSON.stringify(put.body));
      }
    });

    describe('a token cannot act on a token that expires later than itself', () => {
      it('a 30-day token cannot roll a never-expiring token of the same owner (graceSeconds 0)', async () => {
        const short = await token({ cookie: owner.cookie }, { level: 'manager', expiresIn: '30d' });
        const forever = await token({ cookie: owner.cookie }, { level: 'manager', expiresAt: null });
        refused(
          await http('POST', `/tokens/${forever.id}/roll`, { key: short.key }, { graceSeconds: 0 }),
          403,
          'PERMISSION_ESCALATION',
        );
        assert.ok(await works(forever.key), 'the never-expiring key was not rolled away');
      });

      it('nor activate it, nor reveal its key', async () => {
        const short = await token({ cookie: owner.cookie }, { level: 'manager', expiresIn: '30d' });
        const forever = await token({ cookie: owner.cookie }, { level: 'manager', expiresAt: null });
        assert.equal((await http('POST', `/tokens/${forever.id}/deactivate`, { cookie: owner.cookie })).status, 200);
        refused(await http('POST', `/tokens/${forever.id}/activate`, { key: short.key }), 403, 'PERMISSION_ESCALATION');
        assert.equal(await works(forever.key), false, 'still off');
        refused(await http('GET', `/tokens/${forever.id}/key`, { key: short.key }), 403, 'PERMISSION_ESCALATION');
      });

      it('nor roll a token an administrator deactivated', async () => {
        const short = await token({ cookie: owner.cookie }, { level: 'manager', expiresIn: '30d' });
        const forever = await token({ cookie: owner.cookie }, { level: 'manager', expiresAt: null });
        const off = await http('POST', `/tokens/${forever.id}/deactivate`, { cookie: accountAdmin.cookie });
        assert.equal(off.status, 200, JSON.stringify(off.body));
        refused(await http('POST', `/tokens/${forever.id}/roll`, { key: short.key }, {}), 403, 'PERMISSION_ESCALATION');
      });
    });

    describe("an administrator's deactivation holds against the owner", () => {
      it('the owner cannot re-activate a token an account administrator deactivated; the administrator can', async () => {
        const t = await token({ cookie: owner.cookie }, { level: 'reader', expiresAt: inADay() });
        const off = await http('POST', `/tokens/${t.id}/deactivate`, { cookie: accountAdmin.cookie });
        assert.equal(off.status, 200, JSON.stringify(off.body));
        // The owner can see why the switch will not move for them.
        assert.equal(
          (await http('GET', `/tokens/${t.id}`, { cookie: owner.cookie })).body.deactivatedBy,
          accountAdmin.id,
        );
        refused(await http('POST', `/tokens/${t.id}/activate`, { cookie: owner.cookie }), 403, 'FORBIDDEN');
        refused(await http('PATCH', `/tokens/${t.id}`, { cookie: owner.cookie }, { active: true }), 403, 'FORBIDDEN');
        // Switching it off again as the owner does not turn the administrator's hold into the owner's.
        assert.equal((await http('POST', `/tokens/${t.id}/deactivate`, { cookie: owner.cookie })).status, 200);
        refused(await http('POST', `/tokens/${t.id}/activate`, { cookie: owner.cookie }), 403, 'FORBIDDEN');
        // Nor through another of the owner's tokens, even one living longer.
        const other = await token({ cookie: owner.cookie }, { level: 'manager', expiresIn: '30d' });
        refused(await http('POST', `/tokens/${t.id}/activate`, { key: other.key }), 403, 'FORBIDDEN');
        assert.equal(await works(t.key), false);
        const on = await http('POST', `/tokens/${t.id}/activate`, { cookie: accountAdmin.cookie });
        assert.equal(on.status, 200);
        assert.equal(on.body.deactivatedBy, null, 'an active token names no one');
        assert.ok(await works(t.key));
      });

      it('an owner lifts their own deactivation', async () => {
        const t = await token({ cookie: owner.cookie }, { level: 'reader', expiresAt: inADay() });
        const off = await http('POST', `/tokens/${t.id}/deactivate`, { cookie: owner.cookie });
        assert.equal(off.status, 200);
        assert.equal(off.body.deactivatedBy, owner.id);
        assert.equal((await http('POST', `/tokens/${t.id}/activate`, { cookie: owner.cookie })).status, 200);
        assert.ok(await works(t.key));
      });
    });

    describe('an impersonating token acts as the impersonated user, never as its owner', () => {
      it("an administrator's system token impersonating a reader does not list the administrator's tokens", async () => {
        const mine = await token({ cookie: admin.cookie }, { level: 'reader' });
        const readers = await token({ cookie: reader.cookie }, { level: 'reader' });
        const imp = await token({ cookie: admin.cookie }, { level: 'administrator', impersonate: reader.email }, null);
        const listed = await http('GET', '/tokens?limit=500', { key: imp.key });
        assert.equal(listed.status, 200, JSON.stringify(listed.body));
        const ids = listed.body.items.map((t: { id: string }) => t.id);
        assert.ok(!ids.includes(mine.id), "the administrator's token is not among the reader's");
        assert.ok(!ids.includes(imp.id), 'nor is the impersonating token itself');
        assert.ok(ids.includes(readers.id), "the reader's own token is");
        assert.ok(
          listed.body.items.every((t: { ownerId: string }) => t.ownerId === reader.id),
          'only tokens the reader owns',
        );
      });

      it("it cannot roll the administrator's own token inside the reader's reach", async () => {
        const mine = await token({ cookie: admin.cookie }, { level: 'reader' });
        const imp = await token({ cookie: admin.cookie }, { level: 'administrator', impersonate: reader.email }, null);
        refused(await http('POST', `/tokens/${mine.id}/roll`, { key: imp.key }, {}), 404, 'NOT_FOUND');
        refused(await http('GET', `/tokens/${mine.id}/key`, { key: imp.key }), 404, 'NOT_FOUND');
        assert.ok(await works(mine.key));
      });

      it('what it creates belongs to the impersonated user', async () => {
        const imp = await token({ cookie: admin.cookie }, { level: 'administrator', impersonate: reader.email }, null);
        const made = await http(
          'POST',
          `/resources/${folder}/tokens`,
          { key: imp.key },
          { name: 'by imp', level: 'reader' },
        );
        assert.equal(made.status, 201, JSON.stringify(made.body));
        assert.equal(made.body.ownerId, reader.id);
        assert.equal(made.body.impersonate, null);
      });

      it("a plain token of the owner cannot roll the owner's impersonating token", async () => {
        const plain = await token({ cookie: admin.cookie }, { level: 'administrator' });
        const imp = await token({ cookie: admin.cookie }, { level: 'reader', impersonate: reader.email });
        refused(await http('POST', `/tokens/${imp.id}/roll`, { key: plain.key }, {}), 403, 'PERMISSION_ESCALATION');
        refused(await http('GET', `/tokens/${imp.id}/key`, { key: plain.key }), 403, 'PERMISSION_ESCALATION');
        assert.ok(await works(imp.key));
      });
    });
  },
  { KEYGATE_RECOVERABLE_KEYS: 'true', KEYGATE_ENCRYPTION_KEY: randomBytes(32).toString('hex') },
);
