import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { createVerifier, type Verifier } from '../../sdk/src/index.js';
import { call, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';
import { listen } from '../support/wire.js';

/**
 * The SDK verifier against a real keygate: an answer that says `cacheable: false` (a token with
 * limits) is neither cached nor shared between concurrent calls, so every use is counted; other
 * answers are cached as before.
 */
forEachDialect('SDK verifier and token limits', (env) => {
  let verifier: Verifier;
  let mint: (body: Record<string, unknown>) => Promise<string>;

  after(() => verifier?.close());

  it('sets up a server, a verifier token and a verifier', async () => {
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    const account = (
      await call(app, 'POST', '/api/v1.0/resources', { cookie: admin.cookie, body: { type: 'account', name: 'A' } })
    ).body.id as string;
    mint = async (body) => {
      const r = await call(app, 'POST', `/api/v1.0/resources/${account}/tokens`, {
        cookie: admin.cookie,
        body: { name: 't', ...body },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.key as string;
    };
    const port = await listen(app);
    verifier = createVerifier({
      baseUrl: `http://127.0.0.1:${port}`,
      key: await mint({ level: 'administrator', apiGroups: ['verify'] }),
      events: false,
    });
  });

  it('asks keygate for every use of a token with credits, in sequence and in parallel', async () => {
    const key = await mint({ credits: { remaining: 5 } });
    const seq = [];
    for (let i = 0; i < 3; i++) seq.push(await verifier.verify(key));
    assert.deepEqual(
      seq.map((a) => a.credits?.remaining),
      [4, 3, 2],
    );
    const parallel = await Promise.all(Array.from({ length: 4 }, () => verifier.verify(key)));
    assert.equal(parallel.filter((a) => a.valid).length, 2);
    assert.equal(parallel.filter((a) => a.code === 'USAGE_EXCEEDED').length, 2);
  });

  it('passes ip on, and still caches answers about tokens without limits', async () => {
    const fenced = await mint({ ipAllowlist: ['192.0.2.0/24'] });
    assert.equal((await verifier.verify(fenced, { ip: '192.0.2.1' })).code, 'VALID');
    assert.equal((await verifier.verify(fenced, { ip: '198.51.100.1' })).code, 'IP_NOT_ALLOWED');
    const plain = await mint({});
    const hits = verifier.stats.hits;
    await verifier.verify(plain);
    await verifier.verify(plain);
    assert.equal(verifier.stats.hits, hits + 1);
  });
});
