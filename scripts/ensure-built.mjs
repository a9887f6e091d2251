#!/usr/bin/env node
// Builds dist/ from src/ when the TypeScript compiler is installed (a development install: `npm install`),
// and otherwise starts from the dist/ that was shipped (a production install: `npm ci --omit=dev` of a
// packed or pre-built tree). Without this, `npm start` and `npm install` would need a dev dependency.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

const tsc = findTsc();
if (tsc !== null) {
  const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
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
