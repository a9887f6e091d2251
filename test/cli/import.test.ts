import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run } from '../../src/cli/program.js';
import { loadConfig } from '../../src/config.js';
import { isWellFormedGeneratedKey, randomBase62 } from '../../src/domain/keys.js';
import { buildApp } from '../../src/http/app.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import { createKeygate, type Keygate } from '../../src/keygate.js';
import { AuditStore } from '../../src/store/audit.js';
import type { Principal } from '../../src/services/principal.js';
import { call } from '../support/client.js';
import { DIALECTS } from '../support/harness.js';
import { assertNoSecretsAtRest, noteSecret } from '../support/secret-scan.js';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI process; resolves with its exit code and output whatever the code. */
function keygate(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { env }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(stdin ?? '');
  });
}

type KeyLine = { line: number; id: string; key: string };

function readKeys(path: string): KeyLine[] {
  const text = readFileSync(path, 'utf8');
  const keys = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as KeyLine);
  for (const k of keys) noteSecret(k.key);
  return keys;
}

/** No output of the CLI may hold a key of the generated shape. */
function assertNoKeyIn(ran: Ran, prefix: string): void {
  const shaped = new RegExp(`${prefix}[0-9A-Za-z]{20,}`);
  assert.doesNotMatch(ran.stdout, shaped, 'no key on stdout');
  assert.doesNotMatch(ran.stderr, shaped, 'no key on stderr');
}

/** `keygate token import`: NDJSON in, tokens created through the API's checks, keys only in --keys-out. */
for (const dialect of DIALECTS) {
  describe(`CLI token import [${dialect.name}]`, () => {
    const schema = dialect.url ? `t_${randomBase62(12).toLowerCase()}` : undefined;
    let dataDir: string;
    let work: string;
    let env: NodeJS.ProcessEnv;
    let kg: Keygate;
    let app: FastifyTypebox;
    let admin: Principal;
    let account: string;

    const inProcess = async (args: string[]): Promise<Ran> => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await run(args, { env, out: (t) => out.push(t), err: (t) => err.push(t) });
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    };

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'keygate-import-'));
      // Inputs and keys files live outside the data dir: the secret scan reads the data dir whole.
      work = mkdtempSync(join(tmpdir(), 'keygate-import-work-'));
      const settings: Record<string, string> = {
        KEYGATE_DATA_DIR: dataDir,
        KEYGATE_LOG_LEVEL: 'warn',
        KEYGATE_WEBHOOK_ALLOW_PRIVATE: 'true',
        ...(dialect.url && schema ? { KEYGATE_DATABASE_URL: dialect.url, KEYGATE_DATABASE_SCHEMA: schema } : {}),
      };
      const inherited: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KEYGATE_')) inherited[k] = v;
      env = { ...inherited, ...settings };
      kg = await createKeygate(loadConfig(settings));
      app = await buildApp(kg);
      await app.ready();
      const row = await kg.users.create({ email: 'ops@example.com', systemRole: 'admin' }, 'system');
      admin = { kind: 'user', user: (await kg.cache.user(row.id))! };
      account = (await kg.resources.create(admin, { type: 'account', name: 'Acme' }, null)).id;
      // Someone listens to token.created on the account: imported tokens must be told like created ones.
      await kg.webhooks.create(admin, {
        url: 'http://127.0.0.1:9/hook',
        resourceId: account,
        events: ['token.created'],
      });
    });

    after(async () => {
      await app.close();
      await assertNoSecretsAtRest(kg, dataDir);
      if (schema) await kg.stores.db.schema.dropSchema(schema).ifExists().cascade().execute();
      await kg.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });

    it('imports the good lines, reports each bad one by line and field, and writes the keys only to a 0600 file', async () => {
      const lines = [
        { resourceId: account, name: 'reader one' },
        '{not json',
        { resourceId: account, name: '' },
        { resourceId: 'res_missing', name: 'nowhere' },
        { name: 'system token', level: 'administrator' },
        { resourceId: account, name: 'bad level', level: 'superuser' },
        '',
        { resourceId: account, name: 'extra field', colour: 'blue' },
        { resourceId: account, name: 'verifier', permissions: ['keys:verify'], apiGroups: ['verify'] },
        { resourceId: 42, name: 'numeric resource' },
      ];
      const input = join(work, 'tokens.ndjson');
      writeFileSync(input, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
      const keysOut = join(work, 'keys.ndjson');
      const ran = await keygate(['token', 'import', input, '--as', 'ops@example.com', '--keys-out', keysOut], env);

      assert.equal(ran.code, 1, 'some lines were refused');
      assertNoKeyIn(ran, kg.config.keyPrefix);
      assert.match(ran.stdout, /imported 3 tokens from 10 lines .*; 6 refused; keys in /);
      const refusals = ran.stderr.split('\n').filter((l) => l.startsWith('line '));
      assert.deepEqual(
        refusals.map((l) => /^line (\d+): ([^:]+):/.exec(l)?.slice(1)),
        [
          ['2', '-'],
          ['3', 'name'],
          ['4', '-'],
          ['6', 'level'],
          ['8', 'colour'],
          ['10', 'resourceId'],
        ],
      );
      assert.match(refusals[0]!, /not valid JSON/);
      assert.match(refusals[2]!, /no such resource/);

      assert.equal(statSync(keysOut).mode & 0o777, 0o600);
      const keys = readKeys(keysOut);
      assert.deepEqual(
        keys.map((k) => k.line),
        [1, 5, 9],
      );
      for (const k of keys) {
        assert.match(k.id, /^tok_/);
        assert.ok(isWellFormedGeneratedKey(k.key, kg.config.keyPrefix));
      }

      // The keys work: each token answers /me as itself, and the verifier verifies the reader's key.
      for (const k of keys) {
        const me = await call(app, 'GET', '/api/v1.0/me', { key: k.key });
        assert.equal(me.status, 200);
        assert.equal(me.body.token.id, k.id);
      }
      const [reader, system, verifier] = keys;
      const verified = await call(app, 'POST', '/api/v1.0/verify', { key: verifier!.key, body: { key: reader!.key } });
      assert.equal(verified.status, 200);
      assert.equal(verified.body.valid, true);
      assert.equal(verified.body.token.id, reader!.id);
      const systemToken = await kg.tokens.get(admin, system!.id);
      assert.equal(systemToken.row.resource_id, null);
      assert.equal(systemToken.row.level, 'administrator');
      assert.equal(systemToken.row.owner_id, admin.kind === 'user' ? admin.user.id : '');

      // Each token has its own token.create record, and the account's webhook an event for each of its two.
      for (const k of keys) {
        const trail = await kg.stores.audit.forTarget('token', k.id);
        assert.deepEqual(
          trail.map((a) => a.action),
          ['token.create'],
        );
      }
      const deliveries = await kg.stores.db
        .selectFrom('webhook_deliveries')
        .select('payload')
        .where('event_type', '=', 'token.created')
        .execute();
      const told = deliveries.map((d) => (JSON.parse(d.payload) as { data: { token: { id: string } } }).data.token.id);
      assert.deepEqual(told.sort(), [reader!.id, verifier!.id].sort());
    });

    it('writes no token of a batch whose audit records cannot be written', async () => {
      const original = AuditStore.prototype.appendMany;
      AuditStore.prototype.appendMany = async () => {
        throw new Error('audit store unavailable');
      };
      try {
        await assert.rejects(
          kg.tokens.createMany(
            admin,
            [
              { resourceId: account, input: { name: 'unaudited 1' } },
              { resourceId: account, input: { name: 'unaudited 2' } },
            ],
            null,
          ),
          /audit store unavailable/,
        );
      } finally {
        AuditStore.prototype.appendMany = original;
      }
      const { views } = await kg.tokens.list(admin, { owner: '*', limit: 500 });
      assert.ok(!views.some((v) => v.row.name.startsWith('unaudited')), 'no token without its audit record');
    });

    it('still prints its summary, and keeps the committed batches and their keys, when a later batch fails', async () => {
      const input = join(work, 'fails.ndjson');
      writeFileSync(
        input,
        [1, 2, 3, 4].map((i) => JSON.stringify({ resourceId: account, name: `failing ${i}` })).join('\n'),
      );
      const keysOut = join(work, 'fails-keys.ndjson');
      const original = AuditStore.prototype.appendMany;
      let calls = 0;
      AuditStore.prototype.appendMany = function (rows) {
        if (++calls === 2) return Promise.reject(new Error('audit store unavailable'));
        return original.call(this, rows);
      };
      let ran: Ran;
      try {
        ran = await inProcess([
          'token',
          'import',
          input,
          '--as',
          'ops@example.com',
          '--keys-out',
          keysOut,
          '--batch-size',
          '2',
        ]);
      } finally {
        AuditStore.prototype.appendMany = original;
      }
      assert.equal(ran.code, 1);
      assert.match(ran.stdout, /imported 2 tokens from 4 lines .*stopped by the error below/);
      assert.match(ran.stderr, /audit store unavailable/);
      assert.deepEqual(
        readKeys(keysOut).map((k) => k.line),
        [1, 2],
      );
    });

    it('refuses to overwrite an existing keys file, and imports nothing then', async () => {
      const input = join(work, 'one.ndjson');
      writeFileSync(input, `${JSON.stringify({ resourceId: account, name: 'never made' })}\n`);
      const keysOut = join(work, 'existing.ndjson');
      writeFileSync(keysOut, 'keep me\n');
      // In process (the same program as the binary): a process start costs seconds on a busy machine.
      const ran = await inProcess(['token', 'import', input, '--as', 'ops@example.com', '--keys-out', keysOut]);
      assert.equal(ran.code, 1);
      assert.match(ran.stderr, /exists; the keys file is never overwritten/);
      assert.equal(readFileSync(keysOut, 'utf8'), 'keep me\n');
      const { views } = await kg.tokens.list(admin, { owner: '*', limit: 500 });
      assert.ok(!views.some((v) => v.row.name === 'never made'));
    });

    it('--strict reads stdin and writes nothing of a batch holding a refused line', async () => {
      const stdin = [
        JSON.stringify({ resourceId: account, name: 'strict one' }),
        JSON.stringify({ resourceId: account, name: 'strict two', level: 'nonsense' }),
        JSON.stringify({ resourceId: account, name: 'strict three' }),
      ].join('\n');
      const keysOut = join(work, 'strict.ndjson');
      const ran = await keygate(
        ['token', 'import', '-', '--as', 'ops@example.com', '--keys-out', keysOut, '--strict'],
        env,
        stdin,
      );
      assert.equal(ran.code, 1);
      assertNoKeyIn(ran, kg.config.keyPrefix);
      assert.match(ran.stderr, /^line 2: level: /m);
      assert.match(ran.stdout, /imported 0 tokens .*1 refused \(--strict: stopped at the first\)/);
      assert.deepEqual(readKeys(keysOut), []);
      const { views } = await kg.tokens.list(admin, { owner: '*', limit: 500 });
      assert.ok(!views.some((v) => v.row.name.startsWith('strict ')));

      // Without the bad line, the same input goes in whole, in batches of two (in process, from a file).
      const input = join(work, 'strict-good-input.ndjson');
      writeFileSync(
        input,
        [stdin.split('\n')[0], stdin.split('\n')[2], JSON.stringify({ resourceId: account, name: 'strict four' })].join(
          '\n',
        ),
      );
      const good = join(work, 'strict-good.ndjson');
      const again = await inProcess([
        'token',
        'import',
        input,
        '--as',
        'ops@example.com',
        '--keys-out',
        good,
        '--strict',
        '--batch-size',
        '2',
      ]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(
        readKeys(good).map((k) => k.line),
        [1, 2, 3],
      );
    });
  });
}
