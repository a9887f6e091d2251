import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachDialect } from '../support/harness.js';
import { assertError, call, userWithSession } from '../support/client.js';

forEachDialect('token lifecycle over HTTP', (env) => {
  it('issues a key once, lets it call the API, rolls it with grace, and refuses it after delete', async () => {
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    const account = await call(app, 'POST', '/api/v1.0/resources', {
      cookie: admin.cookie,
      body: { type: 'account', name: 'Acme' },
    });
    assert.equal(account.status, 201);
    const created = await call(app, 'POST', `/api/v1.0/resources/${account.body.id}/tokens`, {
      cookie: admin.cookie,
      body: { name: 'ci', level: 'manager', expiresIn: '30d' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const key: string = created.body.key;
    assert.match(key, /^kg_[0-9A-Za-z]{36}$/);
    assert.equal(created.headers['cache-control'], 'no-store');

    const shown = await call(app, 'GET', `/api/v1.0/tokens/${created.body.id}`, { cookie: admin.cookie });
    assert.equal(shown.status, 200);
    assert.equal(shown.body.key, undefined, 'the key is never shown again');
    assert.ok(!JSON.stringify(shown.body).includes(key.slice(3)), 'no part of the key beyond the prefix');

    const me = await call(app, 'GET', '/api/v1.0/me', { key });
    assert.equal(me.status, 200);
    assert.equal(me.body.kind, 'token');
    assert.equal(me.body.token.id, created.body.id);

    const rolled = await call(app, 'POST', `/api/v1.0/tokens/${created.body.id}/roll`, {
      cookie: admin.cookie,
      body: { graceSeconds: 3600 },
    });
    assert.equal(rolled.status, 200);
    assert.notEqual(rolled.body.key, key);
    assert.equal((await call(app, 'GET', '/api/v1.0/me', { key })).status, 200, 'old key valid during grace');
    assert.equal((await call(app, 'GET', '/api/v1.0/me', { key: rolled.body.key })).status, 200);

    assert.equal(
      (await call(app, 'DELETE', `/api/v1.0/tokens/${created.body.id}`, { cookie: admin.cookie })).status,
      204,
    );
    assertError(await call(app, 'GET', '/api/v1.0/me', { key: rolled.body.key }), 401, 'KEY_INVALID');
    assertError(await call(app, 'GET', '/api/v1.0/me', { key }), 401, 'KEY_INVALID');
  });
});
