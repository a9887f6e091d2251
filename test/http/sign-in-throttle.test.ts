import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import { MemorySignInThrottle } from '../../src/services/sign-in-throttle.js';
import { forEachDialect } from '../support/harness.js';
import { csrfTokenFor } from '../../src/http/csrf.js';
import { PASSWORD, email, userWithSession } from '../support/client.js';
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

  /** Starts from clean counters: every earlier guess in this suite came from the same address. */
  const forgetEverything = () => {
    now += 16 * 60_000;
  };

  it('one account however its address is spelt: case and spaces give no fresh guesses', async () => {
    forgetEverything();
    const { kg } = env();
    const address = email('spelt');
    await kg.users.create({ email: address, password: PASSWORD }, 'system');
    const spellings = [
      address,
      address.toUpperCase(),
      ` ${address}`,
      `${address} `,
      address.replace(/^./, (c) => c.toUpperCase()),
    ];
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await signIn(spellings[i % spellings.length]!, `wrong guess ${i}`));
    assert.deepEqual(
      answers.map((a) => a.status),
      [401, 401, 401, 401, 401, 429, 429, 429, 429, 429],
    );
  });

  it('guesses of the current password with a borrowed session are throttled like sign-ins', async () => {
    forgetEverything();
    const { kg } = env();
    const user = await userWithSession(app, kg);
    const change = (currentPassword: string) =>
      send(
        port,
        'PATCH',
        `/api/v1.0/users/${user.id}`,
        {
          'content-type': 'application/json',
          cookie: `keygate_session=${user.cookie}`,
          'x-csrf-token': csrfTokenFor(user.cookie),
        },
        JSON.stringify({ password: 'a brand new password', currentPassword }),
      );
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await change(`wrong guess ${i}`));
    assert.deepEqual(
      answers.map((a) => a.body.error.code),
      [...Array(5).fill('CURRENT_PASSWORD_INVALID'), ...Array(3).fill('RATE_LIMITED')],
    );
    assert.ok(Number(answers[7]!.headers['retry-after']) >= 1);
    // Even the right one waits out the back-off, then works.
    const right = await change(PASSWORD);
    assert.equal(right.status, 429);
    now += Number(right.headers['retry-after']) * 1000;
    assert.equal((await change(PASSWORD)).status, 200);
  });
});
