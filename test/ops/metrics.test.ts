import assert from 'node:assert/strict';
import { it } from 'node:test';
import { generateKey } from '../../src/domain/keys.js';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { assertError, call, userWithSession } from '../support/client.js';

/**
 * GET /metrics: Prometheus text from the keygate's own registry. Decisions, cache look-ups, HTTP
 * requests by route pattern, queues, the pool and the process are there; keys, token ids, emails
 * and addresses never are; callers off loopback are refused unless they hold the metrics token.
 */

const METRICS_TOKEN = 'metrics-token-for-the-tests-0123';

/** The value of one sample line, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(env: TestEnv): Promise<string> {
  const res = await env.app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  return res.body;
}

forEachDialect('GET /metrics', (env, dialect) => {
  const secrets: string[] = [];
  let verifierKey = '';
  let targetKey = '';
  let targetId = '';

  it('sets up an account, a verifier token and a token to verify', async () => {
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    const account = await call(app, 'POST', '/api/v1.0/resources', {
      cookie: admin.cookie,
      body: { type: 'account', name: 'Acme' },
    });
    const mint = async (body: Record<string, unknown>) => {
      const r = await call(app, 'POST', `/api/v1.0/resources/${account.body.id}/tokens`, {
        cookie: admin.cookie,
        body: { name: 'token', ...body },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; key: string };
    };
    const verifier = await mint({ level: 'administrator', apiGroups: ['verify'] });
    const target = await mint({ level: 'reader' });
    verifierKey = verifier.key;
    targetKey = target.key;
    targetId = target.id;
    secrets.push(verifier.key, verifier.id, target.key, target.id, admin.email, admin.id, account.body.id);
  });

  it('counts a verify decision, the verifier’s own authentication and the request by its route pattern', async () => {
    const before = await scrape(env());
    const ok = await call(env().app, 'POST', '/api/v1.0/verify', { key: verifierKey, body: { key: targetKey } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.code, 'VALID');
    const refused = await call(env().app, 'POST', '/api/v1.0/verify', {
      key: verifierKey,
      body: { key: generateKey('kg_') },
    });
    assert.equal(refused.body.code, 'NOT_FOUND');
    const after = await scrape(env());
    const delta = (series: string) => (sample(after, series) ?? 0) - (sample(before, series) ?? 0);
    assert.equal(delta('keygate_decisions_total{source="verify",code="OK"}'), 1);
    assert.equal(delta('keygate_decisions_total{source="verify",code="NOT_FOUND"}'), 1);
    assert.equal(delta('keygate_decisions_total{source="api",code="OK"}'), 2, 'the verifier authenticated twice');
    assert.equal(
      delta('keygate_http_requests_total{server="api",method="POST",route="/api/v1.0/verify",status="200"}'),
      2,
    );
    assert.equal(
      delta(
        'keygate_http_request_duration_seconds_count{server="api",method="POST",route="/api/v1.0/verify",status="200"}',
      ),
      2,
    );
  });

  it('counts access cache hits once the cache is warm', async () => {
    const before = await scrape(env());
    const ok = await call(env().app, 'POST', '/api/v1.0/verify', { key: verifierKey, body: { key: targetKey } });
    assert.equal(ok.body.code, 'VALID');
    const after = await scrape(env());
    const hits =
      (sample(after, 'keygate_access_cache_lookups_total{result="hit"}') ?? 0) -
      (sample(before, 'keygate_access_cache_lookups_total{result="hit"}') ?? 0);
    const misses =
      (sample(after, 'keygate_access_cache_lookups_total{result="miss"}') ?? 0) -
      (sample(before, 'keygate_access_cache_lookups_total{result="miss"}') ?? 0);
    assert.ok(hits >= 2, `both keys were looked up in memory (${hits} hits)`);
    assert.equal(misses, 0, 'nothing was loaded from the database');
    assert.ok(
      (sample(after, 'keygate_access_cache_lookups_total{result="miss"}') ?? 0) > 0,
      'the first look-ups missed',
    );
  });

  it('labels a route with an id by its pattern, never by the id', async () => {
    const r = await call(env().app, 'GET', `/api/v1.0/tokens/${targetId}`, { key: verifierKey });
    assert.equal(typeof r.status, 'number');
    const text = await scrape(env());
    assert.match(text, /keygate_http_requests_total\{server="api",method="GET",route="\/api\/v1\.0\/tokens\/:id"/);
    const unmatched = await env().app.inject({ method: 'GET', url: `/nowhere/${targetId}` });
    assert.equal(unmatched.statusCode, 404);
    assert.match(await scrape(env()), /route="unmatched",status="404"/);
  });

  it('holds no key, token id, user id, email or address', async () => {
    const text = await scrape(env());
    for (const secret of secrets) assert.ok(!text.includes(secret), `the scrape holds ${secret.slice(0, 6)}…`);
    assert.ok(!text.includes(targetKey.slice(-20)), 'part of a key');
    assert.ok(!/127\.0\.0\.1|::1/.test(text), 'an address');
  });

  it('has queues, the process and, on PostgreSQL, the pool', async () => {
    const text = await scrape(env());
    assert.notEqual(sample(text, 'keygate_access_log_queue'), undefined);
    assert.notEqual(sample(text, 'keygate_event_stream_subscribers'), undefined);
    assert.equal(sample(text, 'keygate_webhook_outbox_pending'), 0);
    assert.equal(sample(text, 'keygate_channel_connected'), 1);
    assert.ok((sample(text, 'process_cpu_user_seconds_total') ?? 0) > 0);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    const total = sample(text, 'keygate_db_pool_connections{state="total"}');
    if (dialect === 'postgres') {
      assert.ok(total !== undefined && total >= 1, 'open pool connections');
      assert.equal(sample(text, 'keygate_db_pool_connections{state="max"}'), 10);
      assert.notEqual(sample(text, 'keygate_db_pool_waiting'), undefined);
    } else assert.equal(total, undefined, 'SQLite has no pool');
  });

  it('answers loopback only without a metrics token, and not what a proxy forwarded', async () => {
    const far = await env().app.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3' });
    assertError({ status: far.statusCode, body: far.json(), headers: far.headers }, 403, 'FORBIDDEN');
    const proxied = await env().app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    assert.equal(proxied.statusCode, 403);
  });

  it('is described in the OpenAPI document beside /health and /ready', async () => {
    const doc = (await env().app.inject('/api/v1.0/openapi.json')).json() as { paths: Record<string, unknown> };
    for (const path of ['/health', '/ready', '/metrics']) assert.ok(doc.paths[path], path);
  });
});

forEachDialect(
  'GET /metrics with KEYGATE_METRICS_TOKEN',
  (env) => {
    it('needs the token as a bearer token, from anywhere, and keeps the scrape out of the access log', async () => {
      const { app, kg } = env();
      const bare = await app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(bare.statusCode, 401);
      assert.equal(bare.json().error.code, 'UNAUTHENTICATED');
      const wrong = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${METRICS_TOKEN}x` },
      });
      assert.equal(wrong.statusCode, 401);
      const right = await app.inject({
        method: 'GET',
        url: '/metrics',
        remoteAddress: '10.1.2.3',
        headers: { authorization: `Bearer ${METRICS_TOKEN}` },
      });
      assert.equal(right.statusCode, 200);
      assert.match(right.body, /keygate_decisions_total/);
      assert.ok(!right.body.includes(METRICS_TOKEN));
      await kg.accessLog.flush();
      const rows = await kg.stores.db.selectFrom('access_log').select('path').execute();
      assert.deepEqual(
        rows.filter((r) => r.path.startsWith('/metrics')),
        [],
      );
    });
  },
  { KEYGATE_METRICS_TOKEN: METRICS_TOKEN },
);
