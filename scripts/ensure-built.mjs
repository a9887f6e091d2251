#!/usr/bin/env node
// Builds dist/ from src/ when the TypeScript compiler is installed (a development install: `npm install`),
// and otherwise starts from the dist/ that was shipped (a production install: `npm ci --omit=dev` of a
// packed or pre-built tree). Without this, `npm start` and `npm install` would need a dev dependency.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  tsc = null;
}
if (tsc !== null) {
  const run = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}
if (existsSync('dist/cli/main.js')) process.exit(0);
console.error(
  'keygate: dist/ is missing and TypeScript is not installed (a production install). Build first with ' +
    '`npm ci && npm run build`, or install the packed package (`npm pack` ships dist/).',
);
process.exit(1);
