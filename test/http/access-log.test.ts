import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import type { AccessLogRow } from '../../src/store/access-log.js';
import { assertError, call, PASSWORD, userWithSession } from '../support/client.js';
import { forEachDialect, type TestEnv } from '../support/harness.js';

/**
 * The access log's write side: every request that presents a key leaves one record — accepted or
 * refused, over every carrier, also when refused before routing — and what it keeps of headers and
 * bodies never holds a key, password or cookie.
 */

const FORM = 'application/x-www-form-urlencoded';

interface Fixture {
  admin: { id: string; cookie: string };
  accountId: string;
  tokens: Record<'plain' | 'request' | 'full', { id: string; key: string }>;
}

async function setUp(env: TestEnv): Promise<Fixture> {
  const { app, kg } = env;
  const admin = await userWithSession(app, kg, 'admin');
  const account = await call(app, 'POST', '/api/v1.0/resources', {
    cookie: admin.cookie,
    body: { type: 'account', name: 'Logged Inc' },
  });
  assert.equal(account.status, 201, JSON.stringify(account.body));
  const mint = async (name: string, logging: string) => {
    const r = await call(app, 'POST', `/api/v1.0/resources/${account.body.id}/tokens`, {
      cookie: admin.cookie,
      body: { name, level: 'administrator', logging },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { id: string; key: string };
  };
  return {
    admin,
    accountId: account.body.id,
    tokens: {
      plain: await mint('plain', 'none'),
      request: await mint('request', 'request'),
      full: await mint('full', 'request+response'),
    },
  };
}

/** Writes what is queued and returns the records of one request id (the app echoes it in x-request-id). */
async function recordsOf(env: TestEnv, requestId: unknown): Promise<AccessLogRow[]> {
  await env.kg.accessLog.flush();
  return env.kg.stores.db.selectFrom('access_log').selectAll().where('request_id', '=', String(requestId)).execute();
}

async function onlyRecord(env: TestEnv, requestId: unknown): Promise<AccessLogRow> {
  const rows = await recordsOf(env, requestId);
  assert.equal(rows.length, 1, `one record for ${String(requestId)}, got ${rows.length}`);
  return rows[0]!;
}

forEachDialect(
  'the access log records every request that presents a key',
  (env) => {
    let f: Fixture;
    it('sets up an account and tokens with each logging mode', async () => {
      f = await setUp(env());
    });

    it('records an accepted request with who, what, where, how long and which carrier', async () => {
      const { app } = env();
      const r = await call(app, 'GET', `/api/v1.0/resources/${f.accountId}`, {
        key: f.tokens.plain.key,
        headers: { 'user-agent': 'script/1.0' },
      });
      assert.equal(r.status, 200);
      const row = await onlyRecord(env(), r.headers['x-request-id']);
      assert.equal(row.token_id, f.tokens.plain.id);
      assert.equal(row.owner_id, f.admin.id);
      assert.equal(row.resource_id, f.accountId);
      assert.equal(row.method, 'GET');
      assert.equal(row.route, '/api/v1.0/resources/:id');
      assert.equal(row.path, `/api/v1.0/resources/${f.accountId}`);
      assert.equal(row.api_version, 'v1.0');
      assert.equal(row.status, 200);
      assert.equal(row.outcome, 'VALID');
      assert.equal(row.carrier, 'header:x-api-key');
      assert.equal(row.user_agent, 'script/1.0');
      assert.equal(row.ip, '127.0.0.1');
      assert.equal(row.key_prefix, null);
      assert.equal(row.capture, null, 'logging none keeps no headers or bodies');
      assert.ok(Number(row.duration_us) >= 0);
      assert.ok(Math.abs(Number(row.at) - Date.now()) < 60_000);
    });

    it('names the carrier for each of the seven ways to present a key', async () => {
      const { app } = env();
      const key = f.tokens.plain.key;
      const q = encodeURIComponent(key);
      const cases: [string, () => Promise<{ headers: Record<string, unknown>; status: number }>][] = [
        ['header:x-api-key', () => call(app, 'GET', '/api/v1.0/me', { headers: { 'x-api-key': key } })],
        ['header:x-apikey', () => call(app, 'GET', '/api/v1.0/me', { headers: { 'x-apikey': key } })],
        [
          'header:authorization',
          () => call(app, 'GET', '/api/v1.0/me', { headers: { authorization: `Bearer ${key}` } }),
        ],
        ['query:key', () => call(app, 'GET', `/api/v1.0/me?key=${q}`)],
        ['query:apiToken', () => call(app, 'GET', `/api/v1.0/me?apiToken=${q}`)],
        [
          'form:key',
          () =>
            call(app, 'POST', '/api/v1.0/resources', {
              headers: { 'content-type': FORM },
              payload: new URLSearchParams({ type: 'folder', name: 'F', parentId: f.accountId, key }).toString(),
            }),
        ],
        [
          'json:API_Key',
          () =>
            call(app, 'POST', '/api/v1.0/resources', {
              body: { type: 'folder', name: 'J', parentId: f.accountId, API_Key: key },
            }),
        ],
      ];
      for (const [carrier, send] of cases) {
        const r = await send();
        assert.ok(r.status === 200 || r.status === 201, `${carrier}: ${r.status}`);
        const row = await onlyRecord(env(), r.headers['x-request-id']);
        assert.equal(row.carrier, carrier);
        assert.equal(row.token_id, f.tokens.plain.id, carrier);
        assert.equal(row.outcome, 'VALID', carrier);
      }
    });

    it('records a key that matches no token by prefix and fingerprint only', async () => {
      const { app, kg } = env();
      const wrong = `${f.tokens.plain.key.slice(0, -8)}AAAAAAAA`;
      const r = await call(app, 'GET', '/api/v1.0/me', { key: wrong });
      assertError(r, 401, 'KEY_MALFORMED');
      const row = await onlyRecord(env(), r.headers['x-request-id']);
      assert.equal(row.token_id, null);
      assert.equal(row.outcome, 'KEY_MALFORMED');
      assert.equal(row.key_prefix, wrong.slice(0, kg.config.keyPrefix.length + 4));
      assert.match(String(row.key_fingerprint), /^[A-Za-z0-9_-]{8}$/);
      assert.ok(!JSON.stringify(row).includes(wrong.slice(8)), 'no more of the key than its prefix');

      // The same wrong key twice has the same fingerprint; another key a different one.
      const again = await call(app, 'GET', '/api/v1.0/me', { key: wrong });
      const other = await call(app, 'GET', '/api/v1.0/me', { key: `${wrong.slice(0, -1)}B` });
      assert.equal((await onlyRecord(env(), again.headers['x-request-id'])).key_fingerprint, row.key_fingerprint);
      assert.notEqual((await onlyRecord(env(), other.headers['x-request-id'])).key_fingerprint, row.key_fingerprint);
    });

    it("records a refused token's request with the token and the refusal", async () => {
      const { app } = env();
      const made = await call(app, 'POST', `/api/v1.0/resources/${f.accountId}/tokens`, {
        cookie: f.admin.cookie,
        body: { name: 'soon off', level: 'reader' },
      });
      const off = await call(app, 'POST', `/api/v1.0/tokens/${made.body.id}/deactivate`, { cookie: f.admin.cookie });
      assert.equal(off.status, 200, JSON.stringify(off.body));
      const r = await call(app, 'GET', '/api/v1.0/me', { key: made.body.key });
      assertError(r, 401, 'KEY_DISABLED');
      const row = await onlyRecord(env(), r.headers['x-request-id']);
      assert.equal(row.token_id, made.body.id);
      assert.equal(row.outcome, 'KEY_DISABLED');
      assert.equal(row.status, 401);
      assert.equal(row.key_fingerprint, null, 'a key that found its token needs no fingerprint');
    });

    it('records requests refused before routing or before their body was read, with the token', async () => {
      const { app } = env();
      const key = f.tokens.plain.key;
      const cases: [number, string, () => Promise<{ headers: Record<string, unknown>; status: number }>][] = [
        [404, 'ROUTE_NOT_FOUND', () => call(app, 'GET', '/api/v1.0/no-such-thing', { key })],
        [
          400,
          'MALFORMED_BODY',
          () =>
            call(app, 'POST', '/api/v1.0/resources', {
              key,
              headers: { 'content-type': 'application/json' },
              payload: '{"type":',
            }),
        ],
        [
          415,
          'UNSUPPORTED_MEDIA_TYPE',
          () =>
            call(app, 'POST', '/api/v1.0/resources', { key, headers: { 'content-type': 'text/csv' }, payload: 'a,b' }),
        ],
        [
          413,
          'PAYLOAD_TOO_LARGE',
          () =>
            call(app, 'POST', '/api/v1.0/resources', {
              key,
              headers: { 'content-type': 'application/json' },
              payload: JSON.stringify({ name: 'x'.repeat(env().config.bodyLimit + 10) }),
            }),
        ],
      ];
      for (const [status, code, send] of cases) {
        const r = await send();
        assertError(r as never, status, code);
        const row = await onlyRecord(env(), r.headers['x-request-id']);
        assert.equal(row.status, status, code);
        assert.equal(row.outcome, code);
        assert.equal(row.token_id, f.tokens.plain.id, `${code}: the key is still attributed to its token`);
      }
      const notFound = await call(app, 'GET', '/api/v1.0/no-such-thing', { key });
      assert.equal((await onlyRecord(env(), notFound.headers['x-request-id'])).route, null);
    });

    it('records a key in the query of a URL the router could not decode', async () => {
      const { app } = env();
      const r = await call(app, 'GET', `/api/v1.0/%zz?key=${encodeURIComponent(f.tokens.plain.key)}`);
      assertError(r, 400, 'MALFORMED_URL');
      await env().kg.accessLog.flush();
      // The key is looked up after the answer; give that look-up its turn before reading.
      await new Promise((resolve) => setImmediate(resolve));
      const row = await onlyRecord(env(), r.headers['x-request-id']);
      assert.equal(row.outcome, 'MALFORMED_URL');
      assert.equal(row.carrier, 'query:key');
      assert.equal(row.token_id, f.tokens.plain.id);
      assert.ok(!row.path.includes(f.tokens.plain.key));
    });

    it('records unreadable credentials (two different keys) without any key', async () => {
      const { app } = env();
      const r = await call(app, 'GET', '/api/v1.0/me', {
        headers: { 'x-api-key': f.tokens.plain.key, 'x-apikey': f.tokens.full.key },
      });
      assertError(r, 400, 'AMBIGUOUS_CREDENTIALS');
      const row = await onlyRecord(env(), r.headers['x-request-id']);
      assert.equal(row.outcome, 'AMBIGUOUS_CREDENTIALS');
      assert.equal(row.carrier, null);
      assert.equal(row.token_id, null);
    });

    it('does not record requests without a key (sessions, public pages)', async () => {
      const { app } = env();
      const bySession = await call(app, 'GET', '/api/v1.0/me', { cookie: f.admin.cookie });
      const anonymous = await call(app, 'GET', '/health');
      assert.equal((await recordsOf(env(), bySession.headers['x-request-id'])).length, 0);
      assert.equal((await recordsOf(env(), anonymous.headers['x-request-id'])).length, 0);
    });

    it('keeps redacted request headers and body for a token that logs requests, and no response', async () => {
      const { app } = env();
      const r = await call(
        app,
        'POST',
        `/api/v1.0/resources/${f.accountId}/tokens?note=1&key=${encodeURIComponent(f.tokens.request.key)}`,
        {
          headers: {
            'x-api-key': f.tokens.request.key,
            cookie: 'keygate_session=abc123',
            'x-trace': 'kept',
            'x-note': `pasted ${f.tokens.full.key} by mistake`,
          },
          body: { name: 'child', level: 'reader', description: 'a child token' },
        },
      );
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const row = await onlyRecord(env(), r.headers['x-request-id']);
      const capture = JSON.parse(String(row.capture));
      assert.equal(capture.request.headers['x-trace'], 'kept');
      assert.equal(capture.request.headers['x-api-key'], '[redacted]');
      assert.equal(capture.request.headers.cookie, '[redacted]');
      assert.match(capture.request.query, /^note=1&key=%5Bredacted%5D$/);
      assert.equal(capture.request.headers['x-note'], 'pasted [redacted] by mistake');
      const body = JSON.parse(capture.request.body);
      assert.equal(body.name, 'child');
      assert.equal(capture.response, undefined);
      const text = JSON.stringify(row);
      for (const secret of [f.tokens.request.key, f.tokens.full.key, r.body.key, 'abc123'])
        assert.ok(!text.includes(secret), 'no key or cookie in the record');
    });

    it('keeps the redacted response for a token that logs responses: a minted key never reaches the log', async () => {
      const { app } = env();
      const r = await call(app, 'POST', `/api/v1.0/resources/${f.accountId}/tokens`, {
        key: f.tokens.full.key,
        body: { name: 'minted', level: 'reader' },
      });
      assert.equal(r.status, 201);
      const row = await onlyRecord(env(), r.headers['x-request-id']);
      const capture = JSON.parse(String(row.capture));
      const response = JSON.parse(capture.response.body);
      assert.equal(response.id, r.body.id);
      assert.equal(response.key, '[redacted]');
      assert.equal(capture.response.headers['x-request-id'], r.headers['x-request-id']);
      assert.ok(!JSON.stringify(row).includes(r.body.key));
    });

    it('caps captured bodies at the configured size and says so', async () => {
      const { app } = env();
      const r = await call(app, 'POST', '/api/v1.0/resources', {
        key: f.tokens.request.key,
        body: { type: 'folder', name: 'Long', parentId: f.accountId, description: 'é'.repeat(2000) },
      });
      const row = await onlyRecord(env(), r.headers['x-request-id']);
      const capture = JSON.parse(String(row.capture));
      assert.equal(capture.truncated, true);
      assert.ok(Buffer.byteLength(capture.request.body) <= 1024);
    });

    it('never stores a password sent with a key (a user created by a token)', async () => {
      const { app, kg } = env();
      const r = await call(app, 'POST', '/api/v1.0/users', {
        key: f.tokens.full.key,
        body: { email: `logged-${Date.now()}@example.com`, name: 'Logged', password: `${PASSWORD} 2` },
      });
      await kg.accessLog.flush();
      const rows = await recordsOf(env(), r.headers['x-request-id']);
      assert.equal(rows.length, 1);
      assert.ok(!JSON.stringify(rows).includes(`${PASSWORD} 2`));
    });

    it("tells system administrators what this process's writer wrote and dropped, and no one else", async () => {
      const { app, kg } = env();
      await kg.accessLog.flush();
      const stats = await call(app, 'GET', '/api/v1.0/logs/access/stats', { cookie: f.admin.cookie });
      assert.equal(stats.status, 200, JSON.stringify(stats.body));
      assert.deepEqual(stats.body, { ...kg.accessLog.counters });
      assert.ok(stats.body.written > 10);
      const user = await userWithSession(app, kg, 'user');
      assertError(await call(app, 'GET', '/api/v1.0/logs/access/stats', { cookie: user.cookie }), 403, 'FORBIDDEN');
      const scoped = await call(app, 'GET', '/api/v1.0/logs/access/stats', { key: f.tokens.plain.key });
      assertError(scoped, 403, 'FORBIDDEN');
    });

    it('writes each record as an NDJSON line to the configured sink, without keys', async () => {
      const { app, kg, config } = env();
      const r = await call(app, 'GET', '/api/v1.0/me', { key: f.tokens.full.key });
      await kg.accessLog.flush();
      const lines = readFileSync(join(config.dataDir, 'access.ndjson'), 'utf8').trim().split('\n');
      const mine = lines.map((l) => JSON.parse(l)).filter((l) => l.requestId === r.headers['x-request-id']);
      assert.equal(mine.length, 1);
      assert.equal(mine[0].tokenId, f.tokens.full.id);
      assert.match(mine[0].at, /^\d{4}-\d\d-\d\dT/);
      const all = lines.join('\n');
      for (const t of Object.values(f.tokens)) assert.ok(!all.includes(t.key));
    });
  },
  { KEYGATE_ACCESS_LOG_CAPTURE_LIMIT: '1024', KEYGATE_ACCESS_LOG: 'access.ndjson' },
);
