import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { findKeys } from '../../src/domain/key-scan.js';
import { crc32, generateKey, isWellFormedGeneratedKey } from '../../src/domain/keys.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
// Resolved here, so that the CLI can run with a working directory outside the project (--staged).
const TSX = import.meta.resolve('tsx');

/** A generated key built from fast-check's random part, so failures shrink and replay. */
function keyFrom(prefix: string, random: string): string {
  let checksum = '';
  for (let v = crc32(random), i = 0; i < 6; i++, v = Math.floor(v / 62)) checksum = BASE62[v % 62] + checksum;
  return prefix + random + checksum;
}

const base62 = (length: number) =>
  fc.string({ unit: fc.constantFrom(...BASE62), minLength: length, maxLength: length });
const prefixes = fc.constantFrom('kg_', 'acme_', 'x1_');
/** Filler around keys: arbitrary text, and text rich in newlines, quotes and look-alike pieces. */
const filler = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom('a', 'Z', '0', ' ', '\n', '\r\n', '\t', '"', '=', '_', 'kg_', 'k'),
    maxLength: 30,
  }),
);

/** The 1-based line and column of a string index, computed the plain way. */
function position(text: string, index: number): { line: number; column: number } {
  const before = text.slice(0, index);
  return { line: before.split('\n').length, column: index - (before.lastIndexOf('\n') + 1) + 1 };
}

describe('findKeys', () => {
  it('finds every generated key embedded in random text, at its line and column', () => {
    fc.assert(
      fc.property(prefixes, fc.array(fc.tuple(filler, base62(30)), { maxLength: 5 }), filler, (prefix, parts, tail) => {
        let text = '';
        const expected: { line: number; column: number; prefix: string }[] = [];
        for (const [before, random] of parts) {
          text += before;
          const key = keyFrom(prefix, random);
          assert.ok(isWellFormedGeneratedKey(key, prefix));
          expected.push({ ...position(text, text.length), prefix: key.slice(0, prefix.length + 4) });
          text += key;
        }
        text += tail;
        assert.deepEqual(findKeys(text, prefix), expected);
      }),
    );
  });

  it('reports no random base62 string, nor a key with a wrong checksum', () => {
    fc.assert(
      fc.property(prefixes, base62(36), filler, filler, (prefix, random, before, after) => {
        fc.pre(!isWellFormedGeneratedKey(prefix + random, prefix));
        assert.deepEqual(findKeys(before + prefix + random + after, prefix), []);
      }),
    );
    fc.assert(
      fc.property(prefixes, base62(30), fc.nat(5), fc.constantFrom(...BASE62), (prefix, random, at, digit) => {
        const key = keyFrom(prefix, random);
        const i = key.length - 6 + at;
        fc.pre(key[i] !== digit);
        assert.deepEqual(findKeys(`token: ${key.slice(0, i)}${digit}${key.slice(i + 1)}\n`, prefix), []);
      }),
    );
  });

  it('finds a key glued to other text, and never returns more than its display prefix', () => {
    const key = generateKey('kg_');
    const finds = findKeys(`x\nAUTH=Bearer${key}trailing`, 'kg_');
    assert.deepEqual(finds, [{ line: 2, column: 12, prefix: key.slice(0, 7) }]);
    assert.ok(!JSON.stringify(finds).includes(key.slice(0, 12)));
    const nearMiss = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
    assert.deepEqual(findKeys(`${nearMiss} ${key}`, 'kg_'), [{ line: 1, column: 41, prefix: key.slice(0, 7) }]);
  });
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI; resolves with its exit code and output whatever the code. */
function cli(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, MAIN, 'scan', ...args],
      { cwd: options.cwd, env: { ...process.env, ...options.env }, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

describe('keygate scan (the real CLI)', () => {
  let root: string;
  const key = generateKey('kg_');
  const nearMiss = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
  const assertNoKey = (result: CliResult) => {
    assert.ok(!result.stdout.includes(key) && !result.stderr.includes(key), 'the whole key is never printed');
    // Not even most of it: only the display prefix (prefix + 4 characters).
    assert.ok(!result.stdout.includes(key.slice(0, 12)));
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'keygate-scan-'));
    mkdirSync(join(root, 'tree/src/deep'), { recursive: true });
    mkdirSync(join(root, 'tree/node_modules/pkg'), { recursive: true });
    mkdirSync(join(root, 'tree/.git'), { recursive: true });
    writeFileSync(join(root, 'tree/src/deep/config.ts'), `// settings\n\nexport const token =\n  "${key}";\n`);
    writeFileSync(join(root, 'tree/src/near-miss.env'), `KEYGATE_KEY=${nearMiss}\n`);
    writeFileSync(join(root, 'tree/src/image.bin'), Buffer.concat([Buffer.from([0x89, 0, 1]), Buffer.from(key)]));
    writeFileSync(join(root, 'tree/node_modules/pkg/index.js'), key);
    writeFileSync(join(root, 'tree/.git/config'), key);
    mkdirSync(join(root, 'clean'));
    writeFileSync(join(root, 'clean/readme.md'), `Keys look like kg_ followed by 36 characters: ${nearMiss}\n`);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('reports the key in a nested file by line, skipping binary files, near misses, .git and node_modules', async () => {
    const result = await cli([join(root, 'tree')]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, `${join(root, 'tree/src/deep/config.ts')}:4: ${key.slice(0, 7)}… (keygate key)\n`);
    assertNoKey(result);
  });

  it('prints JSON with --json', async () => {
    const result = await cli(['--json', join(root, 'tree'), join(root, 'clean')]);
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout), [
      { file: join(root, 'tree/src/deep/config.ts'), line: 4, column: 4, prefix: key.slice(0, 7) },
    ]);
    assertNoKey(result);
  });

  it('exits 0 when nothing is found, and 2 on a path it cannot read or without paths', async () => {
    const clean = await cli([join(root, 'clean')]);
    assert.deepEqual([clean.code, clean.stdout], [0, '']);
    assert.equal((await cli(['--json', join(root, 'clean')])).stdout.trim(), '[]');
    const missing = await cli([join(root, 'no-such-dir')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read .*no-such-dir: ENOENT/);
    assert.equal((await cli([])).code, 2);
  });

  it('uses KEYGATE_KEY_PREFIX or --prefix, and skips files over 10 MiB with a note', async () => {
    const dir = join(root, 'custom');
    mkdirSync(dir);
    const acme = generateKey('acme_');
    writeFileSync(join(dir, 'a.txt'), `${acme}\n`);
    writeFileSync(join(dir, 'big.log'), Buffer.alloc(10 * 1024 * 1024 + 1, 'x'));
    const byEnv = await cli([dir], { env: { KEYGATE_KEY_PREFIX: 'acme_' } });
    assert.equal(byEnv.code, 1);
    assert.equal(byEnv.stdout, `${join(dir, 'a.txt')}:1: ${acme.slice(0, 9)}… (keygate key)\n`);
    assert.match(byEnv.stderr, /skipped .*big\.log/);
    assert.equal((await cli(['--prefix', 'acme_', dir])).code, 1);
    assert.equal((await cli([dir])).code, 0, 'the default prefix kg_ finds nothing here');
    assert.equal((await cli(['--prefix', 'Not A Prefix', dir])).code, 2);
  });

  it('--staged scans what git would commit, not the working copy', async () => {
    const repo = join(root, 'repo');
    mkdirSync(join(repo, 'src'), { recursive: true });
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'pipe' });
    git('init', '-q');
    writeFileSync(join(repo, 'src/app.ts'), 'export const ok = 1;\n');
    git('add', '.');
    assert.deepEqual(await cli(['--staged'], { cwd: repo }), { code: 0, stdout: '', stderr: '' });

    // Staged with the key, then cleaned in the working copy only: the commit would still leak it.
    writeFileSync(join(repo, 'src/app.ts'), `export const ok = 1;\nconst k = '${key}';\n`);
    git('add', 'src/app.ts');
    writeFileSync(join(repo, 'src/app.ts'), 'export const ok = 1;\n');
    // Not staged: not part of the commit, so not reported.
    writeFileSync(join(repo, 'src/unstaged.ts'), key);
    const staged = await cli(['--staged'], { cwd: join(repo, 'src') });
    assert.equal(staged.code, 1, staged.stderr);
    assert.equal(staged.stdout, `src/app.ts:2: ${key.slice(0, 7)}… (keygate key)\n`);
    assertNoKey(staged);

    // A file moved and given a key in the same commit is a rename to git, and still scanned.
    git('reset', '-q');
    rmSync(join(repo, 'src/unstaged.ts'));
    writeFileSync(join(repo, 'src/settings.ts'), 'export const a = 1;\nexport const b = 2;\nexport const c = 3;\n');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'start');
    git('mv', 'src/settings.ts', 'src/moved.ts');
    writeFileSync(
      join(repo, 'src/moved.ts'),
      `export const a = 1;\nexport const b = 2;\nexport const c = 3;\n${key}\n`,
    );
    git('add', '.');
    assert.match(git('diff', '--cached', '--name-status').toString(), /^R\d+\tsrc\/settings.ts\tsrc\/moved.ts/m);
    const moved = await cli(['--staged'], { cwd: repo });
    assert.equal(moved.stdout, `src/moved.ts:4: ${key.slice(0, 7)}… (keygate key)\n`);

    assert.equal((await cli(['--staged', 'src'], { cwd: repo })).code, 2, 'paths and --staged do not mix');
    const outside = await cli(['--staged'], { cwd: join(root, 'clean') });
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /not a git repository/);
  });
});
