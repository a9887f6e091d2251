import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { DEFAULT_MODEL } from '../src/domain/model.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.keyPrefix, 'kg_');
    assert.equal(c.allowQueryKeys, true);
    assert.equal(c.recoverableKeys, false);
    assert.equal(c.maxTokenLifetimeMs, null);
    assert.equal(c.databaseUrl, undefined);
    assert.match(c.dataDir, /data$/);
    assert.deepEqual(c.model.resourceTypes, DEFAULT_MODEL.resourceTypes);
  });

  it('refuses bad values with a message naming the variable', () => {
    for (const [name, value] of [
      ['PORT', 'eighty'],
      ['KEYGATE_ALLOW_QUERY_KEYS', 'maybe'],
      ['KEYGATE_MAX_TOKEN_LIFETIME', 'forever'],
      ['KEYGATE_KEY_PREFIX', 'KG-'],
      ['KEYGATE_ENCRYPTION_KEY', 'too-short'],
      ['KEYGATE_CUSTOM_KEY_MIN_LENGTH', '4'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: Error) => err instanceof ConfigError && err.message.includes(name),
        `${name}=${value}`,
      );
    }
    assert.throws(() => loadConfig({ KEYGATE_RECOVERABLE_KEYS: 'true' }), /KEYGATE_ENCRYPTION_KEY/);
  });

  it('reads a file, lets the environment win, and takes a custom access model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-config-'));
    const file = join(dir, 'keygate.json');
    writeFileSync(
      file,
      JSON.stringify({
        PORT: 9000,
        KEYGATE_MAX_TOKEN_LIFETIME: '1y',
        resourceTypes: { site: { parents: [null] }, floor: { parents: ['site', 'floor'] } },
        permissions: { 'reports:read': 'Read reports.' },
        apiGroups: { reports: 'The reports API.' },
      }),
    );
    const c = loadConfig({ KEYGATE_CONFIG: file, PORT: '9100' });
    assert.equal(c.port, 9100);
    assert.equal(c.maxTokenLifetimeMs, 365 * 86_400_000);
    assert.deepEqual(Object.keys(c.model.resourceTypes), ['site', 'floor']);
    assert.ok('reports:read' in c.model.permissions && 'resources:read' in c.model.permissions);
    assert.ok('reports' in c.model.apiGroups && 'native' in c.model.apiGroups);
  });

  it('refuses an unsound access model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-config-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ resourceTypes: { floor: { parents: ['site'] } } }));
    assert.throws(() => loadConfig({ KEYGATE_CONFIG: file }), /not sound.*unknown parent type site/);
    assert.throws(() => loadConfig({ KEYGATE_CONFIG: join(dir, 'missing.json') }), /cannot read KEYGATE_CONFIG/);
  });
});
