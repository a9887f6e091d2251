import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** The SBOM the build ships lists what a production install runs, and nothing only development needs. */
describe('the SBOM (CycloneDX, from npm sbom)', () => {
  it('lists every runtime dependency and no development-only one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-sbom-'));
    try {
      const out = join(dir, 'sbom.cdx.json');
      const run = spawnSync(process.execPath, ['scripts/sbom.mjs', out], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const bom = JSON.parse(readFileSync(out, 'utf8')) as {
        bomFormat: string;
        specVersion: string;
        components: { name: string; version: string; purl?: string }[];
      };
      assert.equal(bom.bomFormat, 'CycloneDX');
      const names = new Set(bom.components.map((c) => c.name));
      const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
        dependencies: Record<string, string>;
        devDependencies: Record<string, string>;
      };
      for (const dep of Object.keys(pkg.dependencies)) assert.ok(names.has(dep), `${dep} is in the SBOM`);
      for (const dev of ['typescript', '@biomejs/biome', 'playwright-core', 'fast-check'])
        assert.ok(!names.has(dev), `${dev} (development only) is not in the SBOM`);
      for (const c of bom.components) assert.match(c.version ?? '', /\S/, `${c.name} has a version`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
