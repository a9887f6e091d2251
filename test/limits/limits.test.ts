import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachDialect } from '../support/harness.js';
import { assertError, call, userWithSession } from '../support/client.js';

/**
 * Per-token limits over HTTP: the settings on create, PATCH and read (and their validation), and
 * their enforcement on /verify and on API calls made with the key: the IP allowlist first, then the
 * rate limit, then credits; a refused key never counts.
 */

const VERIFY = '/api/v1.0/verify';

forEachDialect('token limits', (env) => {
  let admin: { id: string; cookie: string };
  let account: string;
  let verifierKey: string;

  const mint = async (body: Record<string, unknown>) => {
    const r = await call(env().app, 'POST', `/api/v1.0/resources/${account}/tokens`, {
      cookie: admin.cookie,
      body: { name: 'token', ...body },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { id: string; key: string; [k: string]: unknown };
  };
  const verify = (body: Record<string, unknown>) => call(env().app, 'POST', VERIFY, { key: verifierKey, body });
  const patch = (id: string, body: Record<string, unknown>) =>
    call(env().app, 'PATCH', `/api/v1.0/tokens/${id}`, { cookie: admin.cookie, body });

  it('sets up an account and a verifier token', async () => {
    const { app, kg } = env();
    admin = await userWithSession(app, kg, 'admin');
    const r = await call(app, 'POST', '/api/v1.0/resources', {
      cookie: admin.cookie,
      body: { type: 'account', name: 'A' },
    });
    account = r.body.id;
    verifierKey = (await mint({ level: 'administrator', apiGroups: ['verify'] })).key;
  });

  it('creates, reads and patches the three settings; null and unlimited are kept apart', async () => {
    const t = await mint({
      rateLimit: { limit: 100, window: '60s' },
      credits: { remaining: 20, refill: { amount: 20, interval: '1d' } },
      ipAllowlist: ['10.0.0.0/8', '2001:db8::1'],
    });
    assert.deepEqual(t.rateLimit, { limit: 100, window: '1m', per: 'token' });
    assert.equal((t.credits as any).remaining, 20);
    assert.deepEqual((t.credits as any).refill, { amount: 20, interval: '1d' });
    assert.deepEqual(t.ipAllowlist, ['10.0.0.0/8', '2001:db8::1']);

    const read = await call(env().app, 'GET', `/api/v1.0/tokens/${t.id}`, { cookie: admin.cookie });
    assert.deepEqual(read.body.rateLimit, { limit: 100, window: '1m', per: 'token' });
    assert.deepEqual(read.body.ipAllowlist, ['10.0.0.0/8', '2001:db8::1']);

    let p = await patch(t.id, { rateLimit: 'unlimited', credits: null, ipAllowlist: null });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.equal(p.body.rateLimit, 'unlimited');
    assert.equal(p.body.credits, null);
    assert.equal(p.body.ipAllowlist, null);
    p = await patch(t.id, { rateLimit: null });
    assert.equal(p.body.rateLimit, null);
    p = await patch(t.id, { rateLimit: { limit: 5, window: '1h', per: 'owner' } });
    assert.deepEqual(p.body.rateLimit, { limit: 5, window: '1h', per: 'owner' });

    const plain = await mint({});
    assert.equal(plain.rateLimit, null);
    assert.equal(plain.credits, null);
    assert.equal(plain.ipAllowlist, null);
  });

  it('refuses bad settings with 400 VALIDATION_FAILED naming the field', async () => {
    const t = await mint({});
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ipAllowlist: ['10.0.0.0/33'] }, /ipAllowlist/],
      [{ ipAllowlist: ['example.com'] }, /ipAllowlist/],
      [{ credits: { remaining: -1 } }, /credits/],
      [{ rateLimit: { limit: 10, window: '0s' } }, /rateLimit/],
      [{ rateLimit: { limit: 0, window: '1m' } }, /rateLimit/],
      [{ rateLimit: { limit: 10, window: '2d' } }, /rateLimit/],
      [{ credits: { remaining: 1, refill: { amount: 1, interval: '0s' } } }, /credits/],
    ];
    for (const [body, field] of cases) {
      for (const r of [
        await patch(t.id, body),
        await call(env().app, 'POST', `/api/v1.0/resources/${account}/tokens`, {
          cookie: admin.cookie,
          body: { name: 'x', ...body },
        }),
      ]) {
        assertError(r, 400, 'VALIDATION_FAILED');
        assert.match(`${r.body.error.field ?? ''} ${r.body.error.message}`, field, JSON.stringify(body));
      }
    }
  });

  it('/verify: a rate-limited token is counted, answered with headers and numbers, then RATE_LIMITED', async () => {
    const t = await mint({ rateLimit: { limit: 3, window: '1m' } });
    for (let i = 0; i < 3; i++) {
      const r = await verify({ key: t.key });
      assert.equal(r.body.valid, true, JSON.stringify(r.body));
      assert.equal(r.body.cacheable, false);
      assert.deepEqual(
        { limit: r.body.ratelimit.limit, remaining: r.body.ratelimit.remaining },
        { limit: 3, remaining: 2 - i },
      );
      assert.equal(r.headers['ratelimit-policy'], '"token";q=3;w=60');
      assert.match(String(r.headers.ratelimit), new RegExp(`^"token";r=${2 - i};t=\\d+$`));
    }
    const over = await verify({ key: t.key });
    assert.equal(over.status, 200);
    assert.equal(over.body.valid, false);
    assert.equal(over.body.code, 'RATE_LIMITED');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    const metrics = await env().kg.metrics.scrape();
    assert.match(metrics, /keygate_limited_total\{kind="rate"\} [1-9]/);
  });

  it('/verify: a refused key never consumes (a wrong permission is answered and not counted)', async () => {
    const t = await mint({ level: 'reader', rateLimit: { limit: 1, window: '1m' }, credits: { remaining: 1 } });
    for (let i = 0; i < 3; i++) {
      const r = await verify({ key: t.key, resourceId: account, permission: 'tokens:manage' });
      assert.equal(r.body.code, 'INSUFFICIENT_PERMISSIONS');
      assert.equal(r.body.cacheable, false);
    }
    const ok = await verify({ key: t.key });
    assert.equal(ok.body.code, 'VALID');
    assert.deepEqual(ok.body.credits, { remaining: 0 });
  });

  it('/verify: tokens without limits answer as before, without the new fields', async () => {
    const t = await mint({});
    const r = await verify({ key: t.key });
    assert.equal(r.body.valid, true);
    assert.equal(r.body.cacheable, undefined);
    assert.equal(r.headers.ratelimit, undefined);
  });

  it('/verify: credits are spent per use and by cost (0 only checks), then USAGE_EXCEEDED', async () => {
    const t = await mint({ credits: { remaining: 5 } });
    assert.deepEqual((await verify({ key: t.key })).body.credits, { remaining: 4 });
    assert.deepEqual((await verify({ key: t.key, cost: 3 })).body.credits, { remaining: 1 });
    assert.deepEqual((await verify({ key: t.key, cost: 0 })).body.credits, { remaining: 1 });
    const tooDear = await verify({ key: t.key, cost: 2 });
    assert.equal(tooDear.body.code, 'USAGE_EXCEEDED');
    assert.deepEqual(tooDear.body.credits, { remaining: 1 }, 'a refused cost takes nothing');
    assert.deepEqual((await verify({ key: t.key })).body.credits, { remaining: 0 });
    const empty = await verify({ key: t.key });
    assert.equal(empty.body.valid, false);
    assert.equal(empty.body.code, 'USAGE_EXCEEDED');
    assert.equal((await verify({ key: t.key, cost: 0 })).body.code, 'USAGE_EXCEEDED', 'cost 0 needs one left');
    assertError(await verify({ key: t.key, cost: -1 }), 400, 'VALIDATION_FAILED');
    assert.match(await env().kg.metrics.scrape(), /keygate_limited_total\{kind="credits"\} [1-9]/);
    // Spending published no change and left the token's updated time alone.
    const read = await call(env().app, 'GET', `/api/v1.0/tokens/${t.id}`, { cookie: admin.cookie });
    assert.equal(read.body.credits.remaining, 0);
    assert.equal(read.body.updatedAt, read.body.createdAt);
  });

  it('/verify: credits are exact under concurrency (50 parallel uses of 20 credits admit exactly 20)', async () => {
    const t = await mint({ credits: { remaining: 20 } });
    const answers = await Promise.all(Array.from({ length: 50 }, () => verify({ key: t.key })));
    assert.equal(answers.filter((a) => a.body.valid).length, 20);
    assert.equal(answers.filter((a) => a.body.code === 'USAGE_EXCEEDED').length, 30);
    assert.equal(await env().kg.stores.tokens.creditsRemaining(t.id), 0);
  });

  it('credits refill lazily, in the same statement, by whole intervals of the clock given', async () => {
    const { kg } = env();
    const t = await mint({ credits: { remaining: 2, refill: { amount: 10, interval: '1h' } } });
    const row = await kg.stores.tokens.findById(t.id);
    const start = Number(row!.credits_refilled_at);
    const hour = 3_600_000;
    assert.equal(await kg.stores.tokens.spendCredits(t.id, 2, start + 1), 0);
    assert.equal(await kg.stores.tokens.spendCredits(t.id, 1, start + hour - 1), undefined, 'not due yet');
    assert.equal(await kg.stores.tokens.spendCredits(t.id, 1, start + hour), 9, 'refilled to 10, one spent');
    assert.equal(await kg.stores.tokens.spendCredits(t.id, 9, start + hour + 5), 0);
    // Two and a half intervals later: one refill, and the next is due at the third whole interval.
    assert.equal(await kg.stores.tokens.spendCredits(t.id, 10, start + 3.5 * hour), 0);
    assert.equal(await kg.stores.tokens.spendCredits(t.id, 1, start + 4 * hour - 1), undefined);
    assert.equal(await kg.stores.tokens.spendCredits(t.id, 1, start + 4 * hour), 9);
    const after = await kg.stores.tokens.findById(t.id);
    assert.equal(Number(after!.credits_refilled_at), start + 4 * hour);
  });

  it('/verify: an allowlisted token needs ip (fail closed), and only its addresses pass; IP comes before other limits', async () => {
    const t = await mint({ ipAllowlist: ['192.0.2.0/24', '2001:db8::/32'], credits: { remaining: 100 } });
    const missing = await verify({ key: t.key });
    assert.equal(missing.body.valid, false);
    assert.equal(missing.body.code, 'IP_NOT_ALLOWED');
    assert.equal((await verify({ key: t.key, ip: '198.51.100.1' })).body.code, 'IP_NOT_ALLOWED');
    const ok = await verify({ key: t.key, ip: '192.0.2.44' });
    assert.equal(ok.body.code, 'VALID');
    assert.deepEqual(ok.body.credits, { remaining: 99 }, 'refused addresses spent nothing');
    assert.equal((await verify({ key: t.key, ip: '::ffff:192.0.2.44' })).body.code, 'VALID');
    assert.equal((await verify({ key: t.key, ip: '2001:db8::5' })).body.code, 'VALID');
    assertError(await verify({ key: t.key, ip: 'nonsense' }), 400, 'VALIDATION_FAILED');
  });

  it('API calls with a key: 429 RATE_LIMITED in the envelope with RateLimit fields and Retry-After', async () => {
    const t = await mint({ rateLimit: { limit: 2, window: '1m' } });
    const first = await call(env().app, 'GET', '/api/v1.0/me', { key: t.key });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.headers['ratelimit-policy'], '"token";q=2;w=60');
    assert.match(String(first.headers.ratelimit), /^"token";r=1;t=\d+$/);
    assert.equal((await call(env().app, 'GET', '/api/v1.0/me', { key: t.key })).status, 200);
    const over = await call(env().app, 'GET', '/api/v1.0/me', { key: t.key });
    assertError(over, 429, 'RATE_LIMITED');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    assert.match(String(over.headers.ratelimit), /^"token";r=0;t=\d+$/);
  });

  it('API calls with a key: credits (USAGE_EXCEEDED 429) and the allowlist (IP_NOT_ALLOWED 403, request.ip)', async () => {
    const c = await mint({ credits: { remaining: 1 } });
    assert.equal((await call(env().app, 'GET', '/api/v1.0/me', { key: c.key })).status, 200);
    assertError(await call(env().app, 'GET', '/api/v1.0/me', { key: c.key }), 429, 'USAGE_EXCEEDED');
    // app.inject comes from 127.0.0.1.
    const elsewhere = await mint({ ipAllowlist: ['203.0.113.0/24'] });
    assertError(await call(env().app, 'GET', '/api/v1.0/me', { key: elsewhere.key }), 403, 'IP_NOT_ALLOWED');
    const here = await mint({ ipAllowlist: ['127.0.0.1'] });
    assert.equal((await call(env().app, 'GET', '/api/v1.0/me', { key: here.key })).status, 200);
  });

  it('rate limits can be shared by all tokens of one owner', async () => {
    const a = await mint({ rateLimit: { limit: 2, window: '1m', per: 'owner' } });
    const b = await mint({ rateLimit: { limit: 2, window: '1m', per: 'owner' } });
    assert.equal((await verify({ key: a.key })).body.code, 'VALID');
    const second = await verify({ key: b.key });
    assert.equal(second.body.code, 'VALID');
    assert.equal(second.headers['ratelimit-policy'], '"owner";q=2;w=60');
    assert.equal((await verify({ key: a.key })).body.code, 'RATE_LIMITED');
  });
});

forEachDialect(
  'token limits: level defaults from the configuration',
  (env) => {
    let cookie: string;
    let account: string;
    let verifierKey: string;
    const mint = async (body: Record<string, unknown>) => {
      const r = await call(env().app, 'POST', `/api/v1.0/resources/${account}/tokens`, {
        cookie,
        body: { name: 't', ...body },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; key: string };
    };
    const verify = (key: string) => call(env().app, 'POST', VERIFY, { key: verifierKey, body: { key } });

    it('sets up', async () => {
      const admin = await userWithSession(env().app, env().kg, 'admin');
      cookie = admin.cookie;
      account = (await call(env().app, 'POST', '/api/v1.0/resources', { cookie, body: { type: 'account', name: 'A' } }))
        .body.id;
      // The administrator level has no default: the verifier itself is not limited.
      verifierKey = (await mint({ level: 'administrator', apiGroups: ['verify'] })).key;
    });

    it("a reader without its own limit gets its level's default; its own setting wins; unlimited opts out", async () => {
      const byDefault = await mint({ level: 'reader' });
      assert.equal((await verify(byDefault.key)).headers['ratelimit-policy'], '"token";q=2;w=60');
      await verify(byDefault.key);
      assert.equal((await verify(byDefault.key)).body.code, 'RATE_LIMITED');
      const own = await mint({ level: 'reader', rateLimit: { limit: 5, window: '1m' } });
      assert.equal((await verify(own.key)).headers['ratelimit-policy'], '"token";q=5;w=60');
      const unlimited = await mint({ level: 'reader', rateLimit: 'unlimited' });
      for (let i = 0; i < 4; i++) assert.equal((await verify(unlimited.key)).body.cacheable, undefined);
    });
  },
  { KEYGATE_CONFIG: new URL('./fixtures/rate-defaults.json', import.meta.url).pathname },
);
