#!/usr/bin/env node
// Writes the CycloneDX SBOM of what a production install runs to the path given, so every build
// ships the list of what it contains. The document is npm's own (`npm sbom`); which packages are
// runtime is read from package-lock.json, because `npm sbom --omit dev` drops a runtime dependency
// that a development tool also depends on (it left out `yaml`, which the gateway uses).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const out = process.argv[2] ?? 'dist/sbom.cdx.json';
const run = spawnSync('npm', ['sbom', '--sbom-format', 'cyclonedx'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
if (run.status !== 0) {
  process.stderr.write(run.stderr);
  process.exit(run.status ?? 1);
}
const bom = JSON.parse(run.stdout);
if (bom.bomFormat !== 'CycloneDX') throw new Error('npm sbom did not produce a CycloneDX document');

// name@version of every installed package the lockfile does not mark as development-only.
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const runtime = new Set();
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0 || entry.dev || entry.link) continue;
  runtime.add(`${path.slice(at + 'node_modules/'.length)}@${entry.version}`);
}
const kept = bom.components.filter((c) => runtime.has(`${c.name}@${c.version}`));
const refs = new Set([bom.metadata?.component?.['bom-ref'], ...kept.map((c) => c['bom-ref'])]);
for (const c of kept) c.properties = (c.properties ?? []).filter((p) => p.name !== 'cdx:npm:package:development');
bom.components = kept;
bom.dependencies = (bom.dependencies ?? [])
  .filter((d) => refs.has(d.ref))
  .map((d) => ({ ...d, dependsOn: (d.dependsOn ?? []).filter((r) => refs.has(r)) }));
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(bom, null, 2)}\n`);
process.stdout.write(`sbom: ${kept.length} runtime components → ${out}\n`);
