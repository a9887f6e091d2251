import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  incompleteBeta,
  logGamma,
  quantile,
  studentCdf,
  studentTwoSided,
  summarize,
  trimTop,
  welch,
} from '../../bench/stats.js';

/** |actual − expected| ≤ tol, with both in the message. */
function near(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);
}

// Student's sleep data (Cushny & Peebles), R's `sleep` data set: extra hours of sleep under two drugs.
const SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
const SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];

describe("Welch's t-test against R's t.test", () => {
  it('the example in ?t.test: t = -1.8608, df = 17.776, p-value = 0.07939', () => {
    // R: t.test(extra ~ group, data = sleep) → Welch Two Sample t-test, mean in group 1 0.75, group 2 2.33.
    const w = welch(SLEEP_1, SLEEP_2);
    near(w.diff, 0.75 - 2.33, 1e-12, 'difference of means');
    near(w.t, -1.8608, 5e-5, 't');
    near(w.df, 17.776, 5e-4, 'df');
    near(w.p, 0.07939, 5e-6, 'p');
  });

  it('swapping the samples negates t and keeps df and p', () => {
    const ab = welch(SLEEP_1, SLEEP_2);
    const ba = welch(SLEEP_2, SLEEP_1);
    near(ba.t, -ab.t, 1e-12, 't');
    near(ba.df, ab.df, 1e-9, 'df');
    near(ba.p, ab.p, 1e-12, 'p');
  });

  it('t and df do not change when both samples are shifted or scaled alike', () => {
    fc.assert(
      fc.property(
        // Timings in µs with two decimals, as the benchmark measures them (no subnormal doubles).
        fc.array(
          fc.integer({ min: -100_000, max: 100_000 }).map((x) => x / 100),
          { minLength: 3, maxLength: 40 },
        ),
        fc.array(
          fc.integer({ min: -100_000, max: 100_000 }).map((x) => x / 100),
          { minLength: 3, maxLength: 40 },
        ),
        fc.double({ min: -1e4, max: 1e4, noNaN: true }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (a, b, shift, scale) => {
          const base = welch(a, b);
          fc.pre(Number.isFinite(base.t) && Math.abs(base.t) > 1e-6 && base.df > 1);
          const moved = welch(
            a.map((x) => x * scale + shift),
            b.map((x) => x * scale + shift),
          );
          near(moved.t, base.t, 1e-6 * Math.max(1, Math.abs(base.t)), 't');
          near(moved.df, base.df, 1e-6 * base.df, 'df');
        },
      ),
    );
  });

  it('equal sizes and variances give df = 2(n − 1); identical samples give t = 0 and p = 1', () => {
    const a = [1, 2, 3, 4, 5];
    const b = [11, 12, 13, 14, 15];
    const w = welch(a, b);
    near(w.df, 8, 1e-12, 'df');
    near(w.t, -10 / Math.sqrt(2 * (2.5 / 5)), 1e-12, 't');
    const same = welch(a, a);
    assert.equal(same.t, 0);
    near(same.p, 1, 1e-12, 'p');
  });

  it('refuses a sample of fewer than two values', () => {
    assert.throws(() => welch([1], [1, 2]), /at least two/);
  });
});

describe("Student's t distribution", () => {
  it('df = 1 is the Cauchy distribution: 1/2 + atan(t)/π', () => {
    for (const t of [-30, -2, -0.3, 0, 0.7, 1, 5, 100])
      near(studentCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-12, `t=${t}`);
  });

  it('df = 2 and df = 4 match their closed forms', () => {
    for (const t of [-6, -1.5, -0.2, 0.4, 1.5, 3, 12]) {
      near(studentCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-12, `df=2 t=${t}`);
      const u = 1 + (t * t) / 4;
      near(studentCdf(t, 4), 0.5 + (3 / 8) * (t / Math.sqrt(u)) * (1 - (t * t) / (12 * u)), 1e-12, `df=4 t=${t}`);
    }
  });

  it('the critical values of a t table', () => {
    // qt(0.975, 10) = 2.228139 and qt(0.995, 30) = 2.749996 (R; any t table to 3 decimals).
    near(studentCdf(2.228139, 10), 0.975, 1e-6, 'qt(0.975, 10)');
    near(studentTwoSided(2.749996, 30), 0.01, 1e-6, 'qt(0.995, 30)');
    // Many degrees of freedom: the normal's 1.959964 (qnorm(0.975)).
    near(studentTwoSided(1.959964, 1e7), 0.05, 1e-6, 'df = 1e7');
  });

  it('the tails at the benchmark’s sizes: df ≈ 4000 (scipy.stats.t.sf)', () => {
    // 2 * scipy.stats.t.sf(5, 4000) = 5.978759e-07.
    near(studentTwoSided(5, 4000), 5.978759e-7, 1e-12, 't=5');
    near(studentTwoSided(-5, 4000), 5.978759e-7, 1e-12, 't=-5');
  });

  it('is a distribution: from 0 to 1, increasing, symmetric about 0', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -50, max: 50, noNaN: true }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        fc.double({ min: 0.5, max: 5000, noNaN: true }),
        (t, step, df) => {
          const f = studentCdf(t, df);
          assert.ok(f >= 0 && f <= 1);
          assert.ok(studentCdf(t + step, df) >= f - 1e-12);
          near(studentCdf(-t, df), 1 - f, 1e-9, 'symmetry');
        },
      ),
    );
  });
});

describe('the incomplete beta and gamma functions', () => {
  it('I_x(1, 1) = x, I_x(a, 1) = x^a, I_x(1, b) = 1 − (1 − x)^b', () => {
    for (const x of [0, 0.01, 0.3, 0.5, 0.77, 0.999, 1]) {
      near(incompleteBeta(x, 1, 1), x, 1e-12, `I_${x}(1,1)`);
      near(incompleteBeta(x, 3.5, 1), x ** 3.5, 1e-12, `I_${x}(3.5,1)`);
      near(incompleteBeta(x, 1, 7), 1 - (1 - x) ** 7, 1e-12, `I_${x}(1,7)`);
    }
  });

  it('Γ(5) = 24, Γ(1/2) = √π, Γ(1) = 1', () => {
    near(logGamma(5), Math.log(24), 1e-12, 'Γ(5)');
    near(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12, 'Γ(1/2)');
    near(logGamma(1), 0, 1e-12, 'Γ(1)');
  });
});

describe('the summary the benchmark prints', () => {
  it('mean, median, p90 (R type 7) and sd of the sleep data, group 1', () => {
    // R: mean 0.75, median 0.35, quantile(x, 0.9) 3.43, sd 1.78901.
    const s = summarize(SLEEP_1);
    assert.equal(s.n, 10);
    near(s.mean, 0.75, 1e-12, 'mean');
    near(s.median, 0.35, 1e-12, 'median');
    near(s.p90, 3.43, 1e-12, 'p90');
    near(s.sd, 1.78901, 5e-6, 'sd');
  });

  it('quantile interpolates between neighbours', () => {
    near(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9.1, 1e-12, 'p90 of 1..10');
    assert.equal(quantile([4], 0.5), 4);
  });

  it('trimTop drops the largest values only', () => {
    const xs = Array.from({ length: 200 }, (_, i) => (i * 37) % 200);
    const kept = trimTop(xs, 0.01);
    assert.equal(kept.length, 198);
    assert.equal(Math.max(...kept), 197);
    assert.equal(Math.min(...kept), 0);
    assert.equal(trimTop([3, 1, 2], 0.01).length, 3);
  });
});
