import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';

const run = promisify(execFile);
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const PASSWORD = 'a long enough password';

describe('CLI and server start [sqlite only]', () => {
  let dataDir: string;
  const env = () => ({ ...process.env, KEYGATE_DATA_DIR: dataDir, KEYGATE_LOG_LEVEL: 'warn' });
  const cli = async (...args: string[]) => run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: env() });

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'keygate-cli-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('bootstraps an administrator and manages tokens by script', async () => {
    const created = await cli('admin', 'create', '--email', 'ops@example.com', '--password', PASSWORD);
    assert.match(created.stdout, /created administrator ops@example.com \(usr_/);

    const account = (
      await cli('resource', 'create', '--as', 'ops@example.com', '--type', 'account', '--name', 'Acme')
    ).stdout.trim();
    assert.match(account, /^res_/);

    const out = await cli(
      'token',
      'create',
      '--as',
      'ops@example.com',
      '--resource',
      account,
      '--name',
      'deploy',
      '--level',
      'manager',
      '--expires-in',
      '90d',
    );
    const [key, id] = out.stdout.trim().split('\n');
    assert.match(key!, /^kg_[0-9A-Za-z]{36}$/);
    assert.match(id!, /^tok_/);

    const listed = await cli('token', 'list', '--as', 'ops@example.com', '--json');
    const tokens = JSON.parse(listed.stdout) as { id: string; keyPrefix: string; state: string }[];
    assert.deepEqual(
      tokens.map((t) => t.id),
      [id],
    );
    assert.equal(tokens[0]!.state, 'active');
    assert.ok(!listed.stdout.includes(key!), 'the list never shows the key');

    assert.match((await cli('token', 'deactivate', id!, '--as', 'ops@example.com')).stdout, /deactivated/);
    assert.match((await cli('token', 'revoke', id!, '--as', 'ops@example.com')).stdout, /revoked/);
    assert.equal((await cli('token', 'list', '--as', 'ops@example.com')).stdout.trim(), '');
  });

  it('reports a clear error and exits non-zero on bad input', async () => {
    await assert.rejects(
      cli('token', 'create', '--as', 'nobody@example.com', '--name', 'x'),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, /UNKNOWN_USER/);
        return true;
      },
    );
    await assert.rejects(
      cli('admin', 'create', '--email', 'short@example.com', '--password', 'short'),
      (err: { stderr: string }) => /VALIDATION_FAILED/.test(err.stderr),
    );
  });

  it('exits non-zero with one line naming the file and field when the configuration is wrong, no stack trace', async () => {
    const file = join(dataDir, 'bad-config.json');
    writeFileSync(file, JSON.stringify({ resourceTypes: { site: {} } }));
    const cases = [
      [['serve'], { KEYGATE_CONFIG: file }, `KEYGATE_CONFIG ${file}: resourceTypes.site.parents is required`],
      [['token', 'list', '--as', 'ops@example.com'], { PORT: 'abc' }, 'PORT must be a whole number from 0 to 65535'],
    ] as const;
    // Side by side: each fails before it opens the store. More cases: test/config.test.ts.
    await Promise.all(
      cases.map(([args, extra, expected]) =>
        assert.rejects(
          run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...env(), ...extra } }),
          (err: { code: number; stderr: string }) => {
            assert.equal(err.code, 1, args.join(' '));
            assert.equal(err.stderr.trim().split('\n').length, 1, err.stderr);
            assert.ok(err.stderr.startsWith('keygate: configuration: '), err.stderr);
            assert.ok(err.stderr.includes(expected), err.stderr);
            return true;
          },
        ),
      ),
    );
  });

  it('starts over real HTTP with the environment administrator, and a second start leaves it as it is', async () => {
    const first = await startServer(
      loadConfig({
        KEYGATE_DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        KEYGATE_LOG_LEVEL: 'warn',
        KEYGATE_ADMIN_EMAIL: 'boot@example.com',
        KEYGATE_ADMIN_PASSWORD: PASSWORD,
      }),
    );
    try {
      assert.equal((await fetch(`${first.url}/health`)).status, 200);
      const signIn = await fetch(`${first.url}/api/v1.0/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'boot@example.com', password: PASSWORD }),
      });
      assert.equal(signIn.status, 200);
    } finally {
      await first.stop();
    }
    const second = await startServer(
      loadConfig({
        KEYGATE_DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        KEYGATE_LOG_LEVEL: 'warn',
        KEYGATE_ADMIN_EMAIL: 'boot@example.com',
        KEYGATE_ADMIN_PASSWORD: 'another password entirely',
      }),
    );
    try {
      const old = await fetch(`${second.url}/api/v1.0/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'boot@example.com', password: PASSWORD }),
      });
      assert.equal(old.status, 200, 'the existing administrator keeps its password');
    } finally {
      await second.stop();
    }
  });
});
