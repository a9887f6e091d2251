import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import { MemorySignInThrottle } from '../../src/services/sign-in-throttle.js';
import { forEachDialect } from '../support/harness.js';
import { PASSWORD, email } from '../support/client.js';
import { listen, send } from '../support/wire.js';

/** Password guessing over real HTTP, with the throttle's clock in the test's hand. */
forEachDialect('sign-in throttle over HTTP', (env) => {
  let now = 5_000_000;
  let app: FastifyTypebox;
  let port: number;

  before(async () => {
    app = await buildApp(env().kg, { signInThrottle: new MemorySignInThrottle(() => now) });
    port = await listen(app);
  });
  after(async () => {
    await app.close();
  });

  const signIn = (address: string, password: string) =>
    send(
      port,
      'POST',
      '/api/v1.0/session',
      { 'content-type': 'application/json' },
      JSON.stringify({ email: address, password }),
    );

  it('200 wrong guesses at once: a few are checked, the rest refused with 429 and Retry-After', async () => {
    const { kg } = env();
    const address = email('victim');
    await kg.users.create({ email: address, password: PASSWORD }, 'system');
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => signIn(address, `wrong guess ${i}`)));
    const checked = answers.filter((a) => a.status === 401);
    const refused = answers.filter((a) => a.status === 429);
    assert.equal(checked.length, 5, 'only the free failures reach the password check');
    assert.equal(refused.length, 195);
    for (const r of refused) {
      assert.equal(r.body.error.code, 'RATE_LIMITED');
      assert.match(r.body.error.requestId, /\S/);
      assert.ok(Number(r.headers['retry-after']) >= 1, `Retry-After: ${r.headers['retry-after']}`);
    }
    // Even the right password waits out the back-off: the answer must not tell a guess was right.
    const right = await signIn(address, PASSWORD);
    assert.equal(right.status, 429);
    now += Number(right.headers['retry-after']) * 1000;
    assert.equal((await signIn(address, PASSWORD)).status, 200, 'after the wait the right password works');
    assert.equal((await signIn(address, 'wrong again')).status, 401, 'a success reset the account counter');
  });
});
