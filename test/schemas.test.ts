import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

/** Every module specifier a source file imports. */
function importsOf(path: string): string[] {
  const text = readFileSync(new URL(`../src/${path}`, import.meta.url), 'utf8');
  return [...text.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] ?? '');
}

describe('the shared schemas module', () => {
  it('imports only TypeBox and the pure domain, so services, the CLI and the coming SDK can use it', () => {
    const imports = importsOf('schemas.ts');
    assert.ok(imports.length > 0, 'the parser found the imports');
    for (const spec of imports) assert.ok(spec === 'typebox' || spec.startsWith('./domain/'), spec);
  });

  it('is what the services validate with, not a copy under src/http', () => {
    for (const service of ['tokens', 'users', 'resources']) {
      const imports = importsOf(`services/${service}.ts`);
      assert.ok(imports.includes('../schemas.js'), service);
      assert.ok(!imports.some((s) => s.includes('/http/')), `${service} imports nothing from src/http`);
    }
  });
});
