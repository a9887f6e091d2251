import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { Value } from 'typebox/value';
import { KeygateError } from '../../src/domain/errors.js';
import { generateKey } from '../../src/domain/keys.js';
import { VerifyResponse } from '../../src/schemas.js';
import { Access } from '../../src/services/access.js';
import { MISS, type AccessCache } from '../../src/services/access-cache.js';
import type { Principal } from '../../src/services/principal.js';
import type { VerifyQuestion } from '../../src/services/verify.js';
import { asUser } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

/**
 * The verify use case as a service (kg.verify), so the HTTP route, CLI, console and gateway share
 * one visibility rule and one answer: a verifier sees only tokens where it holds keys:verify
 * itself, everything else reads as NOT_FOUND.
 */
forEachDialect('VerifyService', (env) => {
  let admin: Principal;
  let accountA: string;
  let folder1: string;
  let accountB: string;
  /** A token holding keys:verify and nothing else, on account A. */
  let verifier: Principal;
  let verifierOnFolder: Principal;

  const mint = async (resourceId: string, body: Record<string, unknown>) =>
    env().kg.tokens.create(admin, resourceId, { name: 'token', ...body }, null);
  const principalOf = async (key: string): Promise<Principal> => {
    const v = await env().kg.access.evaluateKey(key);
    assert.ok('principal' in v, v.code);
    return v.principal;
  };
  const verify = async (caller: Principal, q: VerifyQuestion) => env().kg.verify.verify(caller, q);
  const verifyJson = async (caller: Principal, q: VerifyQuestion) => env().kg.verify.verifyJson(caller, q);

  it('sets up two accounts, a folder and keys:verify-only verifiers', async () => {
    const { kg } = env();
    const user = await kg.users.create({ email: 'verify-admin@example.com', systemRole: 'admin' }, 'system');
    admin = await asUser(kg, user.id);
    accountA = (await kg.resources.create(admin, { type: 'account', name: 'A' }, null)).id;
    folder1 = (await kg.resources.create(admin, { type: 'folder', name: 'F1', parentId: accountA }, null)).id;
    accountB = (await kg.resources.create(admin, { type: 'account', name: 'B' }, null)).id;
    const only = { permissions: ['keys:verify'], apiGroups: ['verify'] };
    verifier = await principalOf((await mint(accountA, only)).key);
    verifierOnFolder = await principalOf((await mint(folder1, only)).key);
  });

  it('answers VALID with the contract fields for a token in its reach', async () => {
    const target = await mint(folder1, { name: 'ci', level: 'reader' });
    const answer = await verify(verifier, { key: target.key });
    assert.equal(answer.valid, true);
    assert.equal(answer.code, 'VALID');
    assert.equal(answer.token?.id, target.view.row.id);
    assert.equal(answer.token?.name, 'ci');
    assert.equal(answer.token?.resourceId, folder1);
    assert.ok(Value.Check(VerifyResponse, answer));
  });

  it('answers NOT_FOUND, like a key never issued, for tokens where it lacks keys:verify', async () => {
    const elsewhere = await mint(accountB, { level: 'administrator' });
    const above = await mint(accountA, { level: 'reader' });
    const never = { valid: false, code: 'NOT_FOUND' };
    assert.deepEqual(await verify(verifier, { key: generateKey('kg_') }), never);
    assert.deepEqual(await verify(verifier, { key: elsewhere.key }), never);
    assert.deepEqual(
      await verify(verifier, { key: elsewhere.key, resourceId: accountB, permission: 'resources:read' }),
      never,
    );
    assert.deepEqual(await verify(verifierOnFolder, { key: above.key }), never, 'a token above the verifier');
    assert.equal((await verify(verifier, { key: above.key })).code, 'VALID');
  });

  it('refuses a user, and a token without keys:verify, before judging the key', async () => {
    const reader = await principalOf((await mint(accountA, { level: 'reader' })).key);
    const target = await mint(folder1, { level: 'reader' });
    for (const caller of [admin, reader]) {
      assert.throws(
        () => env().kg.verify.verify(caller, { key: target.key }),
        (err: unknown) => err instanceof KeygateError && err.code === 'INSUFFICIENT_PERMISSIONS',
      );
    }
  });

  it('refuses an unknown permission or API group in the question, naming the field', () => {
    const key = generateKey('kg_');
    for (const [q, code, field] of [
      [{ key, permission: 'rockets:launch' }, 'UNKNOWN_PERMISSION', 'permission'],
      [{ key, apiGroup: 'rockets' }, 'UNKNOWN_API_GROUP', 'apiGroup'],
    ] as const) {
      assert.throws(
        () => env().kg.verify.verify(verifier, q),
        (err: unknown) => err instanceof KeygateError && err.code === code && err.field === field,
      );
    }
  });

  it('answers as JSON text the very answer verify gives, valid under the contract, for every kind of code', async () => {
    const { kg } = env();
    const valid = await mint(folder1, { level: 'reader', expiresIn: '30d' });
    const off = await mint(folder1, { level: 'reader' });
    const grouped = await mint(folder1, { level: 'reader', apiGroups: ['tokens'] });
    await kg.tokens.setActive(admin, off.view.row.id, false, null);
    const questions: VerifyQuestion[] = [
      { key: valid.key },
      { key: valid.key, resourceId: folder1, permission: 'resources:write' },
      { key: valid.key, resourceId: accountB, permission: 'resources:read' },
      { key: grouped.key, apiGroup: 'resources' },
      { key: off.key },
      { key: 'not a key' },
      { key: generateKey('kg_') },
    ];
    const codes = new Set<string>();
    for (const q of questions) {
      const text = await verifyJson(verifier, q);
      const parsed = JSON.parse(text) as unknown;
      assert.deepEqual(parsed, await verify(verifier, q));
      assert.ok(Value.Check(VerifyResponse, parsed), text);
      codes.add((parsed as { code: string }).code);
    }
    assert.deepEqual([...codes].sort(), [
      'API_GROUP_NOT_ALLOWED',
      'DISABLED',
      'INSUFFICIENT_PERMISSIONS',
      'MALFORMED',
      'NOT_FOUND',
      'OUT_OF_SCOPE',
      'VALID',
    ]);
  });

  it('answers a warm question without a promise, and never serves a remembered answer after a change', async () => {
    const { kg } = env();
    const target = await mint(folder1, { name: 'before', level: 'reader' });
    await verifyJson(verifier, { key: target.key });
    const warm = kg.verify.verifyJson(verifier, { key: target.key });
    assert.equal(typeof warm, 'string', 'synchronous when cached');
    assert.equal((JSON.parse(warm as string) as { token: { name: string } }).token.name, 'before');
    await kg.tokens.update(admin, target.view.row.id, { name: 'after' }, null);
    const renamed = JSON.parse(await verifyJson(verifier, { key: target.key })) as { token: { name: string } };
    assert.equal(renamed.token.name, 'after');
    await kg.tokens.setActive(admin, target.view.row.id, false, null);
    assert.equal(JSON.parse(await verifyJson(verifier, { key: target.key })).code, 'DISABLED');
  });

  it('refuses an in-memory key entry whose hash is not the presented one (a store that matched loosely)', async () => {
    const { kg } = env();
    const target = await mint(folder1, { level: 'reader' });
    assert.equal((await kg.access.evaluateKey(target.key)).code, 'VALID');
    // The cache as it would be if the store had matched the key's hash by a case-blind collation
    // and the entry were kept under the presented hash: the map hit alone must not accept it.
    const loose: AccessCache = Object.create(kg.cache);
    loose.peekKey = (hash: string) => {
      const entry = kg.cache.peekKey(hash);
      return entry === MISS || entry === null ? entry : { ...entry, hash: hash.toUpperCase() };
    };
    const access = new Access(kg.config.model, loose, kg.keys);
    assert.equal((await access.evaluateKey(target.key)).code, 'NOT_FOUND');
  });
});

it('keeps the key-format module free of node:crypto (the SDK runs it in browsers)', () => {
  const source = readFileSync(new URL('../../src/domain/keys.ts', import.meta.url), 'utf8');
  assert.doesNotMatch(source, /from ['"](node:)?crypto['"]/);
});
