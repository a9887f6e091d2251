import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import type { Principal } from '../../src/services/principal.js';
import { asUser, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';
import { noteSecret } from '../support/secret-scan.js';

/** /verify sends text built in part by hand for limited keys; it must say exactly what the object answer says. */
forEachDialect('verify answers about limited tokens: the JSON text and the object agree', (env) => {
  let verifier: Principal;
  const keys: Record<string, string> = {};
  const ids: Record<string, string> = {};

  before(async () => {
    const { app, kg } = env();
    const admin = await asUser(kg, (await userWithSession(app, kg, 'admin')).id);
    const account = await kg.resources.create(admin, { type: 'account', name: 'Forms' }, null);
    const mint = async (name: string, input: Record<string, unknown>) => {
      const { view, key } = await kg.tokens.create(admin, account.id, { name, ...input }, null);
      noteSecret(key);
      keys[name] = key;
      ids[name] = view.row.id;
    };
    await mint('verifier', { permissions: ['keys:verify'], apiGroups: ['verify'] });
    await mint('rate', { level: 'reader', rateLimit: { limit: 1000, window: '1h' } });
    await mint('credits', { level: 'reader', credits: { remaining: 1000 } });
    await mint('both', { level: 'reader', rateLimit: { limit: 1000, window: '1h' }, credits: { remaining: 1000 } });
    await mint('spent', { level: 'reader', credits: { remaining: 0 } });
    await mint('disabled', { level: 'reader', credits: { remaining: 5 } });
    await kg.tokens.update(admin, ids.disabled!, { active: false }, null);
    const verdict = await kg.access.evaluateKey(keys.verifier!, { apiGroup: 'verify' });
    assert.equal(verdict.code, 'VALID');
    verifier = (verdict as { principal: Principal }).principal;
  });

  for (const name of ['rate', 'credits', 'both', 'spent', 'disabled']) {
    it(`${name}: one use as text, the next as an object, differ only in what was counted`, async () => {
      const { kg } = env();
      const text = JSON.parse(await kg.verify.verifyJson(verifier, { key: keys[name]! }));
      const object = structuredClone(await kg.verify.verify(verifier, { key: keys[name]! }));
      assert.equal(text.cacheable, false);
      const counted = (a: { ratelimit?: { remaining: number; resetMs: number }; credits?: { remaining: number } }) => {
        if (a.ratelimit) {
          a.ratelimit.remaining = 0;
          a.ratelimit.resetMs = 0;
        }
        if (a.credits && name !== 'spent') a.credits.remaining = 0;
        return a;
      };
      assert.deepEqual(counted(text), counted(object));
    });
  }
});
