import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AccessLogRow } from '../../src/store/access-log.js';
import { assertError, call, userWithSession } from '../support/client.js';
import { DIALECTS, createTestCluster, type TestEnv } from '../support/harness.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Half past ten on a known day: buckets are easy to name. */
const T0 = Date.parse('2031-03-15T10:30:00.000Z');

let seq = 0;
/** An access-log record as the request pipeline writes one. */
function record(tokenId: string | null, at: number, status: number, outcome: string, ip = '10.0.0.1'): AccessLogRow {
  seq += 1;
  return {
    at,
    id: `acc_test_${seq}`,
    request_id: `req-${seq}`,
    token_id: tokenId,
    owner_id: null,
    resource_id: null,
    method: 'GET',
    route: '/api/v1.0/me',
    path: '/api/v1.0/me',
    api_version: 'v1.0',
    status,
    duration_us: 1200,
    ip,
    user_agent: 'usage-test',
    outcome,
    carrier: 'header:x-api-key',
    key_prefix: null,
    key_fingerprint: null,
    capture: null,
  };
}

// Each dialect by hand rather than through forEachDialect: these suites need an injected clock.
for (const dialect of DIALECTS) {
  describe(`token usage: hour and day counts from the access log's batches [${dialect.name}]`, () => {
    let now = T0;
    let cluster: Awaited<ReturnType<typeof createTestCluster>>;
    let env: TestEnv;
    let owner: { id: string; cookie: string };
    let tokenId = '';
    let otherTokenId = '';
    let key = '';

    const usage = async (id: string, who: { cookie?: string; key?: string }) =>
      call(env.app, 'GET', `/api/v1.0/tokens/${id}/usage`, who);
    const push = async (...records: AccessLogRow[]) => {
      for (const r of records) env.kg.accessLog.push(r);
      await env.kg.accessLog.flush();
    };

    before(async () => {
      cluster = await createTestCluster(dialect.url, 1, { clock: () => new Date(now) });
      env = cluster.instances[0]!;
      owner = await userWithSession(env.app, env.kg, 'admin');
      const made = await call(env.app, 'POST', '/api/v1.0/tokens', {
        cookie: owner.cookie,
        body: { name: 'counted', apiGroups: ['tokens'] },
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      tokenId = made.body.id;
      key = made.body.key;
      const other = await call(env.app, 'POST', '/api/v1.0/tokens', { cookie: owner.cookie, body: { name: 'other' } });
      otherTokenId = other.body.id;
    });
    after(async () => {
      await cluster.dispose();
    });

    it('an unused token: 48 hourly and 90 daily zero buckets, oldest first, the current one last', async () => {
      const res = await usage(tokenId, { cookie: owner.cookie });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.lastUsedAt, null);
      assert.equal(res.body.hourly.length, 48);
      assert.equal(res.body.daily.length, 90);
      assert.equal(res.body.hourly[47].start, '2031-03-15T10:00:00.000Z');
      assert.equal(
        res.body.hourly[0].start,
        new Date(Date.parse('2031-03-15T10:00:00.000Z') - 47 * HOUR).toISOString(),
      );
      assert.equal(res.body.daily[89].start, '2031-03-15T00:00:00.000Z');
      assert.equal(res.body.daily[0].start, new Date(Date.parse('2031-03-15T00:00:00.000Z') - 89 * DAY).toISOString());
      for (const b of [...res.body.hourly, ...res.body.daily])
        assert.deepEqual([b.requests, b.refusals, b.errors], [0, 0, 0]);
    });

    it('counts requests, refusals (401/403/429 not VALID) and errors (other 4xx/5xx) per hour and per day', async () => {
      await push(
        record(tokenId, T0 - 10 * 60_000, 200, 'VALID', '10.0.0.1'),
        record(tokenId, T0 - 5 * 60_000, 200, 'VALID', '10.0.0.2'),
        record(tokenId, T0 - 20 * 60_000, 200, 'VALID', '10.0.0.9'),
        record(tokenId, T0 - 1_000, 401, 'KEY_EXPIRED'),
        record(tokenId, T0 - 2_000, 429, 'RATE_LIMITED'),
        record(tokenId, T0 - 3_000, 403, 'INSUFFICIENT_PERMISSIONS'),
        record(tokenId, T0 - 4_000, 404, 'NOT_FOUND'),
        // An accepted key answered 403 (say, a route's own check): an error, not a refusal.
        record(tokenId, T0 - 7 * 60_000, 403, 'VALID'),
        record(tokenId, T0 - 25 * 60_000, 500, 'VALID'),
        record(tokenId, T0 - 2 * HOUR, 200, 'VALID'),
        record(tokenId, T0 - 3 * DAY, 400, 'VALIDATION_FAILED'),
        // Older than 90 days: counted nowhere that is kept.
        record(tokenId, T0 - 100 * DAY, 200, 'VALID'),
        // A key that resolved to no token, and another token: not this token's.
        record(null, T0 - 1_000, 401, 'KEY_UNKNOWN'),
        record(otherTokenId, T0 - 1_000, 200, 'VALID', '10.9.9.9'),
      );
      const res = await usage(tokenId, { cookie: owner.cookie });
      const counts = (b: { requests: number; refusals: number; errors: number }) => [b.requests, b.refusals, b.errors];
      assert.deepEqual(counts(res.body.hourly[47]), [9, 3, 3], 'this hour');
      assert.deepEqual(counts(res.body.hourly[45]), [1, 0, 0], 'two hours ago');
      assert.equal(
        res.body.hourly.reduce((n: number, b: { requests: number }) => n + b.requests, 0),
        10,
        'nothing else in the hours',
      );
      assert.deepEqual(counts(res.body.daily[89]), [10, 3, 3], 'today');
      assert.deepEqual(counts(res.body.daily[86]), [1, 0, 1], 'three days ago');
      assert.equal(
        res.body.daily.reduce((n: number, b: { requests: number }) => n + b.requests, 0),
        11,
        'the 100-day-old request is outside the window',
      );
      // The newest accepted use, not the newest request (later ones were refused).
      assert.equal(res.body.lastUsedAt, new Date(T0 - 5 * 60_000).toISOString());
      assert.equal(res.body.lastUsedIp, '10.0.0.2');
      const token = await call(env.app, 'GET', `/api/v1.0/tokens/${tokenId}`, { cookie: owner.cookie });
      assert.equal(token.body.lastUsedAt, res.body.lastUsedAt, 'the token shows the same last use');
      assert.equal((await usage(otherTokenId, { cookie: owner.cookie })).body.lastUsedIp, '10.9.9.9');
    });

    it('a later batch adds to the same buckets; an older accepted use does not move the last use back', async () => {
      await push(
        record(tokenId, T0 - 30 * 60_000, 200, 'VALID', '10.0.0.7'),
        record(tokenId, T0 - 1_000, 401, 'KEY_DISABLED'),
      );
      const res = await usage(tokenId, { cookie: owner.cookie });
      assert.deepEqual([res.body.hourly[47].requests, res.body.hourly[47].refusals], [11, 4]);
      assert.equal(res.body.lastUsedIp, '10.0.0.2');
    });

    it('is answered from the aggregate, never the log: emptying the log changes nothing', async () => {
      const before = (await usage(tokenId, { cookie: owner.cookie })).body;
      await env.kg.stores.db.deleteFrom('access_log').execute();
      assert.deepEqual((await usage(tokenId, { cookie: owner.cookie })).body, before);
    });

    it('only whoever may see the token sees its usage; a token needs the tokens API group', async () => {
      const stranger = await userWithSession(env.app, env.kg, 'user');
      assertError(await usage(tokenId, { cookie: stranger.cookie }), 404, 'NOT_FOUND');
      assert.equal((await usage(tokenId, { key })).status, 200, 'the token itself, as its owner');
      const narrow = await call(env.app, 'POST', '/api/v1.0/tokens', {
        cookie: owner.cookie,
        body: { name: 'verify only', apiGroups: ['verify'] },
      });
      assert.equal((await usage(tokenId, { key: narrow.body.key })).status, 403);
      assertError(await usage('tok_nope', { cookie: owner.cookie }), 404, 'NOT_FOUND');
    });

    it('old buckets are pruned: hours after 48 h, days after 90 d', async () => {
      now = T0 + 3 * DAY;
      await push(record(tokenId, now - 1_000, 200, 'VALID', '10.0.0.3'));
      const rows = await env.kg.stores.db
        .selectFrom('token_usage')
        .select(['span', 'bucket'])
        .where('token_id', '=', tokenId)
        .execute();
      const hours = rows.filter((r) => r.span === 'hour').map((r) => Number(r.bucket));
      const days = rows.filter((r) => r.span === 'day').map((r) => Number(r.bucket));
      assert.deepEqual(hours, [Date.parse('2031-03-18T10:00:00.000Z')], 'only the new hour is left');
      assert.ok(days.length >= 2);
      assert.ok(
        days.every((d) => d >= Date.parse('2031-03-18T00:00:00.000Z') - 90 * DAY),
        'no day older than 90 days',
      );
      // The session has lapsed three days on; the token asks about itself.
      const res = await usage(tokenId, { key });
      assert.deepEqual(res.body.hourly[47].requests, 1);
      assert.equal(res.body.lastUsedIp, '10.0.0.3');
      assert.equal(res.body.daily[86].requests, 12, 'the first day (three days ago) is still there');
    });
  });
}
