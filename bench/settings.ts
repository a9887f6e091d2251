/** Settings every load benchmark reads from the environment, and the one way they are checked. */

/** A number from the environment, or the fallback; anything else stops the run with its name. */
export function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, not ${JSON.stringify(raw)}`);
  return n;
}

/** How long, how often and on which cores wrk loads a target. */
export function loadSettings() {
  return {
    durationS: Math.round(envNumber('BENCH_DURATION', 2, 1)),
    /** Unmeasured load before each target's first run (round 1); later rounds find it warm. */
    warmupS: Math.round(envNumber('BENCH_WARMUP', 1, 0)),
    rounds: Math.round(envNumber('BENCH_ROUNDS', 5, 1)),
    connections: (process.env.BENCH_CONNECTIONS ?? '10,100')
      .split(',')
      .map((c) => Math.round(Number(c.trim())))
      .filter((c) => c > 0),
    serverCpu: Math.round(envNumber('BENCH_SERVER_CPU', 0, 0)),
    loadCpu: Math.round(envNumber('BENCH_LOAD_CPU', 1, 0)),
  };
}
