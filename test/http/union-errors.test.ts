import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { call, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

/** A value refused by a union field (null | "unlimited" | object) is explained by the branch it was closest to. */
forEachDialect('validation errors of union fields', (env) => {
  let admin: { id: string; cookie: string };
  let account: string;
  before(async () => {
    const { app, kg } = env();
    admin = await userWithSession(app, kg, 'admin');
    account = (
      await call(app, 'POST', '/api/v1.0/resources', { cookie: admin.cookie, body: { type: 'account', name: 'U' } })
    ).body.id;
  });

  for (const [rateLimit, field, message] of [
    [{ limit: -1, window: '1m' }, 'rateLimit.limit', /must be >= 1/],
    [{ limit: 5 }, 'rateLimit.window', /required property 'window'/],
    [{ limit: 5, window: '1m', extra: 1 }, 'rateLimit.extra', /additional properties/],
    ['none', 'rateLimit', /must be null or "unlimited" or object/],
  ] as const) {
    it(`rateLimit ${JSON.stringify(rateLimit)} → ${field}`, async () => {
      const r = await call(env().app, 'POST', `/api/v1.0/resources/${account}/tokens`, {
        cookie: admin.cookie,
        body: { name: 't', rateLimit },
      });
      assert.equal(r.status, 400);
      assert.equal(r.body.error.code, 'VALIDATION_FAILED');
      assert.equal(r.body.error.field, field);
      assert.match(r.body.error.message, message);
    });
  }
});
