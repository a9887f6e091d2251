import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { assertError, call, userWithSession, type Reply } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

const DAY = 86_400_000;

forEachDialect(
  'my tokens that expire soon, on /me and /me/expiring',
  (env) => {
    let me: { id: string; cookie: string };
    const ids: Record<string, string> = {};
    let key = '';

    const get = (url: string, who: { cookie?: string; key?: string }): Promise<Reply> =>
      call(env().app, 'GET', `/api/v1.0${url}`, who);
    const names = (items: { name: string }[]) => items.map((t) => t.name);

    before(async () => {
      const { app, kg } = env();
      me = await userWithSession(app, kg, 'admin');
      const make = async (who: { cookie: string }, name: string, inDays: number | null, extra = {}) => {
        const body = { name, expiresAt: inDays === null ? null : new Date(Date.now() + inDays * DAY).toISOString() };
        const res = await call(app, 'POST', '/api/v1.0/tokens', { ...who, body: { ...body, ...extra } });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        ids[name] = res.body.id;
        return res.body;
      };
      await make(me, 'in-3-days', 3);
      await make(me, 'in-1-day', 1);
      await make(me, 'in-10-days', 10);
      await make(me, 'in-20-days', 20);
      await make(me, 'never', null);
      await make(me, 'off-in-2-days', 2);
      assert.equal((await call(app, 'POST', `/api/v1.0/tokens/${ids['off-in-2-days']}/deactivate`, me)).status, 200);
      key = (await make(me, 'script', 30, { apiGroups: ['tokens'] })).key;
      const someoneElse = await userWithSession(app, kg, 'admin');
      await make(someoneElse, 'theirs-in-2-days', 2);
    });

    it("GET /me shows a signed-in user's active tokens expiring within the longest notice (14 days here), soonest first", async () => {
      const res = await get('/me', { cookie: me.cookie });
      assert.equal(res.status, 200);
      assert.equal(res.body.kind, 'user');
      assert.deepEqual(names(res.body.expiring), ['in-1-day', 'in-3-days', 'in-10-days']);
      assert.equal(res.body.expiring[0].id, ids['in-1-day']);
      assert.ok(!JSON.stringify(res.body).includes('"key"'), 'never a key');
    });

    it('GET /me/expiring takes withinDays (1..365) and defaults to the longest notice', async () => {
      const all = await get('/me/expiring?withinDays=40', { cookie: me.cookie });
      assert.equal(all.status, 200);
      assert.equal(all.body.withinDays, 40);
      assert.deepEqual(names(all.body.items), ['in-1-day', 'in-3-days', 'in-10-days', 'in-20-days', 'script']);
      const soon = await get('/me/expiring?withinDays=2', { cookie: me.cookie });
      assert.deepEqual(names(soon.body.items), ['in-1-day']);
      const fallback = await get('/me/expiring', { cookie: me.cookie });
      assert.equal(fallback.body.withinDays, 14);
      assert.deepEqual(names(fallback.body.items), ['in-1-day', 'in-3-days', 'in-10-days']);
    });

    it('a bad withinDays is a 400 naming the field', async () => {
      for (const bad of ['0', '366', 'soon', '1.5']) {
        const res = await get(`/me/expiring?withinDays=${bad}`, { cookie: me.cookie });
        assertError(res, 400, 'VALIDATION_FAILED');
        assert.match(`${res.body.error.field ?? ''} ${res.body.error.message}`, /withinDays/, bad);
      }
      assertError(await get('/me/expiring?within=3', { cookie: me.cookie }), 400, 'VALIDATION_FAILED');
    });

    it("a token: /me stays about the token itself; /me/expiring lists its owner's tokens (tokens API group)", async () => {
      const self = await get('/me', { key });
      assert.equal(self.body.kind, 'token');
      assert.equal(self.body.expiring, undefined);
      const listed = await get('/me/expiring?withinDays=40', { key });
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.ok(names(listed.body.items).includes('script'));
      assert.ok(!names(listed.body.items).includes('theirs-in-2-days'));
      const narrow = await call(env().app, 'POST', '/api/v1.0/tokens', {
        cookie: me.cookie,
        body: { name: 'verify only', apiGroups: ['verify'] },
      });
      assert.equal((await get('/me/expiring', { key: narrow.body.key })).status, 403);
    });
  },
  { KEYGATE_EXPIRY_NOTICE_DAYS: '1,14' },
);
