#!/usr/bin/env node
// Reads the TAP file the test run wrote and fails unless every suite ran where it should: nothing
// failed, skipped, cancelled or todo; every suite that ran on SQLite ran on PostgreSQL too (suites
// that are SQLite-only by design say "[sqlite only]"); and every browser test file reported a
// [chromium] suite, and both many-instance [cluster] suites ran. A suite that silently did not run is as bad as one that failed.
import { readdirSync, readFileSync } from 'node:fs';

const [tapPath, browserDir = 'test/browser'] = process.argv.slice(2);
if (!tapPath) {
  console.error('usage: check-suites.mjs <results.tap> [browser test dir]');
  process.exit(2);
}
const lines = readFileSync(tapPath, 'utf8').split('\n');
const problems = [];

for (const name of ['fail', 'skipped', 'todo', 'cancelled']) {
  const line = lines.find((l) => l.startsWith(`# ${name} `));
  if (line === undefined) problems.push(`the summary has no "# ${name}" line`);
  else if (line !== `# ${name} 0`) problems.push(`summary: ${line.slice(2)}`);
}
const total = lines.find((l) => l.startsWith('# tests '));
if (total === undefined || total === '# tests 0') problems.push('no tests ran');

// Top-level results only: suites, not the tests inside them.
const topLevel = lines
  .map((l) => /^(ok|not ok) \d+ - (.*?)(?: # .*)?$/.exec(l))
  .filter((m) => m !== null)
  .map((m) => ({ ok: m[1] === 'ok', name: m[2] }));
for (const r of topLevel) if (!r.ok) problems.push(`failed: ${r.name}`);

const names = new Set(topLevel.map((r) => r.name));
const sqlite = [...names].filter((n) => n.endsWith(' [sqlite]'));
const postgres = [...names].filter((n) => n.endsWith(' [postgres]'));
if (sqlite.length === 0) problems.push('no [sqlite] suite ran');
if (postgres.length === 0) problems.push('no [postgres] suite ran');
for (const n of sqlite) {
  const twin = `${n.slice(0, -' [sqlite]'.length)} [postgres]`;
  if (!names.has(twin)) problems.push(`ran on SQLite but not on PostgreSQL: ${twin}`);
}
for (const n of postgres) {
  const twin = `${n.slice(0, -' [postgres]'.length)} [sqlite]`;
  if (!names.has(twin)) problems.push(`ran on PostgreSQL but not on SQLite: ${twin}`);
}

const browserFiles = readdirSync(browserDir).filter((f) => f.endsWith('.test.ts'));
const chromium = [...names].filter((n) => n.endsWith('[chromium]'));
if (chromium.length < browserFiles.length) {
  problems.push(`${browserFiles.length} browser test files but only ${chromium.length} [chromium] suites ran`);
}

// The many-instance suites start real processes over PostgreSQL, once with LISTEN/NOTIFY and once with Redis.
const cluster = [...names].filter((n) => n.endsWith(' [cluster]'));
if (cluster.length < 2)
  problems.push(`${cluster.length} many-instance [cluster] suites ran; expected PostgreSQL and Redis`);

if (problems.length > 0) {
  for (const p of problems) console.error(`ci: ${p}`);
  process.exit(1);
}
console.log(
  `ci: ${total.slice(8)} tests; ${sqlite.length} suites on both SQLite and PostgreSQL, ` +
    `${chromium.length} in Chromium, ${cluster.length} with three processes; nothing skipped`,
);
