import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessLogRow } from '../../src/store/access-log.js';
import { asUser } from '../support/client.js';
import { createTestCluster, DIALECTS, type TestEnv } from '../support/harness.js';

const DAY = 86_400_000;
const START = Date.parse('2031-06-01T00:00:00.000Z');

/** An accepted (or refused) request as the access log records it. */
function record(tokenId: string, ip: string, at: number, outcome = 'VALID'): AccessLogRow {
  return {
    at,
    id: `acc_${Math.random().toString(36).slice(2)}`,
    request_id: 'req-1',
    token_id: tokenId,
    owner_id: null,
    resource_id: null,
    method: 'GET',
    route: '/api/v1.0/me',
    path: '/api/v1.0/me',
    api_version: 'v1.0',
    status: outcome === 'VALID' ? 200 : 401,
    duration_us: 100,
    ip,
    user_agent: null,
    outcome,
    carrier: 'header:x-api-key',
    key_prefix: null,
    key_fingerprint: null,
    capture: null,
  };
}

for (const dialect of DIALECTS) {
  describe(`expiry notices and new addresses, on an injected clock [${dialect.name}]`, () => {
    let now = START;
    const clock = () => new Date(now);
    let env: TestEnv;
    let dispose: () => Promise<void>;
    let hookId = '';
    let adminId = '';
    let A = '';
    /** A folder under A: its tokens' events reach A's webhook. */
    let F = '';

    /** Event types (and the token each names) written to the outbox since the last call. */
    let seen = 0;
    const newEvents = async () => {
      await env.kg.notifications.flush();
      const rows = await env.kg.notifications.store.deliveries(hookId, { limit: 500 });
      const fresh = rows.slice(0, rows.length - seen).reverse();
      seen = rows.length;
      return fresh.map((r) => ({ type: r.event_type, payload: JSON.parse(r.payload) }));
    };

    before(async () => {
      const cluster = await createTestCluster(dialect.url, 1, { clock });
      env = cluster.instances[0]!;
      dispose = cluster.dispose;
      const { kg } = env;
      adminId = (
        await kg.users.create(
          { email: `notices-${dialect.name}@example.com`, password: 'x'.repeat(16), systemRole: 'admin' },
          'system',
        )
      ).id;
      const admin = await asUser(kg, adminId);
      A = (await kg.resources.create(admin, { type: 'account', name: 'A' }, null)).id;
      F = (await kg.resources.create(admin, { type: 'folder', name: 'F', parentId: A }, null)).id;
      // On the parent: it hears the events of tokens on the folder below.
      const hook = await kg.webhooks.create(admin, {
        url: 'https://hooks.example.com/x',
        resourceId: A,
        events: ['token.expiring', 'token.expired', 'token.new_address'],
      });
      hookId = hook.row.id;
    });

    after(async () => {
      await dispose();
    });

    it('sends "expiring" 7 days and 1 day before, and "expired", exactly once each', async () => {
      const { kg } = env;
      const admin = await asUser(kg, adminId);
      const expiresAt = new Date(START + 10 * DAY).toISOString();
      const { view } = await kg.tokens.create(admin, F, { name: 'soon', expiresAt }, null);
      await kg.notifications.runOnce(clock());
      assert.deepEqual(await newEvents(), [], 'nothing 10 days ahead');

      now = START + 3 * DAY - 1;
      await kg.notifications.runOnce(clock());
      assert.deepEqual(await newEvents(), [], 'not a millisecond early');

      now = START + 3 * DAY;
      await kg.notifications.runOnce(clock());
      const [seven, ...rest7] = await newEvents();
      assert.equal(rest7.length, 0);
      assert.equal(seven?.type, 'token.expiring');
      assert.equal(seven?.payload.data.daysLeft, 7);
      assert.equal(seven?.payload.data.token.id, view.row.id);
      assert.equal(seven?.payload.data.token.expiresAt, expiresAt);

      for (const step of [1, DAY, 4 * DAY]) {
        now = START + 3 * DAY + step;
        await kg.notifications.runOnce(clock());
      }
      assert.deepEqual(await newEvents(), [], 'the 7-day notice once');

      now = START + 9 * DAY;
      await kg.notifications.runOnce(clock());
      await kg.notifications.runOnce(clock());
      const one = await newEvents();
      assert.deepEqual(
        one.map((e) => [e.type, e.payload.data.daysLeft]),
        [['token.expiring', 1]],
      );

      now = START + 10 * DAY;
      await kg.notifications.runOnce(clock());
      now = START + 11 * DAY;
      await kg.notifications.runOnce(clock());
      const expired = await newEvents();
      assert.deepEqual(
        expired.map((e) => e.type),
        ['token.expired'],
      );
      assert.equal(expired[0]!.payload.data.daysLeft, undefined);
    });

    it('a new expiry re-arms the notices; a token made close to expiry hears only the tightest', async () => {
      const { kg } = env;
      const admin = await asUser(kg, adminId);
      const base = now;
      const { view } = await kg.tokens.create(
        admin,
        F,
        { name: 'short', expiresAt: new Date(base + DAY / 2).toISOString() },
        null,
      );
      await kg.notifications.runOnce(clock());
      assert.deepEqual(
        (await newEvents()).map((e) => [e.type, e.payload.data.daysLeft]),
        [['token.expiring', 1]],
      );
      // Extended: the same windows apply again to the new expiry.
      await kg.tokens.update(admin, view.row.id, { expiresAt: new Date(base + 5 * DAY).toISOString() }, null);
      await kg.notifications.runOnce(clock());
      assert.deepEqual(
        (await newEvents()).map((e) => [e.type, e.payload.data.daysLeft]),
        [['token.expiring', 5]],
      );
      await kg.notifications.runOnce(clock());
      assert.deepEqual(await newEvents(), []);
    });

    it('"first use from a new address" goes out once per address, for accepted requests only', async () => {
      const { kg } = env;
      const admin = await asUser(kg, adminId);
      const { view } = await kg.tokens.create(admin, F, { name: 'used' }, null);
      const id = view.row.id;
      const push = async (rows: AccessLogRow[]) => {
        for (const r of rows) kg.accessLog.push(r);
        await kg.accessLog.flush();
      };
      await push([
        record(id, '203.0.113.5', now),
        record(id, '203.0.113.5', now + 1),
        record(id, '198.51.100.9', now, 'KEY_DISABLED'),
      ]);
      const first = await newEvents();
      assert.deepEqual(
        first.map((e) => [e.type, e.payload.data.ip, e.payload.data.token.id]),
        [['token.new_address', '203.0.113.5', id]],
      );
      await push([record(id, '203.0.113.5', now + 2), record(id, '2001:db8::1', now + 3)]);
      assert.deepEqual(
        (await newEvents()).map((e) => e.payload.data.ip),
        ['2001:db8::1'],
      );
      await push([record(id, '2001:db8::1', now + 4), record(id, '203.0.113.5', now + 5)]);
      assert.deepEqual(await newEvents(), []);
      // Another process (or this one after a restart) knows the address from the table, not memory.
      const rows = await kg.stores.db.selectFrom('token_addresses').selectAll().where('token_id', '=', id).execute();
      assert.deepEqual(rows.map((r) => r.ip).sort(), ['2001:db8::1', '203.0.113.5']);
      // A record of a token deleted meanwhile is skipped, not a failed batch.
      await kg.tokens.delete(admin, id, null);
      await push([record(id, '192.0.2.77', now + 6)]);
      assert.deepEqual(await newEvents(), []);
    });
  });
}
