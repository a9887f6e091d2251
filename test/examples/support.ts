import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isWellFormedGeneratedKey } from '../../src/domain/keys.js';
import { call, userWithSession } from '../support/client.js';
import { createTestEnv, type TestEnv } from '../support/harness.js';
import { recordOutput } from '../support/run-record.js';

/** How to run one example: a program and its arguments, from the repository's root. */
export interface Example {
  name: string;
  command: string;
  args: string[];
  /** Given: the example works under this existing account; otherwise it creates one. */
  givenAccount: boolean;
  /** Compiles or syntax-checks the example without running it (javac, py_compile, bash -n, tsc). */
  check?: { command: string; args: string[] };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program to its end without blocking the event loop (the keygate it calls lives in this
 * process). A program that cannot start (not installed) rejects: the test fails, it is not skipped.
 */
export function run(command: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', (err) => reject(new Error(`cannot run ${command} (is it installed?): ${err.message}`)));
    child.on('close', (code) => {
      recordOutput(`example-${basename(args.at(-1) ?? command)}`, stdout + stderr);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * The environment of an example: this process's, without any KEYGATE_ setting or NODE_OPTIONS (the
 * test runner's reporter options must not leak into a TypeScript example), plus the given settings.
 */
export function exampleEnv(settings: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('KEYGATE_') && name !== 'NODE_OPTIONS') env[name] = value;
  return { ...env, ...settings };
}

/** Where a key shows in `text`: one of the `known` keys, or any string of the generated key shape. */
export function keyIn(text: string, known: string[]): string | undefined {
  for (const key of known) if (text.includes(key)) return `a known key (${key.slice(0, 7)}...)`;
  for (const m of text.matchAll(/kg_[0-9A-Za-z]{36}/g))
    if (isWellFormedGeneratedKey(m[0], 'kg_')) return `a key (${m[0].slice(0, 7)}...)`;
  for (const m of text.matchAll(/kg_[0-9A-Za-z]{20,}/g)) return `something key-like (${m[0].slice(0, 7)}...)`;
  return undefined;
}

/** The lines every example prints, in order, with what they name. */
function readScenario(stdout: string, accountId: string | undefined) {
  const lines = stdout.trimEnd().split('\n');
  assert.equal(lines.length, 10, `ten lines, one a step:\n${stdout}`);
  const match = (i: number, pattern: RegExp) => {
    const m = pattern.exec(lines[i] ?? '');
    assert.ok(m, `line ${i + 1} ${JSON.stringify(lines[i])} should match ${pattern}`);
    return m;
  };
  let account = accountId;
  if (account === undefined) account = match(0, /^account: (res_\w+) "Example account" \(created\)$/)[1]!;
  else match(0, new RegExp(`^account: ${account} \\(given\\)$`));
  const folder = match(1, new RegExp(`^folder: (res_\\w+) "Example folder" in ${account}$`))[1]!;
  const [, folderToken, folderPrefix] = match(
    2,
    /^folder token: (tok_\w+) (kg_\w{4})\.\.\. administrator on the folder$/,
  ) as unknown as [string, string, string];
  const building = match(3, /^building: (res_\w+) "Example building" in the folder \(as the folder token\)$/)[1]!;
  match(4, new RegExp(`^children: ${building} building "Example building"$`));
  const [, readerToken, readerPrefix] = match(
    5,
    /^reader token: (tok_\w+) (kg_\w{4})\.\.\. reader on the folder \(as the folder token\)$/,
  ) as unknown as [string, string, string];
  const listed = match(6, /^tokens on the folder: (.*)$/)[1]!
    .split(', ')
    .sort();
  assert.deepEqual(listed, [`${folderToken} ${folderPrefix}...`, `${readerToken} ${readerPrefix}...`].sort());
  assert.equal(lines[7], 'verify: reader key, resources:read on the folder -> VALID');
  assert.equal(lines[8], 'verify: reader key, resources:write on the folder -> INSUFFICIENT_PERMISSIONS');
  assert.equal(
    lines[9],
    'refused: a building in the account -> NOT_FOUND: There is no such resource, or it is outside your reach.',
  );
  return { account, folder, building, folderToken, readerToken };
}

/**
 * One suite per set of examples, against one live keygate (SQLite: the examples exercise clients, not
 * the store, and every request they make is covered per dialect by the HTTP suites).
 */
export function exampleSuite(title: string, examples: Example[]): void {
  describe(title, () => {
    let current: (TestEnv & { dispose(): Promise<void> }) | undefined;
    const env = () => current ?? assert.fail('test env not ready');
    let url = '';
    let adminKey = '';
    let adminTokenId = '';
    let givenAccountId = '';

    before(async () => {
      current = await createTestEnv(undefined);
      const { app, kg } = current;
      await app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const admin = await userWithSession(app, kg, 'admin');
      const token = await call(app, 'POST', '/api/v1.0/tokens', {
        cookie: admin.cookie,
        body: { name: 'examples administrator', level: 'administrator' },
      });
      assert.equal(token.status, 201, JSON.stringify(token.body));
      adminKey = token.body.key;
      adminTokenId = token.body.id;
      const account = await call(app, 'POST', '/api/v1.0/resources', {
        key: adminKey,
        body: { type: 'account', name: 'Given account' },
      });
      assert.equal(account.status, 201, JSON.stringify(account.body));
      givenAccountId = account.body.id;
    });
    after(async () => {
      await current?.dispose();
    });

    for (const example of examples) {
      if (example.check) {
        const check = example.check;
        it(`${example.name}: compiles`, async () => {
          const result = await run(check.command, check.args, exampleEnv({}));
          assert.equal(result.code, 0, `${check.command} ${check.args.join(' ')}:\n${result.stdout}${result.stderr}`);
        });
      }

      it(`${example.name}: runs the scenario, shows the refusal from the error envelope, prints no key`, async () => {
        const settings: Record<string, string> = { KEYGATE_URL: url, KEYGATE_ADMIN_KEY: adminKey };
        if (example.givenAccount) settings.KEYGATE_ACCOUNT_ID = givenAccountId;
        const result = await run(example.command, example.args, exampleEnv(settings));
        assert.equal(result.code, 0, `exit code\n--- stdout\n${result.stdout}--- stderr\n${result.stderr}`);
        const leak = keyIn(result.stdout + result.stderr, [adminKey]);
        assert.equal(leak, undefined, `the output shows ${leak}`);
        const seen = readScenario(result.stdout, example.givenAccount ? givenAccountId : undefined);

        // What the example says it did, it did: the server agrees.
        const { app } = env();
        const asAdmin = { key: adminKey };
        const children = await call(app, 'GET', `/api/v1.0/resources/${seen.folder}/children`, asAdmin);
        assert.deepEqual(
          children.body.items.map((r: { id: string }) => r.id),
          [seen.building],
        );
        const tokens = await call(app, 'GET', `/api/v1.0/resources/${seen.folder}/tokens`, asAdmin);
        const byId = new Map(tokens.body.items.map((t: { id: string }) => [t.id, t]));
        assert.equal((byId.get(seen.folderToken) as { createdBy: string }).createdBy, adminTokenId);
        assert.equal((byId.get(seen.readerToken) as { createdBy: string }).createdBy, seen.folderToken);
        const inAccount = await call(app, 'GET', `/api/v1.0/resources/${seen.account}/children`, asAdmin);
        assert.ok(
          !inAccount.body.items.some((r: { name: string }) => r.name === 'Stray building'),
          'the refused building does not exist',
        );
      });

      for (const missing of ['KEYGATE_URL', 'KEYGATE_ADMIN_KEY']) {
        it(`${example.name}: without ${missing}, says so in one line and fails`, async () => {
          const settings: Record<string, string> = { KEYGATE_URL: url, KEYGATE_ADMIN_KEY: adminKey };
          delete settings[missing];
          const result = await run(example.command, example.args, exampleEnv(settings));
          assert.notEqual(result.code, 0);
          assert.equal(result.stdout, '', 'nothing done');
          assert.match(result.stderr, new RegExp(`^${missing} is not set: [^\\n]+\\n$`));
          assert.equal(keyIn(result.stderr, [adminKey]), undefined);
        });
      }
    }
  });
}
