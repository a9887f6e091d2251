/**
 * What one cached token costs an instance in memory. Seeds `BENCH_TOKENS` (default 100,000) reader
 * tokens into a fresh SQLite store, opens a keygate over it, and judges every key once through
 * Access (the path /verify and API authentication take): that caches the key entry, the token row
 * and its parsed facts, the owner, the ancestry and the remembered verdict. The V8 heap and the
 * RSS are read after a full GC before and after; the difference over the token count is the figure.
 *
 *   node --expose-gc --import tsx bench/memory-per-token.ts     # BENCH_TOKENS=200000 for more
 *
 * The plain keys are held in an array for the whole run, before and after alike, so they are not
 * counted. It prints; it does not assert. See docs/scaling.md for the figures and what they mean.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import { createKeygate } from '../src/keygate.js';
import { keygateEnv, seedKeygate } from './keygate.js';
import { envNumber } from './settings.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc (see the header of this file)');
  process.exit(2);
}

function measure(): { heap: number; rss: number } {
  for (let i = 0; i < 3; i++) gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

const count = Math.round(envNumber('BENCH_TOKENS', 100_000, 1));
const dataDir = mkdtempSync(join(tmpdir(), 'keygate-memory-'));
try {
  const env = keygateEnv({ dataDir, port: 0 });
  const t0 = Date.now();
  const { sampleKeys: keys } = await seedKeygate(env, count, count);
  console.log(`seeded ${count.toLocaleString('en-US')} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // A cache TTL longer than the run, so nothing is re-read while it goes.
  const kg = await createKeygate(loadConfig({ ...env, KEYGATE_CACHE_TTL_MS: '3600000' }));
  try {
    const before = measure();
    let valid = 0;
    for (const key of keys) {
      const verdict = await kg.access.evaluateKey(key, { apiGroup: 'native' });
      if (verdict.code === 'VALID') valid++;
    }
    if (valid !== count) throw new Error(`only ${valid} of ${count} keys were valid`);
    // A second pass must be answered from memory alone: what the first pass cached is all there is.
    const misses = kg.cache.stats.misses;
    for (const key of keys) await kg.access.evaluateKey(key, { apiGroup: 'native' });
    if (kg.cache.stats.misses !== misses) throw new Error('the second pass went to the database');
    const after = measure();
    const perHeap = (after.heap - before.heap) / count;
    const perRss = (after.rss - before.rss) / count;
    console.log(`node ${process.version}, ${count.toLocaleString('en-US')} tokens cached (one owner, one account)`);
    console.log(
      `heap used: ${(before.heap / 2 ** 20).toFixed(1)} MiB → ${(after.heap / 2 ** 20).toFixed(1)} MiB: ${Math.round(perHeap)} bytes per token`,
    );
    console.log(
      `rss:       ${(before.rss / 2 ** 20).toFixed(1)} MiB → ${(after.rss / 2 ** 20).toFixed(1)} MiB: ${Math.round(perRss)} bytes per token`,
    );
  } finally {
    await kg.close();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
