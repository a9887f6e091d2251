import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifySignature } from '../../src/domain/webhook-delivery.js';
import { httpSender, Notifications } from '../../src/services/notifications.js';
import { asUser, call } from '../support/client.js';
import { createTestCluster, DIALECTS, type TestEnv } from '../support/harness.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';

const START = Date.parse('2031-03-01T00:00:00.000Z');

/**
 * Each dialect gets one keygate on an injected clock, private addresses allowed (the receiver is on
 * 127.0.0.1), and the worker left stopped: the tests run it with runOnce and move the clock.
 */
for (const dialect of DIALECTS) {
  describe(`webhook delivery against a real receiver [${dialect.name}]`, () => {
    let now = START;
    const clock = () => new Date(now);
    let env: TestEnv;
    let dispose: () => Promise<void>;
    let receiver: Receiver;
    let adminKey = '';
    let adminId = '';
    let A = '';
    let hookId = '';
    let secret = '';
    const minted: string[] = [];

    const api = (method: string, url: string, body?: unknown) =>
      call(env.app, method, `/api/v1.0${url}`, { key: adminKey, ...(body !== undefined ? { body } : {}) });
    const deliveries = async () => (await api('GET', `/webhooks/${hookId}/deliveries`)).body.items as any[];

    before(async () => {
      const cluster = await createTestCluster(dialect.url, 1, {
        env: { KEYGATE_WEBHOOK_ALLOW_PRIVATE: 'true', KEYGATE_WEBHOOK_MAX_ATTEMPTS: '3' },
        clock,
      });
      env = cluster.instances[0]!;
      dispose = cluster.dispose;
      receiver = await startReceiver();
      const { kg } = env;
      const admin = await kg.users.create(
        { email: `hooks-${dialect.name}@example.com`, password: 'x'.repeat(16), systemRole: 'admin' },
        'system',
      );
      adminId = admin.id;
      const ops = await kg.tokens.create(
        await asUser(kg, admin.id),
        null,
        { name: 'ops', level: 'administrator' },
        null,
      );
      adminKey = ops.key;
      minted.push(ops.key);
      A = (await kg.resources.create(await asUser(kg, admin.id), { type: 'account', name: 'A' }, null)).id;
      const made = await api('POST', '/webhooks', { url: receiver.url, resourceId: A });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      hookId = made.body.id;
      secret = made.body.secret;
      // The setup token's own creation event is not this suite's business.
      await kg.notifications.flush();
    });

    after(async () => {
      await receiver.close();
      await dispose();
    });

    it('a token event is written to the outbox, then sent signed by the worker', async () => {
      const { kg } = env;
      const made = await api('POST', `/resources/${A}/tokens`, { name: 'ci', expiresIn: '30d' });
      assert.equal(made.status, 201);
      minted.push(made.body.key);
      await kg.notifications.flush();
      const [pending] = await deliveries();
      assert.equal(pending.status, 'pending');
      assert.equal(pending.attempts, 0);
      assert.equal(receiver.requests.length, 0, 'nothing is sent on the request path');

      await kg.notifications.runOnce(clock());
      assert.equal(receiver.requests.length, 1);
      const got = receiver.requests[0]!;
      assert.equal(got.headers['keygate-event'], 'token.created');
      assert.equal(got.headers['keygate-delivery'], pending.id);
      assert.match(String(got.headers['user-agent']), /^keygate-webhooks/);
      assert.equal(got.headers['content-type'], 'application/json');
      const header = String(got.headers['keygate-signature']);
      assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
      assert.equal(header.split(',')[0], `t=${Math.floor(now / 1000)}`);
      assert.equal(verifySignature(secret, got.body, header, Math.floor(now / 1000)), true);
      assert.equal(verifySignature('whsec_wrong', got.body, header, Math.floor(now / 1000)), false);
      const body = JSON.parse(got.body);
      assert.equal(body.type, 'token.created');
      assert.match(body.id, /^evt_/);
      assert.deepEqual(Object.keys(body.data.token).sort(), ['expiresAt', 'id', 'name', 'ownerId', 'resourceId']);
      assert.equal(body.data.token.id, made.body.id);
      assert.equal(body.data.token.resourceId, A);
      assert.deepEqual(body.data.actor.type, 'token');

      const [done] = await deliveries();
      assert.equal(done.status, 'succeeded');
      assert.equal(done.attempts, 1);
      assert.equal(done.lastStatus, 200);
      assert.equal(done.nextAttemptAt, null);
    });

    it('a failed attempt is retried after the back-off, from the injected clock', async () => {
      const { kg } = env;
      receiver.requests.length = 0;
      receiver.answers.push(500);
      const made = await api('POST', `/resources/${A}/tokens`, { name: 'retry-me' });
      minted.push(made.body.key);
      await kg.notifications.flush();
      const t0 = now;
      await kg.notifications.runOnce(clock());
      let [d] = await deliveries();
      assert.equal(d.status, 'pending');
      assert.equal(d.attempts, 1);
      assert.equal(d.lastStatus, 500);
      assert.match(d.lastError, /HTTP 500/);
      const wait = Date.parse(d.nextAttemptAt) - t0;
      assert.ok(wait >= 10_000 && wait <= 12_000, `first retry after 10–12 s, not ${wait} ms`);

      now = t0 + 9_999;
      await kg.notifications.runOnce(clock());
      assert.equal(receiver.requests.length, 1, 'not before its time');

      now = t0 + wait;
      await kg.notifications.runOnce(clock());
      assert.equal(receiver.requests.length, 2);
      [d] = await deliveries();
      assert.equal(d.status, 'succeeded');
      assert.equal(d.attempts, 2);
      assert.equal(
        receiver.requests[0]!.headers['keygate-delivery'],
        receiver.requests[1]!.headers['keygate-delivery'],
      );
    });

    it('gives up after maxAttempts with doubling waits; redelivery by hand sends it again', async () => {
      const { kg } = env;
      receiver.requests.length = 0;
      receiver.answers.push(500, 502, 503);
      const made = await api('POST', `/resources/${A}/tokens`, { name: 'doomed' });
      minted.push(made.body.key);
      await kg.notifications.flush();
      const waits: number[] = [];
      for (let attempt = 1; attempt <= 3; attempt++) {
        const before = now;
        await kg.notifications.runOnce(clock());
        const [d] = await deliveries();
        assert.equal(d.attempts, attempt);
        if (attempt < 3) {
          assert.equal(d.status, 'pending');
          waits.push(Date.parse(d.nextAttemptAt) - before);
          now = Date.parse(d.nextAttemptAt);
        } else {
          assert.equal(d.status, 'failed');
          assert.equal(d.lastStatus, 503);
          assert.equal(d.nextAttemptAt, null);
        }
      }
      assert.equal(receiver.requests.length, 3);
      assert.ok(waits[0]! >= 10_000 && waits[0]! <= 12_000, `${waits[0]}`);
      assert.ok(waits[1]! >= 20_000 && waits[1]! <= 24_000, `${waits[1]}`);
      now += 3_600_000;
      await kg.notifications.runOnce(clock());
      assert.equal(receiver.requests.length, 3, 'a failed delivery is not retried on its own');

      const [failed] = await deliveries();
      const again = await api('POST', `/webhooks/${hookId}/deliveries/${failed.id}/redeliver`);
      assert.equal(again.status, 202, JSON.stringify(again.body));
      assert.notEqual(again.body.id, failed.id);
      assert.equal(again.body.eventId, failed.eventId);
      assert.equal(again.body.status, 'pending');
      await kg.notifications.runOnce(clock());
      assert.equal(receiver.requests.length, 4);
      assert.equal(receiver.requests[3]!.body, receiver.requests[0]!.body, 'the same event, byte for byte');
      const log = await deliveries();
      assert.equal(log[0].id, again.body.id);
      assert.equal(log[0].status, 'succeeded');
      assert.equal(log[1].status, 'failed');
      const onlyFailed = await api('GET', `/webhooks/${hookId}/deliveries?status=failed`);
      assert.ok(onlyFailed.body.items.every((x: { status: string }) => x.status === 'failed'));
      const missing = await api('POST', `/webhooks/${hookId}/deliveries/whd_nope/redeliver`);
      assert.equal(missing.status, 404);
    });

    it('sends edited, deactivated, activated, rolled and deleted events, each to the listening hooks', async () => {
      const { kg } = env;
      receiver.requests.length = 0;
      const sys = await api('POST', '/webhooks', { url: receiver.url, events: ['token.deleted'] });
      const made = await api('POST', `/resources/${A}/tokens`, { name: 'lifecycle' });
      minted.push(made.body.key);
      const id = made.body.id;
      await api('PATCH', `/tokens/${id}`, { name: 'renamed' });
      await api('POST', `/tokens/${id}/deactivate`);
      await api('POST', `/tokens/${id}/activate`);
      const rolled = await call(env.app, 'POST', `/api/v1.0/tokens/${id}/roll`, { key: adminKey, body: {} });
      assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
      minted.push(rolled.body.key);
      assert.equal((await api('DELETE', `/tokens/${id}`)).status, 204);
      await kg.notifications.flush();
      await kg.notifications.runOnce(clock());
      const types = receiver.requests.map((r) => JSON.parse(r.body)).filter((b) => b.data.token.id === id);
      assert.deepEqual(
        types.map((b) => b.type).sort(),
        [
          'token.created',
          'token.edited',
          'token.deactivated',
          'token.activated',
          'token.rolled',
          'token.deleted',
          'token.deleted',
        ].sort(),
        'A hears all six, the system-wide hook only the deletion',
      );
      const deleted = types.find((b) => b.type === 'token.deleted');
      assert.equal(deleted.data.token.name, 'renamed');
      assert.equal(deleted.data.token.resourceId, A);
      const sysLog = await api('GET', `/webhooks/${sys.body.id}/deliveries`);
      assert.deepEqual(
        sysLog.body.items.map((x: { eventType: string }) => x.eventType),
        ['token.deleted'],
      );
    });

    it('a refused address fails at once with a clear error and no request', async () => {
      const { kg } = env;
      receiver.requests.length = 0;
      const strict = new Notifications(
        { ...kg.config.webhooks, allowPrivate: false },
        { db: kg.stores.db, tokens: kg.stores.tokens, ancestry: (r) => kg.cache.ancestry(r), clock, onError: () => {} },
      );
      const made = await api('POST', `/resources/${A}/tokens`, { name: 'strict' });
      minted.push(made.body.key);
      await kg.notifications.flush();
      await strict.runOnce(clock());
      const [d] = await deliveries();
      assert.equal(d.status, 'failed');
      assert.equal(d.lastStatus, null);
      assert.match(d.lastError, /refused: 127\.0\.0\.1 is a loopback address; no request was made/);
      assert.equal(receiver.requests.length, 0);
      // A name is checked after DNS resolution, before any connection.
      const byName = await httpSender(
        receiver.url.replace('127.0.0.1', 'localhost'),
        '{}',
        {},
        {
          timeoutMs: 2_000,
          allowPrivate: false,
        },
      );
      assert.ok('error' in byName && byName.refused, JSON.stringify(byName));
      assert.match((byName as { error: string }).error, /localhost resolves to .* address/);
      assert.equal(receiver.requests.length, 0);
    });

    it('a dead receiver is an error on the delivery, not a crash; ping reaches a live one', async () => {
      const { kg } = env;
      const dead = await api('POST', '/webhooks', { url: 'http://127.0.0.1:9/nothing', resourceId: A });
      const ping = await api('POST', `/webhooks/${dead.body.id}/ping`);
      assert.equal(ping.status, 202);
      await kg.notifications.runOnce(clock());
      const [d] = (await api('GET', `/webhooks/${dead.body.id}/deliveries`)).body.items;
      assert.equal(d.eventType, 'ping');
      assert.equal(d.status, 'pending');
      assert.match(d.lastError, /ECONNREFUSED/);
      receiver.requests.length = 0;
      assert.equal((await api('POST', `/webhooks/${hookId}/ping`)).status, 202);
      await kg.notifications.runOnce(clock());
      assert.equal(receiver.requests.length, 1);
      assert.equal(JSON.parse(receiver.requests[0]!.body).type, 'ping');
    });

    it('a delivery left claimed by a crashed worker is tried again after its lease', async () => {
      const { kg } = env;
      receiver.requests.length = 0;
      const made = await api('POST', `/resources/${A}/tokens`, { name: 'crash' });
      minted.push(made.body.key);
      await kg.notifications.flush();
      const row = (await kg.notifications.store.due(clock().toISOString(), 50)).find((d) => d.webhook_id === hookId);
      assert.ok(row);
      // What a worker that died mid-send leaves behind: claimed, never settled.
      assert.equal(
        await kg.notifications.store.claim(row, new Date(now + 70_000).toISOString(), clock().toISOString()),
        true,
      );
      await kg.notifications.runOnce(clock());
      assert.equal(receiver.requests.length, 0);
      now += 70_000;
      await kg.notifications.runOnce(clock());
      assert.equal(receiver.requests.length, 1);
      const after = await kg.notifications.store.findDelivery(row.webhook_id, row.id);
      assert.equal(after?.status, 'succeeded');
      assert.equal(after?.attempts, 2);
    });

    it('no key, secret or password appears in any payload, delivery or request received', async () => {
      const { kg } = env;
      const rows = await kg.stores.db.selectFrom('webhook_deliveries').selectAll().execute();
      assert.ok(rows.length > 5);
      const everything = JSON.stringify(rows) + JSON.stringify(receiver.requests) + JSON.stringify(await deliveries());
      const hooks = await kg.stores.db.selectFrom('webhooks').select('secret').execute();
      for (const needle of [...minted, ...minted.map((k) => k.slice(8)), ...hooks.map((h) => h.secret), 'x'.repeat(16)])
        assert.ok(!everything.includes(needle), `found a secret: ${needle.slice(0, 6)}…`);
      const hashes = await kg.stores.db.selectFrom('token_keys').select('key_hash').execute();
      for (const { key_hash } of hashes) assert.ok(!everything.includes(key_hash), 'found a key hash');
      assert.ok(adminId);
    });
  });
}
