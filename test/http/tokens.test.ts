import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { assertError, call, userWithSession, type Reply } from '../support/client.js';

type Session = { id: string; email: string; cookie: string };
type Who = { cookie: string } | { key: string };

const DAY = 86_400_000;
const READER = ['members:read', 'resources:read', 'tokens:create'];
const MANAGER = [...READER, 'logs:read', 'resources:write', 'tokens:read'].sort();

/** The part of a key that must never appear anywhere after it was handed out (all but the displayed prefix). */
const secretPart = (key: string) => key.slice(8);

/** A tree and some people with roles on it, shared by the suites below. */
function world(env: () => TestEnv) {
  const w = {
    admin: {} as Session,
    admin2: {} as Session,
    /** Normal users with a role on A. */
    manager: {} as Session,
    reader: {} as Session,
    administrator: {} as Session,
    A: '',
    F: '',
    B: '',
    X: '',
    async setup() {
      const { app, kg } = env();
      w.admin = await userWithSession(app, kg, 'admin');
      w.admin2 = await userWithSession(app, kg, 'admin');
      const make = async (type: string, name: string, parentId?: string) => {
        const res = await call(app, 'POST', '/api/v1.0/resources', {
          cookie: w.admin.cookie,
          body: { type, name, ...(parentId ? { parentId } : {}) },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        return res.body.id as string;
      };
      w.A = await make('account', 'A');
      w.F = await make('folder', 'F', w.A);
      w.B = await make('building', 'B', w.F);
      w.X = await make('account', 'X');
      w.manager = await w.member('manager');
      w.reader = await w.member('reader');
      w.administrator = await w.member('administrator');
    },
    /** A new normal user with a role on A (or none). */
    async member(role?: string, on?: string): Promise<Session> {
      const { app, kg } = env();
      const u = await userWithSession(app, kg, 'user');
      if (role) {
        const put = await call(app, 'PUT', `/api/v1.0/resources/${on ?? w.A}/members/${u.id}`, {
          cookie: w.admin.cookie,
          body: { role },
        });
        assert.equal(put.status, 200, JSON.stringify(put.body));
      }
      return u;
    },
    req(method: string, url: string, who: Who, body?: unknown): Promise<Reply> {
      return call(env().app, method, `/api/v1.0${url}`, { ...who, ...(body !== undefined ? { body } : {}) });
    },
    /** Creates a token and asserts 201. */
    async token(
      who: Who,
      resourceId: string | null,
      body: Record<string, unknown> = {},
    ): Promise<{ id: string; key: string; body: any }> {
      const url = resourceId === null ? '/tokens' : `/resources/${resourceId}/tokens`;
      const res = await w.req('POST', url, who, { name: 't', ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { id: res.body.id, key: res.body.key, body: res.body };
    },
    me(key: string): Promise<Reply> {
      return w.req('GET', '/me', { key });
    },
  };
  return w;
}

forEachDialect('tokens over HTTP', (env) => {
  const w = world(env);
  before(() => w.setup());

  describe('create', () => {
    it('with a level, reader by default, native by default, never expiring by default', async () => {
      const t = await w.token({ cookie: w.manager.cookie }, w.F, { name: '  ci deploy  ', level: 'manager' });
      assert.equal(t.body.name, 'ci deploy');
      assert.equal(t.body.level, 'manager');
      assert.deepEqual([...t.body.permissions].sort(), MANAGER);
      assert.deepEqual(t.body.apiGroups, ['native']);
      assert.equal(t.body.resourceId, w.F);
      assert.equal(t.body.ownerId, w.manager.id);
      assert.equal(t.body.createdBy, w.manager.id);
      assert.equal(t.body.state, 'active');
      assert.equal(t.body.active, true);
      assert.equal(t.body.impersonate, null);
      assert.equal(t.body.recoverable, false);
      const d = await w.token({ cookie: w.manager.cookie }, w.F);
      assert.equal(d.body.level, 'reader');
      assert.deepEqual([...d.body.permissions].sort(), READER);
      assert.equal(d.body.expiresAt, null);
      assert.equal(d.body.logging, 'none');
      assert.equal(d.body.description, '');
    });

    it('with explicit permissions (sorted, deduplicated, no level)', async () => {
      const t = await w.token({ cookie: w.manager.cookie }, w.F, {
        permissions: ['resources:write', 'resources:read', 'resources:write'],
      });
      assert.equal(t.body.level, null);
      assert.deepEqual(t.body.permissions, ['resources:read', 'resources:write']);
      assert.equal((await w.req('PATCH', `/resources/${w.B}`, { key: t.key }, { name: 'B' })).status, 200);
      assertError(await w.req('GET', `/resources/${w.B}/members`, { key: t.key }), 403, 'INSUFFICIENT_PERMISSIONS');
    });

    it('refuses unknown levels, permissions and API groups, and a level with a list', async () => {
      const who = { cookie: w.admin.cookie };
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, { name: 't', level: 'owner' }),
        422,
        'UNKNOWN_LEVEL',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, { name: 't', level: 'constructor' }),
        422,
        'UNKNOWN_LEVEL',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, { name: 't', permissions: ['resources:fly'] }),
        422,
        'UNKNOWN_PERMISSION',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, { name: 't', apiGroups: ['billing'] }),
        422,
        'UNKNOWN_API_GROUP',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, { name: 't', apiGroups: ['constructor'] }),
        422,
        'UNKNOWN_API_GROUP',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, {
          name: 't',
          level: 'reader',
          permissions: ['resources:read'],
        }),
        400,
        'VALIDATION_FAILED',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, { name: 't', apiGroups: [] }),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('with API groups: the token may call only their endpoints', async () => {
      const t = await w.token({ cookie: w.manager.cookie }, w.F, { level: 'manager', apiGroups: ['tokens'] });
      assert.deepEqual(t.body.apiGroups, ['tokens']);
      assertError(await w.req('GET', `/resources/${w.F}`, { key: t.key }), 403, 'API_GROUP_NOT_ALLOWED');
      assert.equal((await w.req('GET', `/resources/${w.F}/tokens`, { key: t.key })).status, 200);
      const r = await w.token({ cookie: w.manager.cookie }, w.F, { apiGroups: ['resources', 'tokens'] });
      assert.deepEqual(r.body.apiGroups, ['resources', 'tokens']);
      assert.equal((await w.req('GET', `/resources/${w.F}`, { key: r.key })).status, 200);
    });

    for (const [preset, days] of [
      ['30d', 30],
      ['90d', 90],
      ['1y', 365],
      ['2y', 730],
    ] as const) {
      it(`with expiresIn ${preset}`, async () => {
        const from = Date.now();
        const t = await w.token({ cookie: w.reader.cookie }, w.F, { expiresIn: preset });
        const to = Date.now();
        const at = Date.parse(t.body.expiresAt);
        assert.ok(at >= from + days * DAY && at <= to + days * DAY, `${t.body.expiresAt} is ${days} days from now`);
      });
    }

    it('with expiresIn never, expiresAt, or expiresAt null', async () => {
      assert.equal((await w.token({ cookie: w.reader.cookie }, w.F, { expiresIn: 'never' })).body.expiresAt, null);
      assert.equal((await w.token({ cookie: w.reader.cookie }, w.F, { expiresAt: null })).body.expiresAt, null);
      const when = new Date(Date.now() + 10 * DAY);
      when.setUTCMilliseconds(0);
      const t = await w.token({ cookie: w.reader.cookie }, w.F, { expiresAt: when.toISOString() });
      assert.equal(t.body.expiresAt, when.toISOString());
      const who = { cookie: w.reader.cookie };
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, {
          name: 't',
          expiresAt: new Date(Date.now() - DAY).toISOString(),
        }),
        422,
        'INVALID_EXPIRY',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, {
          name: 't',
          expiresIn: '30d',
          expiresAt: when.toISOString(),
        }),
        422,
        'INVALID_EXPIRY',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, who, { name: 't', expiresIn: '7d' }),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('with each logging mode and a description', async () => {
      for (const logging of ['none', 'request', 'request+response']) {
        const t = await w.token({ cookie: w.reader.cookie }, w.F, {
          logging,
          description: ` nightly export (${logging}) `,
        });
        assert.equal(t.body.logging, logging);
        assert.equal(t.body.description, `nightly export (${logging})`);
        assert.equal((await w.req('GET', `/tokens/${t.id}`, { cookie: w.reader.cookie })).body.logging, logging);
      }
      assertError(
        await w.req(
          'POST',
          `/resources/${w.F}/tokens`,
          { cookie: w.reader.cookie },
          { name: 't', logging: 'everything' },
        ),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('the key is in the create and roll responses only', async () => {
      const t = await w.token({ cookie: w.manager.cookie }, w.B, { name: 'secretive' });
      assert.ok(t.key.startsWith(t.body.keyPrefix), 'the prefix recognises the key');
      assert.ok(t.body.keyPrefix.length < 12);
      const rolled = await w.req('POST', `/tokens/${t.id}/roll`, { cookie: w.manager.cookie }, { graceSeconds: 60 });
      assert.equal(rolled.status, 200);
      assert.match(rolled.body.key, /^kg_/);
      const views = [
        await w.req('GET', `/tokens/${t.id}`, { cookie: w.manager.cookie }),
        await w.req('GET', '/tokens', { cookie: w.manager.cookie }),
        await w.req('GET', `/resources/${w.B}/tokens`, { cookie: w.manager.cookie }),
        await w.req('GET', `/resources/${w.B}/members`, { cookie: w.manager.cookie }),
        await w.req('PATCH', `/tokens/${t.id}`, { cookie: w.manager.cookie }, { name: 'renamed' }),
        await w.req('POST', `/tokens/${t.id}/deactivate`, { cookie: w.manager.cookie }),
        await w.req('GET', '/tokens?owner=*', { cookie: w.admin.cookie }),
      ];
      for (const v of views) {
        assert.equal(v.status, 200, JSON.stringify(v.body));
        const text = JSON.stringify(v.body);
        assert.ok(text.includes(t.id));
        for (const k of [t.key, rolled.body.key])
          assert.ok(!text.includes(secretPart(k)), 'no key in a later response');
        assert.ok(!/"key"\s*:/.test(text));
      }
    });
  });

  describe('list', () => {
    it('GET /tokens lists my tokens; administrators may name an owner or *', async () => {
      const a = await w.member('reader');
      const b = await w.member('reader');
      const ta = await w.token({ cookie: a.cookie }, w.F);
      const tb = await w.token({ cookie: b.cookie }, w.B);
      const mine = await w.req('GET', '/tokens', { cookie: a.cookie });
      assert.deepEqual(
        mine.body.items.map((t: any) => t.id),
        [ta.id],
      );
      assert.equal(mine.body.nextCursor, null);
      assert.deepEqual(
        (await w.req('GET', `/tokens?owner=${a.id}`, { cookie: a.cookie })).body.items.map((t: any) => t.id),
        [ta.id],
        'naming oneself is fine',
      );
      const ofB = await w.req('GET', `/tokens?owner=${b.id}`, { cookie: w.admin.cookie });
      assert.deepEqual(
        ofB.body.items.map((t: any) => t.id),
        [tb.id],
      );
      const all = await w.req('GET', '/tokens?owner=*&limit=500', { cookie: w.admin.cookie });
      const ids = all.body.items.map((t: any) => t.id);
      assert.ok(ids.includes(ta.id) && ids.includes(tb.id));
      assert.ok(new Set(all.body.items.map((t: any) => t.ownerId)).size >= 3);
      assertError(await w.req('GET', `/tokens?owner=${b.id}`, { cookie: a.cookie }), 403, 'FORBIDDEN');
      assertError(await w.req('GET', '/tokens?owner=*', { cookie: w.administrator.cookie }), 403, 'FORBIDDEN');
    });

    it('filters by state, resource and expiry, and pages with limit and cursor', async () => {
      const { kg } = env();
      const u = await w.member('reader');
      const who = { cookie: u.cookie };
      const active = await w.token(who, w.F, { name: 'active', expiresIn: '90d' });
      const inactive = await w.token(who, w.F, { name: 'inactive', expiresIn: '90d' });
      assert.equal((await w.req('POST', `/tokens/${inactive.id}/deactivate`, who)).status, 200);
      const expired = await w.token(who, w.F, { name: 'expired', expiresIn: '90d' });
      await kg.stores.tokens.update(expired.id, { expires_at: new Date(Date.now() - DAY).toISOString() });
      kg.cache.invalidateToken(expired.id);
      const onB = await w.token(who, w.B, { name: 'on B', expiresIn: 'never' });
      const soon = await w.token(who, w.F, { name: 'soon', expiresAt: new Date(Date.now() + 10 * DAY).toISOString() });

      const ids = async (query: string) =>
        ((await w.req('GET', `/tokens?${query}`, who)).body.items as any[]).map((t) => t.id).sort();
      assert.deepEqual(await ids('state=active'), [active.id, onB.id, soon.id].sort());
      assert.deepEqual(await ids('state=inactive'), [inactive.id]);
      assert.deepEqual(await ids('state=expired'), [expired.id]);
      assert.deepEqual(await ids(`resourceId=${w.B}`), [onB.id]);
      assert.deepEqual(
        await ids(`expiresBefore=${encodeURIComponent(new Date(Date.now() + 15 * DAY).toISOString())}`),
        [expired.id, soon.id].sort(),
      );
      const expiredView = (await w.req('GET', `/tokens/${expired.id}`, who)).body;
      assert.equal(expiredView.state, 'expired');
      assertError(await w.me(expired.key), 401, 'KEY_EXPIRED');

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: Reply = await w.req('GET', `/tokens?limit=2${cursor ? `&cursor=${cursor}` : ''}`, who);
        assert.equal(res.status, 200);
        assert.ok(res.body.items.length <= 2);
        seen.push(...res.body.items.map((t: any) => t.id));
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen.sort(), [active.id, inactive.id, expired.id, onB.id, soon.id].sort());
      assertError(await w.req('GET', '/tokens?state=dead', who), 400, 'VALIDATION_FAILED');
      assertError(await w.req('GET', '/tokens?limit=0', who), 400, 'VALIDATION_FAILED');
    });

    it("a token attached to a resource lists only its subtree's tokens, and its paging never ends early", async () => {
      const u = await w.member('reader');
      const who = { cookie: u.cookie };
      // The owner's tokens outside B's subtree are interleaved with those inside (ids are random):
      // a page filtered after reading would come back short and end the paging.
      for (let i = 0; i < 6; i++) await w.token(who, w.F, { name: `outside ${i}` });
      const scoped = await w.token(who, w.B, { name: 'scoped', level: 'reader' });
      const inside = [
        scoped.id,
        (await w.token(who, w.B, { name: 'in 1' })).id,
        (await w.token(who, w.B, { name: 'in 2' })).id,
      ];
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const res: Reply = await w.req('GET', `/tokens?limit=1${cursor ? `&cursor=${cursor}` : ''}`, {
          key: scoped.key,
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        seen.push(...res.body.items.map((t: any) => t.id));
        cursor = res.body.nextCursor;
        if (cursor === null) break;
      }
      assert.deepEqual(seen.sort(), inside.sort());
    });

    it("a resource's tokens: all of them with tokens:read, a reader's own only, nothing for a stranger", async () => {
      const r = await w.member('reader');
      const m = await w.member('manager');
      const tr = await w.token({ cookie: r.cookie }, w.B, { name: 'r on B' });
      const tm = await w.token({ cookie: m.cookie }, w.B, { name: 'm on B' });
      const list = async (who: Who) =>
        ((await w.req('GET', `/resources/${w.B}/tokens?limit=500`, who)).body.items as any[]).map((t) => t.id);
      const byManager = await list({ cookie: m.cookie });
      assert.ok(byManager.includes(tr.id) && byManager.includes(tm.id));
      assert.deepEqual(await list({ cookie: r.cookie }), [tr.id]);
      const stranger = await w.member();
      assertError(await w.req('GET', `/resources/${w.B}/tokens`, { cookie: stranger.cookie }), 404, 'NOT_FOUND');
      assertError(await w.req('GET', `/tokens/${tr.id}`, { cookie: stranger.cookie }), 404, 'NOT_FOUND');
      const active = await list({ cookie: m.cookie });
      assert.ok(active.length >= 2);
      assert.deepEqual(
        (
          (await w.req('GET', `/resources/${w.B}/tokens?state=inactive`, { cookie: m.cookie })).body.items as any[]
        ).filter((t) => t.id === tr.id),
        [],
      );
    });
  });

  describe('edit', () => {
    it("PATCH changes name, description, permissions within the editor's rights, groups, logging and expiry", async () => {
      const who = { cookie: w.reader.cookie };
      const t = await w.token(who, w.F, { name: 'before', expiresIn: '30d' });
      const p = await w.req('PATCH', `/tokens/${t.id}`, who, {
        name: 'after',
        description: 'what it is for',
        logging: 'request',
        apiGroups: ['resources'],
      });
      assert.equal(p.status, 200, JSON.stringify(p.body));
      assert.equal(p.body.name, 'after');
      assert.equal(p.body.description, 'what it is for');
      assert.equal(p.body.logging, 'request');
      assert.deepEqual(p.body.apiGroups, ['resources']);
      assertError(await w.req('PATCH', `/tokens/${t.id}`, who, { level: 'manager' }), 403, 'PERMISSION_ESCALATION');
      assertError(
        await w.req('PATCH', `/tokens/${t.id}`, who, { permissions: ['resources:read', 'resources:write'] }),
        403,
        'PERMISSION_ESCALATION',
      );
      const narrowed = await w.req('PATCH', `/tokens/${t.id}`, who, { permissions: ['resources:read'] });
      assert.equal(narrowed.status, 200);
      assert.equal(narrowed.body.level, null);
      assert.deepEqual(narrowed.body.permissions, ['resources:read']);
      const forever = await w.req('PATCH', `/tokens/${t.id}`, who, { expiresIn: 'never' });
      assert.equal(forever.body.expiresAt, null);
      const when = new Date(Date.now() + 5 * DAY);
      when.setUTCMilliseconds(0);
      assert.equal(
        (await w.req('PATCH', `/tokens/${t.id}`, who, { expiresAt: when.toISOString() })).body.expiresAt,
        when.toISOString(),
      );
      assertError(await w.req('PATCH', `/tokens/${t.id}`, who, {}), 400, 'VALIDATION_FAILED');
      assertError(await w.req('PATCH', `/tokens/${t.id}`, who, { key: 'x'.repeat(30) }), 400, 'VALIDATION_FAILED');
      // The token keeps working with its narrowed rights.
      assert.equal((await w.req('GET', `/resources/${w.F}`, { key: t.key })).status, 200);
      assertError(await w.req('GET', `/resources/${w.F}/members`, { key: t.key }), 403, 'INSUFFICIENT_PERMISSIONS');
    });

    it('deactivate stops the key at once, activate brings it back', async () => {
      const who = { cookie: w.reader.cookie };
      const t = await w.token(who, w.F);
      assert.equal((await w.me(t.key)).status, 200);
      const off = await w.req('POST', `/tokens/${t.id}/deactivate`, who);
      assert.equal(off.status, 200);
      assert.equal(off.body.active, false);
      assert.equal(off.body.state, 'inactive');
      assertError(await w.me(t.key), 401, 'KEY_DISABLED');
      const on = await w.req('POST', `/tokens/${t.id}/activate`, who);
      assert.equal(on.body.state, 'active');
      assert.equal((await w.me(t.key)).status, 200);
      assert.equal((await w.req('PATCH', `/tokens/${t.id}`, who, { active: false })).body.active, false);
      assertError(await w.me(t.key), 401, 'KEY_DISABLED');
    });

    it('roll with graceSeconds 0 (or none) kills the old key at once; with grace, both keys work', async () => {
      const who = { cookie: w.reader.cookie };
      const t = await w.token(who, w.F);
      const r0 = await w.req('POST', `/tokens/${t.id}/roll`, who, { graceSeconds: 0 });
      assert.equal(r0.status, 200);
      assert.notEqual(r0.body.key, t.key);
      assert.equal(r0.body.id, t.id);
      assertError(await w.me(t.key), 401, 'KEY_INVALID');
      assert.equal((await w.me(r0.body.key)).status, 200);
      const r1 = await w.req('POST', `/tokens/${t.id}/roll`, who, { graceSeconds: 3600 });
      assert.equal((await w.me(r0.body.key)).status, 200, 'previous key works during the grace period');
      assert.equal((await w.me(r1.body.key)).status, 200);
      const r2 = await w.req('POST', `/tokens/${t.id}/roll`, who);
      assert.equal(r2.status, 200, 'no body: grace 0');
      for (const old of [r0.body.key, r1.body.key]) assertError(await w.me(old), 401, 'KEY_INVALID');
      assert.equal((await w.me(r2.body.key)).status, 200);
      assertError(await w.req('POST', `/tokens/${t.id}/roll`, who, { graceSeconds: -1 }), 400, 'VALIDATION_FAILED');
    });

    it('delete: the key stops, the token is gone', async () => {
      const who = { cookie: w.reader.cookie };
      const t = await w.token(who, w.F);
      assert.equal((await w.req('DELETE', `/tokens/${t.id}`, who)).status, 204);
      assertError(await w.me(t.key), 401, 'KEY_INVALID');
      assertError(await w.req('GET', `/tokens/${t.id}`, who), 404, 'NOT_FOUND');
      assertError(await w.req('DELETE', `/tokens/${t.id}`, who), 404, 'NOT_FOUND');
      assertError(await w.req('DELETE', `/tokens/${t.id}`, { cookie: w.admin.cookie }), 404, 'NOT_FOUND');
    });

    it("someone else's token: a manager may look but not touch (tokens:manage is administrator-only); an administrator may manage it", async () => {
      const owner = await w.member('reader');
      const t = await w.token({ cookie: owner.cookie }, w.B, { name: 'theirs' });
      const m = { cookie: w.manager.cookie };
      assert.equal((await w.req('GET', `/tokens/${t.id}`, m)).status, 200);
      assertError(await w.req('PATCH', `/tokens/${t.id}`, m, { name: 'mine now' }), 403, 'INSUFFICIENT_PERMISSIONS');
      assertError(await w.req('POST', `/tokens/${t.id}/deactivate`, m), 403, 'INSUFFICIENT_PERMISSIONS');
      assertError(await w.req('POST', `/tokens/${t.id}/roll`, m), 403, 'INSUFFICIENT_PERMISSIONS');
      assertError(await w.req('DELETE', `/tokens/${t.id}`, m), 403, 'INSUFFICIENT_PERMISSIONS');
      const r = { cookie: w.reader.cookie };
      assertError(await w.req('GET', `/tokens/${t.id}`, r), 404, 'NOT_FOUND');
      const a = { cookie: w.administrator.cookie };
      const off = await w.req('POST', `/tokens/${t.id}/deactivate`, a);
      assert.equal(off.status, 200);
      assertError(await w.me(t.key), 401, 'KEY_DISABLED');
      assert.equal((await w.req('POST', `/tokens/${t.id}/activate`, a)).status, 200);
      assert.equal((await w.req('PATCH', `/tokens/${t.id}`, a, { name: 'reviewed' })).body.name, 'reviewed');
      assert.equal(
        (await w.req('GET', `/tokens/${t.id}`, { cookie: owner.cookie })).body.ownerId,
        owner.id,
        'the owner stays the owner',
      );
      assert.equal((await w.req('DELETE', `/tokens/${t.id}`, a)).status, 204);
      assertError(await w.me(t.key), 401, 'KEY_INVALID');
    });
  });

  describe('impersonation, custom keys, system tokens', () => {
    it("only system administrators impersonate; the token acts with the impersonated user's rights", async () => {
      const admin = { cookie: w.admin.cookie };
      const t = await w.token(admin, w.F, { level: 'administrator', impersonate: w.reader.email });
      assert.deepEqual(t.body.impersonate, { id: w.reader.id, email: w.reader.email });
      assert.equal(t.body.ownerId, w.admin.id);
      const me = await w.me(t.key);
      assert.equal(me.body.token.impersonateUserId, w.reader.id);
      assert.deepEqual(me.body.token.permissions, READER);
      assert.equal((await w.req('GET', `/resources/${w.F}`, { key: t.key })).status, 200);
      assertError(
        await w.req('PATCH', `/resources/${w.F}`, { key: t.key }, { name: 'F' }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
      assertError(await w.req('GET', `/resources/${w.X}`, { key: t.key }), 404, 'NOT_FOUND');
      const byId = await w.token(admin, w.F, { impersonate: w.manager.id });
      assert.equal(byId.body.impersonate.id, w.manager.id);
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, admin, { name: 't', impersonate: 'nobody@example.com' }),
        422,
        'UNKNOWN_USER',
      );
      assertError(
        await w.req(
          'POST',
          `/resources/${w.F}/tokens`,
          { cookie: w.administrator.cookie },
          { name: 't', impersonate: w.reader.email },
        ),
        403,
        'FORBIDDEN',
      );
      const own = await w.token({ cookie: w.administrator.cookie }, w.F);
      assertError(
        await w.req('PATCH', `/tokens/${own.id}`, { cookie: w.administrator.cookie }, { impersonate: w.reader.email }),
        403,
        'FORBIDDEN',
      );
      // Dropping the impersonation: the token acts as its owner again.
      const plain = await w.req('PATCH', `/tokens/${t.id}`, admin, { impersonate: null });
      assert.equal(plain.body.impersonate, null);
      assert.equal((await w.req('PATCH', `/resources/${w.F}`, { key: t.key }, { name: 'F' })).status, 200);
    });

    it('a token impersonating a deactivated user stops', async () => {
      const victim = await w.member('manager');
      const t = await w.token({ cookie: w.admin.cookie }, w.F, { impersonate: victim.id });
      assert.equal((await w.me(t.key)).status, 200);
      assert.equal(
        (await w.req('PATCH', `/users/${victim.id}`, { cookie: w.admin.cookie }, { active: false })).status,
        200,
      );
      assertError(await w.me(t.key), 401, 'KEY_DISABLED');
    });

    it('administrators may choose a key value: long enough, not the generated prefix, not taken', async () => {
      const admin = { cookie: w.admin.cookie };
      const chosen = `legacy-${randomBytes(12).toString('hex')}`;
      const t = await w.token(admin, w.F, { key: chosen });
      assert.equal(t.key, chosen);
      assert.equal((await w.me(chosen)).body.token.id, t.id);
      assertError(await w.req('POST', `/resources/${w.F}/tokens`, admin, { name: 't', key: chosen }), 409, 'KEY_TAKEN');
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, admin, {
          name: 't',
          key: `short-${randomBytes(4).toString('hex')}`,
        }),
        422,
        'CUSTOM_KEY_INVALID',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, admin, {
          name: 't',
          key: `kg_${randomBytes(16).toString('hex')}`,
        }),
        422,
        'CUSTOM_KEY_INVALID',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, admin, {
          name: 't',
          key: `has space ${randomBytes(12).toString('hex')}`,
        }),
        422,
        'CUSTOM_KEY_INVALID',
      );
      const longEnough = `x${randomBytes(12).toString('hex').slice(0, 23)}`;
      assert.equal(longEnough.length, 24);
      assert.equal((await w.token(admin, w.F, { key: longEnough })).key, longEnough);
      assertError(
        await w.req(
          'POST',
          `/resources/${w.F}/tokens`,
          { cookie: w.administrator.cookie },
          { name: 't', key: `mine-${randomBytes(12).toString('hex')}` },
        ),
        422,
        'CUSTOM_KEY_NOT_ALLOWED',
      );
      // Rolling a chosen key gives a generated one.
      const rolled = await w.req('POST', `/tokens/${t.id}/roll`, admin);
      assert.match(rolled.body.key, /^kg_/);
      assertError(await w.me(chosen), 401, 'KEY_INVALID');
    });

    it('system tokens (no resource) via POST /tokens: administrators only', async () => {
      const t = await w.token({ cookie: w.admin.cookie }, null, { name: 'ops', level: 'administrator' });
      assert.equal(t.body.resourceId, null);
      for (const id of [w.A, w.B, w.X])
        assert.equal((await w.req('GET', `/resources/${id}`, { key: t.key })).status, 200);
      const me = await w.me(t.key);
      assert.equal(me.body.token.resourceId, null);
      assertError(
        await w.req('POST', '/tokens', { cookie: w.administrator.cookie }, { name: 'ops' }),
        403,
        'FORBIDDEN',
      );
      assertError(await w.req('POST', '/tokens', { cookie: w.reader.cookie }, { name: 'ops' }), 403, 'FORBIDDEN');
      // A token of an administrator attached to a resource cannot mint system tokens either.
      const scoped = await w.token({ cookie: w.admin.cookie }, w.F, { level: 'administrator' });
      assertError(await w.req('POST', '/tokens', { key: scoped.key }, { name: 'ops' }), 403, 'FORBIDDEN');
    });

    it("an administrator's system token acts as an administrator only when it holds every permission", async () => {
      const full = await w.token({ cookie: w.admin.cookie }, null, { name: 'ops', level: 'administrator' });
      const weak = await w.token({ cookie: w.admin.cookie }, null, { name: 'read-only', level: 'reader' });
      const newUser = (tag: string) => ({
        email: `${tag}-${Date.now()}@example.com`,
        password: 'a long enough password',
        systemRole: 'admin',
      });
      assert.equal((await w.req('POST', '/users', { key: full.key }, newUser('full'))).status, 201);
      assertError(await w.req('POST', '/users', { key: weak.key }, newUser('weak')), 403, 'FORBIDDEN');
      assertError(await w.req('GET', '/tokens?owner=*', { key: weak.key }), 403, 'FORBIDDEN');
      assertError(
        await w.req('POST', '/resources', { key: weak.key }, { type: 'account', name: 'nope' }),
        403,
        'FORBIDDEN',
      );
      assert.equal(
        (await w.req('GET', `/resources/${w.A}`, { key: weak.key })).status,
        200,
        'it still reads everywhere',
      );
    });

    it('without recoverable keys, GET /tokens/:id/key → 404 KEY_NOT_RECOVERABLE', async () => {
      const t = await w.token({ cookie: w.reader.cookie }, w.F);
      assert.equal(t.body.recoverable, false);
      assertError(await w.req('GET', `/tokens/${t.id}/key`, { cookie: w.reader.cookie }), 404, 'KEY_NOT_RECOVERABLE');
    });
  });

  it('only the owner may roll a token: the new key acts as them', async () => {
    const t = await w.token({ cookie: w.reader.cookie }, w.F);
    assertError(await w.req('POST', `/tokens/${t.id}/roll`, { cookie: w.administrator.cookie }, {}), 403, 'FORBIDDEN');
    assertError(await w.req('POST', `/tokens/${t.id}/roll`, { cookie: w.admin.cookie }, {}), 403, 'FORBIDDEN');
    assert.equal((await w.me(t.key)).status, 200, 'the refused roll left the key working');
    assert.equal(
      (await w.req('POST', `/tokens/${t.id}/deactivate`, { cookie: w.administrator.cookie })).status,
      200,
      'others may still deactivate it',
    );
  });

  it('a token cannot give a token it creates or edits a longer life than its own', async () => {
    const parent = await w.token({ cookie: w.manager.cookie }, w.F, { level: 'manager', expiresIn: '30d' });
    assertError(
      await w.req('POST', `/resources/${w.F}/tokens`, { key: parent.key }, { name: 'child', expiresIn: '90d' }),
      422,
      'EXPIRY_TOO_LONG',
    );
    assertError(
      await w.req('POST', `/resources/${w.F}/tokens`, { key: parent.key }, { name: 'child', expiresIn: 'never' }),
      422,
      'EXPIRY_TOO_LONG',
    );
    const child = await w.token({ key: parent.key }, w.F, {
      name: 'child',
      expiresAt: new Date(Date.now() + 10 * DAY).toISOString(),
    });
    assertError(
      await w.req('PATCH', `/tokens/${child.id}`, { key: parent.key }, { expiresIn: '1y' }),
      422,
      'EXPIRY_TOO_LONG',
    );
  });

  it('audit rows exist for create, update, roll, deactivate and delete, and never hold a key or its hash', async () => {
    const { kg } = env();
    const who = { cookie: w.manager.cookie };
    const t = await w.token(who, w.F, { name: 'audited', level: 'manager' });
    await w.req('PATCH', `/tokens/${t.id}`, who, { name: 'audited 2' });
    await w.req('POST', `/tokens/${t.id}/deactivate`, who);
    const rolled = await w.req('POST', `/tokens/${t.id}/roll`, who, { graceSeconds: 10 });
    assert.equal((await w.req('DELETE', `/tokens/${t.id}`, who)).status, 204);
    const rows = await kg.stores.audit.forTarget('token', t.id);
    assert.deepEqual(
      rows.map((r) => r.action),
      ['token.create', 'token.update', 'token.deactivate', 'token.roll', 'token.delete'],
    );
    for (const r of rows) {
      assert.equal(r.actor_type, 'user');
      assert.equal(r.actor_id, w.manager.id);
      assert.equal(r.resource_id, w.F);
    }
    const text = JSON.stringify(rows);
    for (const key of [t.key, rolled.body.key]) {
      assert.ok(!text.includes(key), 'no key in the audit trail');
      assert.ok(!text.includes(secretPart(key)), 'no part of a key in the audit trail');
      assert.ok(!text.includes(kg.keys.hash(key)), 'no key hash in the audit trail');
    }
  });

  describe('tokens managing tokens by script (item 8)', () => {
    it('a token with tokens:create adds a token on its resource, owned by its owner, never beyond its own rights', async () => {
      const boss = await w.member('administrator');
      const script = await w.token({ cookie: boss.cookie }, w.F, { level: 'manager', apiGroups: ['tokens'] });
      const child = await w.req(
        'POST',
        `/resources/${w.B}/tokens`,
        { key: script.key },
        { name: 'child', level: 'reader' },
      );
      assert.equal(child.status, 201, JSON.stringify(child.body));
      assert.equal(child.body.ownerId, boss.id);
      assert.equal(child.body.createdBy, script.id);
      assert.equal((await w.me(child.body.key)).status, 200);
      const same = await w.req(
        'POST',
        `/resources/${w.F}/tokens`,
        { key: script.key },
        { name: 'peer', level: 'manager', apiGroups: ['tokens'] },
      );
      assert.equal(same.status, 201, JSON.stringify(same.body));
      assertError(
        await w.req(
          'POST',
          `/resources/${w.F}/tokens`,
          { key: script.key },
          { name: 'up', level: 'administrator', apiGroups: ['tokens'] },
        ),
        403,
        'PERMISSION_ESCALATION',
      );
      assertError(
        await w.req(
          'POST',
          `/resources/${w.F}/tokens`,
          { key: script.key },
          { name: 'up', permissions: ['tokens:manage'], apiGroups: ['tokens'] },
        ),
        403,
        'PERMISSION_ESCALATION',
      );
      // Its owner could, but the token is the one asking.
      assert.equal(
        (
          await w.req(
            'POST',
            `/resources/${w.F}/tokens`,
            { cookie: boss.cookie },
            { name: 'up', level: 'administrator' },
          )
        ).status,
        201,
      );
      // Nor beyond its own subtree.
      assertError(
        await w.req('POST', `/resources/${w.A}/tokens`, { key: script.key }, { name: 'out', apiGroups: ['tokens'] }),
        404,
        'NOT_FOUND',
      );
      assertError(
        await w.req('POST', `/resources/${w.X}/tokens`, { key: script.key }, { name: 'out', apiGroups: ['tokens'] }),
        404,
        'NOT_FOUND',
      );
      // A token cannot mint a token for another API group than its own.
      assertError(
        await w.req(
          'POST',
          `/resources/${w.F}/tokens`,
          { key: script.key },
          { name: 'wider', apiGroups: ['resources'] },
        ),
        403,
        'PERMISSION_ESCALATION',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, { key: script.key }, { name: 'wider', apiGroups: ['native'] }),
        403,
        'PERMISSION_ESCALATION',
      );
      const dflt = await w.req('POST', `/resources/${w.F}/tokens`, { key: script.key }, { name: 'default groups' });
      assert.equal(dflt.status, 201, JSON.stringify(dflt.body));
      assert.deepEqual(dflt.body.apiGroups, ['tokens'], "a token's child inherits its groups by default");
      // Nor widen its own.
      assertError(
        await w.req('PATCH', `/tokens/${script.id}`, { key: script.key }, { apiGroups: ['native'] }),
        403,
        'PERMISSION_ESCALATION',
      );
    });

    it('a token manages only tokens inside its subtree and lists only those', async () => {
      const boss = await w.member('administrator');
      const script = await w.token({ cookie: boss.cookie }, w.F, { level: 'administrator' });
      const onA = await w.token({ cookie: boss.cookie }, w.A, { name: 'on A' });
      const onB = await w.token({ cookie: boss.cookie }, w.B, { name: 'on B' });
      const other = await w.member('reader');
      const theirsOnB = await w.token({ cookie: other.cookie }, w.B, { name: 'theirs on B' });
      const k = { key: script.key };
      assertError(await w.req('GET', `/tokens/${onA.id}`, k), 404, 'NOT_FOUND');
      assertError(await w.req('POST', `/tokens/${onA.id}/deactivate`, k), 404, 'NOT_FOUND');
      assertError(await w.req('DELETE', `/tokens/${onA.id}`, k), 404, 'NOT_FOUND');
      assertError(await w.req('GET', `/resources/${w.A}/tokens`, k), 404, 'NOT_FOUND');
      const listed = ((await w.req('GET', '/tokens?limit=500', k)).body.items as any[]).map((t) => t.id);
      assert.ok(listed.includes(onB.id) && listed.includes(script.id));
      assert.ok(!listed.includes(onA.id), 'nothing outside its subtree');
      assert.equal((await w.req('POST', `/tokens/${onB.id}/deactivate`, k)).status, 200);
      assert.equal(
        (await w.req('POST', `/tokens/${theirsOnB.id}/deactivate`, k)).status,
        200,
        'tokens:manage inside its subtree',
      );
      assertError(await w.me(theirsOnB.key), 401, 'KEY_DISABLED');
      assert.equal((await w.req('DELETE', `/tokens/${theirsOnB.id}`, k)).status, 204);
      assertError(await w.req('GET', '/tokens?owner=*', k), 403, 'FORBIDDEN');
    });

    it('a weaker token cannot roll, reactivate or edit a stronger token of the same owner', async () => {
      const boss = await w.member('administrator');
      const weak = await w.token({ cookie: boss.cookie }, w.F, { level: 'reader', apiGroups: ['tokens'] });
      const strong = await w.token({ cookie: boss.cookie }, w.F, { level: 'administrator' });
      const k = { key: weak.key };
      assert.equal((await w.req('GET', `/tokens/${strong.id}`, k)).status, 200, "it may see its owner's tokens");
      assertError(await w.req('POST', `/tokens/${strong.id}/roll`, k), 403, 'PERMISSION_ESCALATION');
      assert.equal((await w.me(strong.key)).status, 200, 'the strong key was not rolled away');
      assert.equal((await w.req('POST', `/tokens/${strong.id}/deactivate`, { cookie: boss.cookie })).status, 200);
      assertError(await w.req('POST', `/tokens/${strong.id}/activate`, k), 403, 'PERMISSION_ESCALATION');
      assertError(
        await w.req('PATCH', `/tokens/${strong.id}`, k, { expiresIn: 'never' }),
        403,
        'PERMISSION_ESCALATION',
      );
      assertError(await w.me(strong.key), 401, 'KEY_DISABLED');
      // Its own, and equal or weaker ones, it may manage.
      const peer = await w.token({ cookie: boss.cookie }, w.B, { level: 'reader', apiGroups: ['tokens'] });
      const nativePeer = await w.token({ cookie: boss.cookie }, w.B, { level: 'reader' });
      assertError(await w.req('POST', `/tokens/${nativePeer.id}/roll`, k), 403, 'PERMISSION_ESCALATION');
      assert.equal((await w.req('PATCH', `/tokens/${peer.id}`, k, { name: 'peer' })).status, 200);
      assert.equal((await w.req('POST', `/tokens/${weak.id}/roll`, k)).status, 200);
    });

    it('a token of a system administrator attached to a resource does not act as a system administrator', async () => {
      const scoped = await w.token({ cookie: w.admin.cookie }, w.F, { level: 'reader' });
      const k = { key: scoped.key };
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, k, { name: 'as someone', impersonate: w.manager.email }),
        403,
        'FORBIDDEN',
      );
      assertError(
        await w.req('POST', `/resources/${w.F}/tokens`, k, {
          name: 'chosen',
          key: `chosen-${randomBytes(12).toString('hex')}`,
        }),
        422,
        'CUSTOM_KEY_NOT_ALLOWED',
      );
      assertError(
        await w.req('POST', '/users', k, {
          email: `x-${randomBytes(4).toString('hex')}@example.com`,
          password: 'a long enough password',
          systemRole: 'admin',
        }),
        403,
        'FORBIDDEN',
      );
      assertError(await w.req('PATCH', `/users/${w.reader.id}`, k, { systemRole: 'admin' }), 404, 'NOT_FOUND');
      assertError(await w.req('GET', '/users', k), 403, 'FORBIDDEN');
      assertError(await w.req('POST', '/resources', k, { type: 'account', name: 'root' }), 403, 'FORBIDDEN');
      assert.equal((await w.req('GET', `/resources/${w.B}`, k)).status, 200, 'its reader rights inside F stand');
      // A system token (no resource) of an administrator does.
      const system = await w.token({ cookie: w.admin.cookie }, null, { level: 'administrator' });
      assert.equal((await w.req('GET', '/users', { key: system.key })).status, 200);
    });
  });
});

forEachDialect(
  'recoverable keys over HTTP',
  (env) => {
    const w = world(env);
    before(() => w.setup());

    it('the owner sees the key again (audited); nobody else does; a roll reveals the new key', async () => {
      const { kg } = env();
      const t = await w.token({ cookie: w.admin.cookie }, w.F, { name: 'recoverable' });
      assert.equal(t.body.recoverable, true);
      const shown = await w.req('GET', `/tokens/${t.id}/key`, { cookie: w.admin.cookie });
      assert.equal(shown.status, 200);
      assert.equal(shown.body.key, t.key);
      assert.equal(shown.headers['cache-control'], 'no-store');
      assertError(await w.req('GET', `/tokens/${t.id}/key`, { cookie: w.admin2.cookie }), 403, 'FORBIDDEN');
      assertError(await w.req('GET', `/tokens/${t.id}/key`, { cookie: w.reader.cookie }), 404, 'NOT_FOUND');
      const reveals = (await kg.stores.audit.forTarget('token', t.id)).filter((r) => r.action === 'token.reveal');
      assert.equal(reveals.length, 1, 'one reveal, one audit row');
      assert.equal(reveals[0]!.actor_id, w.admin.id);
      const rolled = await w.req('POST', `/tokens/${t.id}/roll`, { cookie: w.admin.cookie });
      assert.equal((await w.req('GET', `/tokens/${t.id}/key`, { cookie: w.admin.cookie })).body.key, rolled.body.key);
      const all = JSON.stringify(await kg.stores.audit.forTarget('token', t.id));
      for (const key of [t.key, rolled.body.key]) {
        assert.ok(!all.includes(secretPart(key)));
        assert.ok(!all.includes(kg.keys.hash(key)));
      }
      // The stored row holds ciphertext, not the key.
      const row = await kg.stores.tokens.findById(t.id);
      assert.ok(row?.encrypted_key && !row.encrypted_key.includes(secretPart(rolled.body.key)));
    });

    it("a normal user reveals their own token's key; a manager cannot see another's", async () => {
      const t = await w.token({ cookie: w.reader.cookie }, w.F);
      assert.equal((await w.req('GET', `/tokens/${t.id}/key`, { cookie: w.reader.cookie })).body.key, t.key);
      assertError(await w.req('GET', `/tokens/${t.id}/key`, { cookie: w.manager.cookie }), 403, 'FORBIDDEN');
    });

    it('a weaker token cannot reveal a stronger token of the same owner', async () => {
      const boss = await w.member('administrator');
      const weak = await w.token({ cookie: boss.cookie }, w.F, { level: 'reader', apiGroups: ['tokens'] });
      const strong = await w.token({ cookie: boss.cookie }, w.F, { level: 'administrator' });
      assertError(await w.req('GET', `/tokens/${strong.id}/key`, { key: weak.key }), 403, 'PERMISSION_ESCALATION');
      assert.equal(
        (await w.req('GET', `/tokens/${weak.id}/key`, { key: weak.key })).body.key,
        weak.key,
        'its own key it may see',
      );
    });
  },
  { KEYGATE_RECOVERABLE_KEYS: 'true', KEYGATE_ENCRYPTION_KEY: randomBytes(32).toString('hex') },
);
