import assert from 'node:assert/strict';
import { it } from 'node:test';
import { generateKey } from '../../src/domain/keys.js';
import { buildApp } from '../../src/http/app.js';
import { asUser, assertError, call } from '../support/client.js';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { noteSecret } from '../support/secret-scan.js';

/** POSTs a leak report from `ip` (each test its own address, so the per-address limit is its own). */
async function report(env: TestEnv, key: unknown, ip: string, headers: Record<string, string> = {}) {
  noteSecret(key);
  const res = await env.app.inject({
    method: 'POST',
    url: '/api/v1.0/revoke',
    payload: { key } as object,
    remoteAddress: ip,
    headers: { 'user-agent': 'leak-finder/1.0', ...headers },
  });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

/** The audit records of a token's deactivations. */
function deactivations(kg: TestEnv['kg'], tokenId: string) {
  return kg.stores.db
    .selectFrom('audit_events')
    .selectAll()
    .where('target_id', '=', tokenId)
    .where('action', '=', 'token.deactivate')
    .execute();
}

forEachDialect(
  'POST /revoke: anyone reports a leaked key',
  (env) => {
    let adminId = '';
    let A = '';
    let hookId = '';

    /** A fresh live token on A; its key is noted, so the dispose scan looks for it everywhere. */
    const liveToken = async (logging: 'none' | 'request+response' = 'none') => {
      const admin = await asUser(env().kg, adminId);
      const made = await env().kg.tokens.create(admin, A, { name: 'leaky', logging }, null);
      noteSecret(made.key);
      return made;
    };

    it('setup', async () => {
      const { kg } = env();
      adminId = (
        await kg.users.create({ email: 'leaks@example.com', password: 'x'.repeat(16), systemRole: 'admin' }, 'system')
      ).id;
      const admin = await asUser(kg, adminId);
      A = (await kg.resources.create(admin, { type: 'account', name: 'A' }, null)).id;
      hookId = (
        await kg.webhooks.create(admin, {
          url: 'https://hooks.example.com/leaks',
          resourceId: A,
          events: ['token.deactivated'],
        })
      ).row.id;
    });

    it('deactivates the token of a live key: the key is then refused with KEY_DISABLED, the owner hears token.deactivated', async () => {
      const { kg, app } = env();
      const { view, key } = await liveToken();
      assert.equal((await call(app, 'GET', '/api/v1.0/me', { key })).status, 200);

      const res = await report(env(), key, '10.0.0.1');
      assert.equal(res.status, 202);
      assert.deepEqual(res.body, { status: 'received' });

      assertError(await call(app, 'GET', '/api/v1.0/me', { key }), 401, 'KEY_DISABLED');
      const row = await kg.stores.tokens.findById(view.row.id);
      assert.equal(row?.active, 0);
      assert.equal(row?.deactivated_by, 'leak report');

      const audit = await deactivations(kg, view.row.id);
      assert.equal(audit.length, 1);
      const record = audit[0]!;
      assert.equal(record.actor_type, 'system');
      assert.equal(record.ip, '10.0.0.1');
      assert.equal(record.user_agent, 'leak-finder/1.0');
      const details = JSON.parse(record.details);
      assert.equal(details.reason, 'leaked');
      assert.equal(details.by, 'leak report');
      assert.equal(details.keyPrefix, view.row.key_prefix);
      assert.ok(!record.details.includes(key), 'the key is not in the audit record');

      await kg.notifications.flush();
      const deliveries = await kg.notifications.store.deliveries(hookId, { limit: 100 });
      const mine = deliveries.filter((d) => JSON.parse(d.payload).data?.token?.id === view.row.id);
      assert.deepEqual(
        mine.map((d) => d.event_type),
        ['token.deactivated'],
      );
      assert.equal(JSON.parse(mine[0]!.payload).data.actor.type, 'system');
      assert.ok(!mine[0]!.payload.includes(key));
    });

    it('the owner alone cannot switch a reported token back on', async () => {
      const { kg } = env();
      const owner = await kg.users.create(
        { email: 'leak-owner@example.com', password: 'x'.repeat(16), systemRole: 'user' },
        'system',
      );
      const admin = await asUser(kg, adminId);
      // A reader may make tokens, but holds no tokens:manage to lift someone else's deactivation.
      await kg.resources.setRole(admin, A, owner.id, 'reader', null);
      const ownerP = await asUser(kg, owner.id);
      const made = await kg.tokens.create(ownerP, A, { name: 'mine' }, null);
      noteSecret(made.key);
      assert.equal((await report(env(), made.key, '10.0.0.6')).status, 202);
      await assert.rejects(kg.tokens.setActive(ownerP, made.view.row.id, true, null), { code: 'FORBIDDEN' });
      assert.equal(
        (await kg.tokens.setActive(admin, made.view.row.id, true, null)).row.active,
        1,
        'an administrator can',
      );
    });

    it('a rolled-out key still in its grace period counts as live: the token is switched off', async () => {
      const { kg } = env();
      const made = await liveToken();
      const rolled = await kg.tokens.roll(await asUser(kg, adminId), made.view.row.id, 3600, null);
      noteSecret(rolled.key);
      assert.equal((await report(env(), made.key, '10.0.0.7')).status, 202);
      assert.equal((await kg.stores.tokens.findById(made.view.row.id))?.active, 0);
    });

    it('answers the same for an unknown key, an already inactive key and a live one', async () => {
      const { kg } = env();
      const live = await liveToken();
      const answers = [
        await report(env(), live.key, '10.0.0.2'),
        await report(env(), live.key, '10.0.0.2'), // inactive now
        await report(env(), generateKey(kg.config.keyPrefix), '10.0.0.2'), // checksummed, but no token has it
      ];
      for (const a of answers) {
        assert.equal(a.status, 202);
        assert.deepEqual(a.body, { status: 'received' });
      }
      const audit = await deactivations(kg, live.view.row.id);
      assert.equal(audit.length, 1, 'reporting an inactive key again changes nothing');
    });

    it('of several reports of one key at once, exactly one switches the token off and is audited', async () => {
      const { kg } = env();
      const live = await liveToken();
      const answers = await Promise.all(
        ['10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.4', '10.0.1.5'].map((ip) => report(env(), live.key, ip)),
      );
      for (const a of answers) assert.equal(a.status, 202);
      const audit = await deactivations(kg, live.view.row.id);
      assert.equal(audit.length, 1, 'one deactivation, one audit record, one token.deactivated');
      assert.equal((await kg.stores.tokens.findById(live.view.row.id))?.active, 0);
    });

    it('refuses text that cannot be a key, and a malformed body, with 400', async () => {
      const { kg } = env();
      const key = generateKey(kg.config.keyPrefix);
      const broken = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
      assertError(await report(env(), broken, '10.0.0.3'), 400, 'VALIDATION_FAILED');
      assertError(await report(env(), 42, '10.0.0.3'), 400, 'VALIDATION_FAILED');
      const extra = await env().app.inject({
        method: 'POST',
        url: '/api/v1.0/revoke',
        payload: { key, more: 1 },
        remoteAddress: '10.0.0.3',
      });
      assert.equal(extra.statusCode, 400);
    });

    it('answers 429 RATE_LIMITED with Retry-After after 10 reports a minute from one address', async () => {
      const { kg } = env();
      for (let i = 0; i < 10; i++)
        assert.equal((await report(env(), generateKey(kg.config.keyPrefix), '10.0.0.4')).status, 202);
      const refused = await report(env(), generateKey(kg.config.keyPrefix), '10.0.0.4');
      assertError(refused, 429, 'RATE_LIMITED');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal(
        (await report(env(), generateKey(kg.config.keyPrefix), '10.0.0.5')).status,
        202,
        'another address is not limited',
      );
    });

    it('over real HTTP, keeps the key out of the access log (even for a token logging bodies) and the server log', async () => {
      const { kg } = env();
      const lines: string[] = [];
      const logged = await buildApp(kg, {
        logger: { level: 'trace', stream: { write: (line: string) => void lines.push(line) } },
      });
      try {
        const address = await logged.listen({ port: 0, host: '127.0.0.1' });
        const watcher = await liveToken('request+response');
        const leaked = await liveToken();
        const res = await fetch(`${address}/api/v1.0/revoke`, {
          method: 'POST',
          // A key in the header too: the access log records this request, and the watcher logs bodies.
          headers: { 'content-type': 'application/json', 'x-api-key': watcher.key },
          body: JSON.stringify({ key: leaked.key }),
        });
        assert.equal(res.status, 202);
        assert.deepEqual(await res.json(), { status: 'received' });
        assert.equal((await kg.stores.tokens.findById(leaked.view.row.id))?.active, 0);
        // This public route judges the presented key after answering (an asynchronous look-up on
        // PostgreSQL), so the record may be queued a moment after the response arrives.
        const accessRows = async () => {
          await kg.accessLog.flush();
          return kg.stores.db
            .selectFrom('access_log')
            .selectAll()
            .where('token_id', '=', watcher.view.row.id)
            .execute();
        };
        let rows = await accessRows();
        for (let i = 0; i < 100 && rows.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 50));
          rows = await accessRows();
        }
        assert.equal(rows.length, 1, 'the request is in the access log');
        const capture = rows[0]!.capture ?? '';
        assert.match(capture, /\[not recorded\]/);
        assert.ok(!JSON.stringify(rows).includes(leaked.key), 'the reported key is not in the access log');
        assert.ok(lines.length > 0, 'the server logged the request');
        assert.ok(!lines.join('\n').includes(leaked.key), 'the reported key is not in the server log');
        assert.ok(!lines.join('\n').includes(watcher.key), 'nor the presented one');
      } finally {
        await logged.close();
      }
    });
  },
  { KEYGATE_LOG_REQUESTS: 'true' },
);
