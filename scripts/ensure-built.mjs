#!/usr/bin/env node
// Builds dist/ from src/ (and the console, dist/web from web/) when the TypeScript compiler is installed (a development install: `npm install`),
// and otherwise starts from the dist/ that was shipped (a production install: `npm ci --omit=dev` of a
// packed or pre-built tree). Without this, `npm start` and `npm install` would need a dev dependency.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The compiler's entry point, found through its package.json (its `exports` hide bin/ itself), or null. */
function findTsc() {
  let manifest;
  try {
    manifest = createRequire(import.meta.url).resolve('typescript/package.json');
  } catch {
    return null;
  }
  const bin = JSON.parse(readFileSync(manifest, 'utf8')).bin?.tsc;
  return typeof bin === 'string' ? join(dirname(manifest), bin) : null;
}

/** The newest modification time of a file under these paths (0 when none exists). */
function newest(paths) {
  let latest = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    if (stat.isDirectory()) latest = Math.max(latest, newest(readdirSync(path).map((name) => join(path, name))));
    else latest = Math.max(latest, stat.mtimeMs);
  }
  return latest;
}

/** Builds the console (web/ → dist/web) with Vite when its sources are newer than the last build. */
function buildConsole() {
  const built = existsSync('dist/web/index.html') ? statSync('dist/web/index.html').mtimeMs : 0;
  const sources = newest(['web/src', 'web/index.html', 'web/vite.config.ts', 'web/package.json']);
  if (built >= sources) return 0;
  const run = spawnSync('npm', ['run', '--silent', '-w', 'web', 'build'], { stdio: 'inherit' });
  return run.status ?? 1;
}

const tsc = findTsc();
if (tsc !== null) {
  const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
  process.exit(buildConsole());
}
if (existsSync('dist/cli/main.js')) {
  console.error('keygate: TypeScript is not installed (a production install): starting from the built dist/.');
  process.exit(0);
}
console.error(
  'keygate: dist/ is missing and TypeScript is not installed (a production install). Build first with ' +
    '`npm ci && npm run build`, or install the packed package (`npm pack` ships dist/).',
);
process.exit(1);
