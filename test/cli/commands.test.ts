import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/cli/program.js';
import { loadConfig } from '../../src/config.js';
import { firstProblem } from '../../src/domain/validate.js';
import { Member, Resource, Token, User } from '../../src/schemas.js';
import { createKeygate } from '../../src/keygate.js';
import { randomBase62 } from '../../src/domain/keys.js';
import pg from 'pg';
import { DIALECTS } from '../support/harness.js';

const PASSWORD = 'a long enough password';

/**
 * The CLI's commands, run in-process with an argv (test/cli/cli.test.ts spawns the real process for
 * exit codes and stderr). Each command opens the store, acts as its --as user, and closes it.
 * On each database: a PostgreSQL run keeps its tables in a schema of its own (KEYGATE_DATABASE_SCHEMA).
 */
for (const dialect of DIALECTS) {
  describe(`CLI users, memberships and input checks [${dialect.name}]`, () => {
    let dataDir: string;
    const schema = dialect.url ? `t_${randomBase62(12).toLowerCase()}` : undefined;
    let env: Record<string, string>;

    async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
      return cliWith({}, ...args);
    }
    async function cliWith(extra: Record<string, string>, ...args: string[]) {
      const out: string[] = [];
      const err: string[] = [];
      const code = await run(args, {
        env: { ...env, ...extra },
        out: (t) => out.push(t),
        err: (t) => err.push(t),
      });
      return { code, out: out.join('\n'), err: err.join('\n') };
    }
    async function ok(...args: string[]): Promise<string> {
      const r = await cli(...args);
      assert.equal(r.code, 0, r.err);
      return r.out;
    }
    async function refused(code: string, ...args: string[]): Promise<string> {
      const r = await cli(...args);
      assert.equal(r.code, 1, r.out);
      assert.match(r.err, new RegExp(`^keygate: ${code}: `));
      return r.err;
    }

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'keygate-cli-'));
      env = { KEYGATE_DATA_DIR: dataDir, KEYGATE_LOG_LEVEL: 'warn' };
      if (dialect.url && schema)
        Object.assign(env, { KEYGATE_DATABASE_URL: dialect.url, KEYGATE_DATABASE_SCHEMA: schema });
      const created = await cliWith(
        { KEYGATE_ADMIN_PASSWORD: PASSWORD },
        'admin',
        'create',
        '--email',
        'ops@example.com',
      );
      assert.equal(created.code, 0, created.err);
      if (dialect.url && schema) {
        // The PostgreSQL run must really be on PostgreSQL, in its own schema, not on a SQLite fallback.
        const admin = new pg.Client({ connectionString: dialect.url });
        await admin.connect();
        try {
          const { rows } = await admin.query(`SELECT email FROM ${schema}.users`);
          assert.deepEqual(rows, [{ email: 'ops@example.com' }]);
        } finally {
          await admin.end();
        }
      }
    });
    after(async () => {
      rmSync(dataDir, { recursive: true, force: true });
      if (dialect.url && schema) {
        const admin = new pg.Client({ connectionString: dialect.url });
        await admin.connect();
        try {
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await admin.end();
        }
      }
    });

    let ann: string;
    let account: string;

    it('an administrator creates a user, with the password from KEYGATE_USER_PASSWORD; --json is the API shape', async () => {
      const r = await cliWith(
        { KEYGATE_USER_PASSWORD: PASSWORD },
        ...['user', 'create', '--as', 'ops@example.com', '--email', 'Ann@Example.com', '--name', 'Ann', '--json'],
      );
      assert.equal(r.code, 0, r.err);
      const json = JSON.parse(r.out) as Record<string, unknown>;
      assert.equal(firstProblem(User, json), null);
      assert.deepEqual(Object.keys(json).sort(), Object.keys(User.properties).sort());
      assert.equal(json.email, 'ann@example.com');
      assert.equal(json.systemRole, 'user');
      assert.ok(
        !r.out.includes(PASSWORD) && !/password|_/.test(Object.keys(json).join()),
        'no password, no snake_case',
      );
      ann = json.id as string;

      const kg = await createKeygate(loadConfig(env));
      try {
        assert.equal((await kg.users.checkPassword('ann@example.com', PASSWORD)).id, ann);
      } finally {
        await kg.close();
      }

      const admin = JSON.parse(
        await ok('user', 'create', '--as', 'ops@example.com', '--email', 'root@example.com', '--admin', '--json'),
      ) as { systemRole: string };
      assert.equal(admin.systemRole, 'admin');
    });

    it('only administrators manage users, as over HTTP', async () => {
      await refused('FORBIDDEN', 'user', 'create', '--as', 'ann@example.com', '--email', 'eve@example.com');
      await refused('FORBIDDEN', 'user', 'list', '--as', 'ann@example.com');
      await refused('NOT_FOUND', 'user', 'disable', 'ops@example.com', '--as', ann);
      await refused('EMAIL_TAKEN', 'user', 'create', '--as', 'ops@example.com', '--email', 'ann@example.com');
    });

    it('resource create --json prints camelCase, as the API does', async () => {
      const out = await ok(
        'resource',
        'create',
        '--as',
        'ops@example.com',
        '--type',
        'account',
        '--name',
        'Acme',
        '--json',
      );
      const json = JSON.parse(out) as Record<string, unknown>;
      assert.equal(firstProblem(Resource, json), null);
      // The properties every answer has; path is only in GET /resources/{id} and searches.
      assert.deepEqual(Object.keys(json).sort(), [...Resource.required].sort());
      account = json.id as string;
    });

    it("member set, list and remove, each with the acting user's rights", async () => {
      const set = JSON.parse(
        await ok(
          ...['member', 'set', '--as', 'ops@example.com', '--resource', account, '--user', 'ann@example.com'],
          ...['--role', 'manager', '--json'],
        ),
      ) as Record<string, unknown>;
      assert.equal(firstProblem(Member, set), null);
      assert.deepEqual([set.id, set.role, set.resourceId], [ann, 'manager', account]);

      const listed = JSON.parse(await ok('member', 'list', '--as', ann, '--resource', account, '--json')) as {
        id: string;
        role: string;
      }[];
      assert.deepEqual(
        listed.map((m) => [m.id, m.role]),
        [[ann, 'manager']],
      );
      // A manager cannot hand out administrator, nor manage members at all.
      await refused(
        'INSUFFICIENT_PERMISSIONS',
        ...['member', 'set', '--as', ann, '--resource', account, '--user', 'root@example.com', '--role', 'reader'],
      );
      assert.match(
        await ok('member', 'remove', '--as', 'ops@example.com', '--resource', account, '--user', ann),
        /^removed /,
      );
      await refused('NOT_FOUND', 'member', 'list', '--as', ann, '--resource', account);
    });

    it('user list and disable: a disabled user can no longer act', async () => {
      const users = JSON.parse(await ok('user', 'list', '--as', 'ops@example.com', '--json')) as { email: string }[];
      assert.deepEqual(users.map((u) => u.email).sort(), ['ann@example.com', 'ops@example.com', 'root@example.com']);
      assert.match(
        await ok('user', 'disable', 'ann@example.com', '--as', 'ops@example.com'),
        /^disabled ann@example\.com/,
      );
      await refused('UNKNOWN_USER', 'token', 'list', '--as', 'ann@example.com');
      const enabled = JSON.parse(await ok('user', 'enable', ann, '--as', 'ops@example.com', '--json')) as {
        active: boolean;
      };
      assert.equal(enabled.active, true);
    });

    it('the CLI meets the API limits: no 500-character token name, no unknown logging mode', async () => {
      const base = ['token', 'create', '--as', 'ops@example.com', '--resource', account];
      assert.match(
        await refused('VALIDATION_FAILED', ...base, '--name', 'x'.repeat(500)),
        /name must not have more than 200 characters\. \(name\)$/,
      );
      assert.match(
        await refused('VALIDATION_FAILED', ...base, '--name', 'logger', '--logging', 'everything'),
        /logging must be one of none, request, request\+response\. \(logging\)$/,
      );
      await refused(
        'VALIDATION_FAILED',
        'resource',
        'create',
        '--as',
        'ops@example.com',
        '--type',
        'account',
        '--name',
        ' ',
      );
      await refused('VALIDATION_FAILED', 'user', 'create', '--as', 'ops@example.com', '--email', 'not-an-email');
      assert.equal((await ok('token', 'list', '--as', 'ops@example.com', '--all')).trim(), '', 'nothing was stored');

      const created = JSON.parse(await ok(...base, '--name', 'deploy', '--logging', 'request', '--json')) as Record<
        string,
        unknown
      >;
      assert.equal(firstProblem(Token, created), null);
      assert.equal(created.logging, 'request');
    });
  });
}
