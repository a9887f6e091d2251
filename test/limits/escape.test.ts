import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { assertError, call, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';
import { noteSecret } from '../support/secret-scan.js';

/**
 * A token held to limits cannot get round them through the API: it cannot lift its own, loosen
 * another token's, or mint a token free of them. Found by trying it over a real socket: a manager
 * token with 3 requests an hour PATCHed itself to "unlimited" and a million credits.
 */
forEachDialect('a limited token cannot escape its limits', (env) => {
  let admin: { id: string; cookie: string };
  let account: string;
  const mint = async (body: Record<string, unknown>) => {
    const r = await call(env().app, 'POST', `/api/v1.0/resources/${account}/tokens`, {
      cookie: admin.cookie,
      body: { name: 'token', ...body },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    noteSecret(r.body.key);
    return r.body as { id: string; key: string };
  };

  before(async () => {
    const { app, kg } = env();
    admin = await userWithSession(app, kg, 'admin');
    account = (
      await call(app, 'POST', '/api/v1.0/resources', { cookie: admin.cookie, body: { type: 'account', name: 'A' } })
    ).body.id;
  });

  for (const [what, limits] of [
    ['a rate limit', { rateLimit: { limit: 1000, window: '1h' } }],
    ['credits', { credits: { remaining: 1000 } }],
    ['an IP allowlist', { ipAllowlist: ['0.0.0.0/0', '::/0'] }],
  ] as const) {
    it(`a token with ${what} cannot change limits (its own or another's) nor create tokens`, async () => {
      const { app } = env();
      const limited = await mint({ level: 'administrator', ...limits });
      const other = await mint({ level: 'reader', credits: { remaining: 5 } });
      const asLimited = (method: string, url: string, body: unknown) =>
        call(app, method, url, { key: limited.key, body });
      for (const change of [{ rateLimit: 'unlimited' }, { credits: { remaining: 1_000_000 } }, { ipAllowlist: null }]) {
        assertError(await asLimited('PATCH', `/api/v1.0/tokens/${limited.id}`, change), 403, 'FORBIDDEN');
        assertError(await asLimited('PATCH', `/api/v1.0/tokens/${other.id}`, change), 403, 'FORBIDDEN');
      }
      assertError(await asLimited('POST', `/api/v1.0/resources/${account}/tokens`, { name: 'free' }), 403, 'FORBIDDEN');
      // Anything but its limits it may still change, as its permissions allow.
      const renamed = await asLimited('PATCH', `/api/v1.0/tokens/${other.id}`, { name: 'renamed' });
      assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
      // Its limits are as they were.
      const self = await call(app, 'GET', `/api/v1.0/tokens/${limited.id}`, { cookie: admin.cookie });
      for (const field of Object.keys(limits)) assert.notEqual(self.body[field], null, `${field} still set`);
    });
  }

  it('a token without limits, and a person, may set and lift them', async () => {
    const { app } = env();
    const free = await mint({ level: 'administrator' });
    const target = await mint({ level: 'reader', rateLimit: { limit: 5, window: '1m' } });
    const lifted = await call(app, 'PATCH', `/api/v1.0/tokens/${target.id}`, {
      key: free.key,
      body: { rateLimit: 'unlimited' },
    });
    assert.equal(lifted.status, 200, JSON.stringify(lifted.body));
    const created = await call(app, 'POST', `/api/v1.0/resources/${account}/tokens`, {
      key: free.key,
      body: { name: 'by token', credits: { remaining: 3 } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    noteSecret(created.body.key);
    const byPerson = await call(app, 'PATCH', `/api/v1.0/tokens/${target.id}`, {
      cookie: admin.cookie,
      body: { credits: { remaining: 10 } },
    });
    assert.equal(byPerson.status, 200, JSON.stringify(byPerson.body));
  });
});
