/**
 * The statistics the timing benchmark prints: a summary of each sample (mean, median, p90, sd) and
 * Welch's two-sample t-test with its Welch–Satterthwaite degrees of freedom and two-sided p-value.
 *
 * Written here rather than taken from npm: the maintained packages that give a Welch p-value
 * (@stdlib/stats-ttest2) bring dozens of transitive packages for about 60 lines of arithmetic,
 * and the others (jstat, simple-statistics) either are unmaintained or give no p-value.
 * test/bench/welch.test.ts checks it against R's `t.test` and closed forms of the t distribution.
 */

/** What the benchmark prints about one condition's timings. */
export interface Summary {
  n: number;
  mean: number;
  median: number;
  p90: number;
  /** Sample standard deviation (n − 1 in the denominator), as R's `sd`. */
  sd: number;
}

/** The q-quantile of ascending `sorted` values, interpolated between neighbours (R's default, type 7). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

function meanOf(xs: readonly number[]): number {
  let sum = 0;
  for (const x of xs) sum += x;
  return sum / xs.length;
}

/** Sample variance (n − 1 in the denominator), summed around the mean so large offsets lose no digits. */
function varianceOf(xs: readonly number[], mean: number): number {
  let ss = 0;
  for (const x of xs) ss += (x - mean) ** 2;
  return ss / (xs.length - 1);
}

/** n, mean, median, p90 and sd of a sample. */
export function summarize(xs: readonly number[]): Summary {
  const sorted = [...xs].sort((a, b) => a - b);
  const mean = meanOf(xs);
  return {
    n: xs.length,
    mean,
    median: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    sd: Math.sqrt(varianceOf(xs, mean)),
  };
}

/** The sample without its largest `fraction` of values (GC pauses and scheduler stalls live there). */
export function trimTop(xs: readonly number[], fraction: number): number[] {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.slice(0, sorted.length - Math.floor(sorted.length * fraction));
}

/** Welch's test of two samples: a's mean minus b's, t, its degrees of freedom, and the two-sided p-value. */
export interface Welch {
  diff: number;
  t: number;
  df: number;
  p: number;
}

/** Welch's two-sample t-test (unequal variances), as R's `t.test(a, b)`. Needs at least 2 values in each. */
export function welch(a: readonly number[], b: readonly number[]): Welch {
  if (a.length < 2 || b.length < 2) throw new Error('Welch’s test needs at least two values in each sample');
  const ma = meanOf(a);
  const mb = meanOf(b);
  const va = varianceOf(a, ma) / a.length;
  const vb = varianceOf(b, mb) / b.length;
  const diff = ma - mb;
  const se2 = va + vb;
  // Both samples constant: equal means are no difference at all, unequal ones an infinite t.
  if (se2 === 0)
    return { diff, t: diff === 0 ? 0 : Math.sign(diff) * Infinity, df: a.length + b.length - 2, p: diff === 0 ? 1 : 0 };
  const t = diff / Math.sqrt(se2);
  // Welch–Satterthwaite.
  const df = se2 ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  return { diff, t, df, p: studentTwoSided(t, df) };
}

/** P(|T| ≥ |t|) for Student's t with `df` degrees of freedom (df may be fractional). */
export function studentTwoSided(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentCdf(t: number, df: number): number {
  const tail = studentTwoSided(t, df) / 2;
  return t > 0 ? 1 - tail : tail;
}

/** ln Γ(x) for x > 0: Lanczos' approximation (g = 7, 9 terms), good to about 15 digits. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let sum = c[0] as number;
  for (let i = 1; i < 9; i++) sum += (c[i] as number) / (z + i);
  const w = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(w) - w + Math.log(sum);
}

/** The regularized incomplete beta function I_x(a, b), for 0 ≤ x ≤ 1 and a, b > 0. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  // The continued fraction converges fast only left of the mean; right of it, use I_x(a,b) = 1 − I_{1−x}(b,a).
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(x, a, b)) / a : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** The continued fraction of the incomplete beta function, by the modified Lentz method. */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const eps = 1e-15;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    // The even step, then the odd one.
    for (const coef of [
      (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
      (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
    ]) {
      d = 1 + coef * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + coef / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < eps) return h;
  }
  throw new Error(`incomplete beta: no convergence for x=${x}, a=${a}, b=${b}`);
}
