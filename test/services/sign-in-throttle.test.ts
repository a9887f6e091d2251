import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemorySignInThrottle, type ThrottleOptions } from '../../src/services/sign-in-throttle.js';

const OPTIONS: ThrottleOptions = {
  account: { free: 3, baseMs: 1_000, maxMs: 8_000 },
  address: { free: 10, baseMs: 1_000, maxMs: 60_000 },
  forgetAfterMs: 60_000,
  maxEntries: 50,
};

/** A throttle over a clock the test moves by hand: nothing here depends on real time. */
function throttle() {
  let now = 1_000_000;
  const t = new MemorySignInThrottle(() => now, OPTIONS);
  const advance = (ms: number): void => {
    now += ms;
  };
  return { t, advance };
}

describe('MemorySignInThrottle', () => {
  it('lets the free failures through, then doubles the wait, capped', async () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 2; i++) assert.equal(await t.attempt('a@x', '1.1.1.1'), 0);
    assert.equal(await t.attempt('a@x', '1.1.1.1'), 0, 'the third failure is still free, but starts the wait');
    assert.equal(await t.attempt('a@x', '1.1.1.1'), 1);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      advance(60_000 - 1); // just under forgetAfterMs: the counter is kept
      waits.push(await t.attempt('a@x', '1.1.1.1'));
      assert.equal(waits.at(-1), 0, 'once the wait has passed, one attempt goes ahead');
      waits.push(await t.attempt('a@x', '1.1.1.1'));
    }
    assert.deepEqual(
      waits.filter((w) => w > 0),
      [2, 4, 8, 8, 8, 8],
    );
  });

  it('a refused attempt does not lengthen the wait (it only delays, never locks out)', async () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 3; i++) await t.attempt('b@x', `10.0.0.${i}`);
    for (let i = 0; i < 100; i++) assert.equal(await t.attempt('b@x', `10.0.1.${i}`), 1);
    advance(1_000);
    assert.equal(await t.attempt('b@x', '10.0.2.1'), 0);
  });

  it('counts parallel attempts before their answers are known', async () => {
    const { t } = throttle();
    const answers = await Promise.all(Array.from({ length: 200 }, () => t.attempt('c@x', '2.2.2.2')));
    assert.equal(answers.filter((w) => w === 0).length, 3);
  });

  it("a success forgets the account's failures", async () => {
    const { t } = throttle();
    for (let i = 0; i < 2; i++) await t.attempt('d@x', '3.3.3.3');
    await t.attempt('d@x', '3.3.3.3');
    await t.succeeded('d@x', '3.3.3.3');
    assert.equal(await t.attempt('d@x', '3.3.3.3'), 0);
  });

  it('one address guessing many accounts is slowed too', async () => {
    const { t } = throttle();
    for (let i = 0; i < 10; i++) assert.equal(await t.attempt(`e${i}@x`, '4.4.4.4'), 0);
    assert.equal(await t.attempt('fresh@x', '4.4.4.4'), 1);
    assert.equal(await t.attempt('fresh@x', '5.5.5.5'), 0, 'another address is not affected');
  });

  it('a counter left alone long enough is forgotten, and memory stays bounded', async () => {
    const { t, advance } = throttle();
    for (let i = 0; i < 3; i++) await t.attempt('f@x', '6.6.6.6');
    advance(60_001);
    assert.equal(await t.attempt('f@x', '6.6.6.6'), 0);
    for (let i = 0; i < 1_000; i++) await t.attempt(`g${i}@x`, `7.0.${i >> 8}.${i & 255}`);
    assert.deepEqual(t.size, { accounts: 50, addresses: 50 });
  });
});
