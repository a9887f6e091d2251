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
    assert.throws(
      () => loadConfig({ KEYGATE_CONFIG: join(dir, 'missing.json') }),
      /^ConfigError: KEYGATE_CONFIG .*missing\.json: cannot read it: ENOENT$/,
    );
  });

  it('refuses a malformed file with a message naming the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-config-'));
    const file = join(dir, 'keygate.json');
    const message = (content: unknown) => {
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
      try {
        loadConfig({ KEYGATE_CONFIG: file });
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.message;
      }
      assert.fail(`accepted ${JSON.stringify(content)}`);
    };
    const cases: [unknown, string][] = [
      [{ resourceTypes: { site: {} } }, 'resourceTypes.site.parents is required'],
      [{ resourceTypes: { site: { parents: [3] } } }, 'resourceTypes.site.parents.0 must be string or null'],
      [{ resourceTypes: { site: { parents: [] } } }, 'resourceTypes.site.parents must not have fewer than 1 items'],
      [
        { resourceTypes: { site: { parents: [null], children: [] } } },
        'resourceTypes.site.children is not a known field',
      ],
      [{ resourceTypes: [] }, 'resourceTypes must be object'],
      [{ levels: { reader: 'resources:read' } }, 'levels.reader must be array'],
      [
        { permissions: { Reports: 'Read reports.' } },
        'permissions.Reports is not an allowed name: it must match pattern',
      ],
      [{ KEYGATE_PROT: 8080 }, 'KEYGATE_PROT is not a known field'],
      [{ PORT: { value: 8080 } }, 'PORT must be string or number or boolean'],
      [[], 'must be a JSON object'],
    ];
    for (const [content, expected] of cases)
      assert.ok(message(content).startsWith(`KEYGATE_CONFIG ${file}: ${expected}`), `${message(content)}`);
    // The parser's own message quotes the text around the fault, which may be a secret.
    const broken = message('{"KEYGATE_KEY_SECRET": "s3cr3t-value",}');
    assert.match(broken, /is not valid JSON/);
    assert.doesNotMatch(broken, /s3cr3t/);
    // Cross-field rules still apply after the shape is right.
    assert.match(message({ levels: { reader: ['reports:read'] } }), /level reader: unknown permission reports:read/);
  });

  it('names a bad value from the file by the file, and one from the environment by the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-config-'));
    const file = join(dir, 'keygate.json');
    writeFileSync(file, JSON.stringify({ PORT: 'abc' }));
    assert.throws(
      () => loadConfig({ KEYGATE_CONFIG: file }),
      (err: Error) => err.message === `KEYGATE_CONFIG ${file}: PORT must be a whole number from 0 to 65535, not "abc"`,
    );
    assert.throws(
      () => loadConfig({ KEYGATE_CONFIG: file, PORT: '70000' }),
      (err: Error) => err.message === 'PORT must be a whole number from 0 to 65535, not "70000"',
    );
    assert.equal(loadConfig({ KEYGATE_CONFIG: file, PORT: '8081' }).port, 8081);
  });

  it('refuses bad environment values before anything starts', () => {
    for (const [name, value, expected] of [
      ['PORT', 'abc', 'PORT must be a whole number from 0 to 65535, not "abc"'],
      ['KEYGATE_CACHE_TTL_MS', '-1', 'KEYGATE_CACHE_TTL_MS must be a whole number ≥ 0, not "-1"'],
      ['KEYGATE_BODY_LIMIT', '1e6', 'KEYGATE_BODY_LIMIT must be a whole number ≥ 1024, not "1e6"'],
      ['KEYGATE_LOG_LEVEL', 'loud', 'KEYGATE_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent'],
      ['KEYGATE_DATABASE_URL', 'mysql://u:pw@db/k', 'KEYGATE_DATABASE_URL must be a postgres:// or postgresql:// URL'],
      ['KEYGATE_ADMIN_EMAIL', 'ops', 'KEYGATE_ADMIN_EMAIL must be an email address'],
    ] as const) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (err: Error) => err instanceof ConfigError && err.message.startsWith(expected),
        `${name}=${value}`,
      );
    }
    const pgUrl = 'postgres://u@db/k';
    assert.throws(
      () => loadConfig({ KEYGATE_DATABASE_URL: pgUrl, KEYGATE_DATABASE_SCHEMA: 'Drop Table' }),
      (err: Error) => err.message.startsWith('KEYGATE_DATABASE_SCHEMA must be a lower-case PostgreSQL name'),
    );
    assert.throws(
      () => loadConfig({ KEYGATE_DATABASE_SCHEMA: 'keygate' }),
      (err: Error) => err.message.startsWith('KEYGATE_DATABASE_SCHEMA needs KEYGATE_DATABASE_URL'),
    );
    assert.equal(
      loadConfig({ KEYGATE_DATABASE_URL: pgUrl, KEYGATE_DATABASE_SCHEMA: 'keygate' }).databaseSchema,
      'keygate',
    );
    // A database URL may carry a password: it is never quoted back.
    assert.throws(
      () => loadConfig({ KEYGATE_DATABASE_URL: 'mysql://u:pw@db/k' }),
      (err: Error) => !/pw/.test(err.message),
    );
  });
});
