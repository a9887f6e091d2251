import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { forEachDialect } from '../support/harness.js';
import { PASSWORD, email, userWithSession } from '../support/client.js';
import { listen, send } from '../support/wire.js';

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/**
 * Cross-site request forgery over real HTTP: a browser sends the session cookie with any site's
 * form, so a change made with the cookie must come from this site and carry the session's token.
 */
forEachDialect('CSRF protection of cookie sessions', (env) => {
  let port: number;
  let admin: { id: string; email: string; cookie: string };
  let token: string;

  before(async () => {
    const { app, kg } = env();
    port = await listen(app);
    admin = await userWithSession(app, kg, 'admin');
    const signIn = await send(
      port,
      'POST',
      '/api/v1.0/session',
      { 'content-type': JSON_TYPE },
      JSON.stringify({ email: admin.email, password: PASSWORD }),
    );
    assert.equal(signIn.status, 200);
    token = signIn.body.csrfToken;
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    admin.cookie = /keygate_session=([^;]+)/.exec(String(signIn.headers['set-cookie']))![1]!;
  });

  const cookie = () => `keygate_session=${admin.cookie}`;
  const createUser = (headers: Record<string, string>, address = email('csrf')) =>
    send(
      port,
      'POST',
      '/api/v1.0/users',
      { 'content-type': FORM, cookie: cookie(), ...headers },
      `email=${encodeURIComponent(address)}&systemRole=admin`,
    );

  it("another site's form, posted with the administrator's cookie, creates no administrator", async () => {
    const { kg } = env();
    const address = email('forged');
    const res = await createUser({ origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }, address);
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'CSRF_FAILED');
    assert.match(res.body.error.requestId, /\S/);
    assert.equal(await kg.stores.users.findByEmail(address), undefined);
  });

  it('a cookie change needs the token, and from this site', async () => {
    const host = `http://127.0.0.1:${port}`;
    const refused: [string, Record<string, string>][] = [
      ['no token, same origin', { origin: host }],
      ['no token, no origin', {}],
      ['a wrong token', { 'x-csrf-token': 'A'.repeat(43) }],
      ['a token of another length', { 'x-csrf-token': 'short' }],
      ['the token from another origin', { 'x-csrf-token': token, origin: 'https://evil.example' }],
      ['the token from an opaque origin', { 'x-csrf-token': token, origin: 'null' }],
      ['the token, same site but not same origin', { 'x-csrf-token': token, 'sec-fetch-site': 'same-site' }],
      [
        'the token, cross-site beats a matching Origin',
        { 'x-csrf-token': token, 'sec-fetch-site': 'cross-site', origin: host },
      ],
    ];
    for (const [why, headers] of refused) {
      const res = await createUser(headers);
      assert.equal(res.status, 403, why);
      assert.equal(res.body.error.code, 'CSRF_FAILED', why);
    }
    const accepted: [string, Record<string, string>][] = [
      ['the token, same origin', { 'x-csrf-token': token, origin: host }],
      ['the token, Sec-Fetch-Site same-origin', { 'x-csrf-token': token, 'sec-fetch-site': 'same-origin' }],
      ['the token, neither header (curl)', { 'x-csrf-token': token }],
    ];
    for (const [why, headers] of accepted) assert.equal((await createUser(headers)).status, 201, why);
  });

  it('reading needs no token; GET /me hands the token to a console that reloads', async () => {
    const me = await send(port, 'GET', '/api/v1.0/me', { cookie: cookie(), origin: 'https://evil.example' });
    assert.equal(me.status, 200);
    assert.equal(me.body.csrfToken, token);
  });

  it('a key is not affected, whatever the origin, and /me with a key has no CSRF token', async () => {
    const { app } = env();
    const account = await send(
      port,
      'POST',
      '/api/v1.0/resources',
      { 'content-type': JSON_TYPE, cookie: cookie(), 'x-csrf-token': token },
      JSON.stringify({ type: 'account', name: 'csrf' }),
    );
    assert.equal(account.status, 201);
    const created = await send(
      port,
      'POST',
      `/api/v1.0/resources/${account.body.id}/tokens`,
      { 'content-type': JSON_TYPE, cookie: cookie(), 'x-csrf-token': token },
      JSON.stringify({ name: 'script', level: 'administrator' }),
    );
    assert.equal(created.status, 201);
    const withKey = await send(
      port,
      'PATCH',
      `/api/v1.0/resources/${account.body.id}`,
      { 'content-type': JSON_TYPE, 'x-api-key': created.body.key, origin: 'https://evil.example' },
      JSON.stringify({ name: 'renamed' }),
    );
    assert.equal(withKey.status, 200);
    const me = await send(port, 'GET', '/api/v1.0/me', { 'x-api-key': created.body.key, cookie: cookie() });
    assert.equal(me.body.kind, 'token');
    assert.equal(me.body.csrfToken, undefined);
    void app;
  });

  it('signing in from another site is refused (login CSRF); signing out needs the token', async () => {
    const { app, kg } = env();
    const u = await userWithSession(app, kg, 'user');
    const body = JSON.stringify({ email: u.email, password: PASSWORD });
    const forged = await send(
      port,
      'POST',
      '/api/v1.0/session',
      { 'content-type': JSON_TYPE, origin: 'https://evil.example' },
      body,
    );
    assert.equal(forged.status, 403);
    assert.equal(forged.body.error.code, 'CSRF_FAILED');
    assert.equal(forged.headers['set-cookie'], undefined);
    const ok = await send(
      port,
      'POST',
      '/api/v1.0/session',
      { 'content-type': JSON_TYPE, 'sec-fetch-site': 'same-origin' },
      body,
    );
    assert.equal(ok.status, 200);
    const session = /keygate_session=([^;]+)/.exec(String(ok.headers['set-cookie']))![1]!;
    const out = await send(port, 'DELETE', '/api/v1.0/session', { cookie: `keygate_session=${session}` });
    assert.equal(out.status, 403);
    assert.equal(out.body.error.code, 'CSRF_FAILED');
    const still = await send(port, 'GET', '/api/v1.0/me', { cookie: `keygate_session=${session}` });
    assert.equal(still.status, 200, 'a forged sign-out ended nothing');
    const done = await send(port, 'DELETE', '/api/v1.0/session', {
      cookie: `keygate_session=${session}`,
      'x-csrf-token': ok.body.csrfToken,
    });
    assert.equal(done.status, 204);
  });
});
