import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { Value } from 'typebox/value';
import { generateKey } from '../../src/domain/keys.js';
import { VerifyResponse } from '../../src/schemas.js';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { assertError, call, userWithSession, type Reply } from '../support/client.js';

/**
 * POST /api/v1.0/verify: another service asks about a key. The caller authenticates with its own
 * token holding keys:verify; the answer is a stable code and the token's facts, never the key or
 * its hash, and tokens outside the verifier's reach read as NOT_FOUND.
 */

const VERIFY = '/api/v1.0/verify';

interface Fixture {
  admin: { id: string; cookie: string };
  accountA: string;
  folder1: string;
  folder2: string;
  building1: string;
  accountB: string;
  verifierKey: string;
  verifierId: string;
}

/** Every string anywhere in a JSON value. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

/** Asserts an answer holds neither the key, nor part of it, nor its hash, nor anything shaped like a hash. */
function assertNoKeyMaterial(env: TestEnv, reply: Reply, key: string): void {
  const text = JSON.stringify(reply.body) + JSON.stringify(reply.headers);
  assert.ok(!text.includes(key), 'the key');
  assert.ok(!text.includes(key.slice(-30)), 'the random part of the key');
  assert.ok(!text.includes(env.kg.keys.hash(key)), 'the key hash');
  for (const s of strings(reply.body)) {
    assert.ok(!/hash|secret|encrypted/i.test(s) || s.length > 200, `a hash-like name: ${s}`);
    assert.ok(!/^[A-Za-z0-9_-]{40,}$/.test(s), `a hash-like value: ${s}`);
    assert.ok(!/^[0-9a-f]{64}$/i.test(s), `a hex digest: ${s}`);
  }
}

forEachDialect('POST /verify', (env) => {
  let f: Fixture;

  const mint = async (resourceId: string, body: Record<string, unknown>, cookie = f.admin.cookie) => {
    const r = await call(env().app, 'POST', `/api/v1.0/resources/${resourceId}/tokens`, {
      cookie,
      body: { name: 'token', ...body },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { id: string; key: string; ownerId: string };
  };
  const resource = async (type: string, name: string, parentId?: string) => {
    const r = await call(env().app, 'POST', '/api/v1.0/resources', {
      cookie: f.admin.cookie,
      body: { type, name, ...(parentId ? { parentId } : {}) },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  /** Asks as the verifier, and checks the answer never holds key material. */
  const verify = async (body: Record<string, unknown>, verifierKey = f.verifierKey) => {
    const r = await call(env().app, 'POST', VERIFY, { key: verifierKey, body });
    if (typeof body.key === 'string') assertNoKeyMaterial(env(), r, body.key);
    return r;
  };

  it('sets up two accounts, folders and a verifier token (administrator level, verify group only)', async () => {
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    f = { admin } as unknown as Fixture;
    f.accountA = await resource('account', 'A');
    f.folder1 = await resource('folder', 'F1', f.accountA);
    f.folder2 = await resource('folder', 'F2', f.accountA);
    f.building1 = await resource('building', 'B1', f.folder1);
    f.accountB = await resource('account', 'B');
    const verifier = await mint(f.accountA, { name: 'gateway', level: 'administrator', apiGroups: ['verify'] });
    f.verifierKey = verifier.key;
    f.verifierId = verifier.id;
  });

  it('refuses a session user, even an administrator: verifying needs a token with keys:verify', async () => {
    const target = await mint(f.folder1, { level: 'reader' });
    assertError(
      await call(env().app, 'POST', VERIFY, { cookie: f.admin.cookie, body: { key: target.key } }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
  });

  it('refuses a reader-level token (no keys:verify)', async () => {
    const reader = await mint(f.accountA, { level: 'reader' });
    const target = await mint(f.folder1, { level: 'reader' });
    assertError(
      await call(env().app, 'POST', VERIFY, { key: reader.key, body: { key: target.key } }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
  });

  it('refuses a token whose API groups do not include verify', async () => {
    const other = await mint(f.accountA, { level: 'administrator', apiGroups: ['tokens'] });
    const target = await mint(f.folder1, { level: 'reader' });
    assertError(
      await call(env().app, 'POST', VERIFY, { key: other.key, body: { key: target.key } }),
      403,
      'API_GROUP_NOT_ALLOWED',
    );
  });

  it("VALID: the token's id, name, owner, scope, permissions, groups and expiry", async () => {
    const target = await mint(f.folder1, {
      name: 'ci',
      level: 'reader',
      expiresIn: '30d',
      apiGroups: ['resources', 'tokens'],
    });
    const r = await verify({ key: target.key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.valid, true);
    assert.equal(r.body.code, 'VALID');
    assert.equal(r.body.token.id, target.id);
    assert.equal(r.body.token.name, 'ci');
    assert.equal(r.body.token.ownerId, f.admin.id);
    assert.equal(r.body.token.resourceId, f.folder1);
    assert.deepEqual([...r.body.token.permissions].sort(), ['members:read', 'resources:read', 'tokens:create']);
    assert.deepEqual(r.body.token.apiGroups, ['resources', 'tokens']);
    assert.ok(Date.parse(r.body.token.expiresAt) > Date.now());
  });

  it("VALID inside the token's subtree, with a permission it holds, through a group it may call", async () => {
    const target = await mint(f.folder1, { level: 'manager', apiGroups: ['resources'] });
    const r = await verify({
      key: target.key,
      resourceId: f.building1,
      permission: 'resources:write',
      apiGroup: 'resources',
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.code, 'VALID');
    assert.equal(r.body.valid, true);
    assert.ok(r.body.token.permissions.includes('resources:write'));
  });

  it('VALID for a key presented in the other ways too (Bearer header, API_Key property)', async () => {
    const { app } = env();
    const target = await mint(f.folder1, { level: 'reader' });
    const bearer = await call(app, 'POST', VERIFY, {
      headers: { authorization: `Bearer ${f.verifierKey}` },
      body: { key: target.key },
    });
    assert.equal(bearer.body.code, 'VALID');
    const json = await call(app, 'POST', VERIFY, { body: { key: target.key, API_Key: f.verifierKey } });
    assert.equal(json.body.code, 'VALID');
  });

  it('MALFORMED for a key that is not in the key format, without a token', async () => {
    for (const key of ['kg_abc', 'not a key', `${generateKey('kg_').slice(0, -1)}!`]) {
      const r = await verify({ key });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { valid: false, code: 'MALFORMED' });
    }
  });

  it('NOT_FOUND for a well-formed key that was never issued', async () => {
    const r = await verify({ key: generateKey('kg_') });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { valid: false, code: 'NOT_FOUND' });
  });

  it("EXPIRED once the token's expiry has passed", async () => {
    const { kg } = env();
    const target = await mint(f.folder1, { level: 'reader', expiresIn: '30d' });
    assert.equal((await verify({ key: target.key })).body.code, 'VALID');
    await kg.stores.tokens.update(target.id, { expires_at: new Date(Date.now() - 1000).toISOString() });
    kg.cache.invalidateToken(target.id);
    const r = await verify({ key: target.key });
    assert.equal(r.body.valid, false);
    assert.equal(r.body.code, 'EXPIRED');
    assert.equal(r.body.token.id, target.id);
  });

  it('DISABLED for a deactivated token, VALID again once activated', async () => {
    const { app } = env();
    const target = await mint(f.folder1, { level: 'reader' });
    assert.equal(
      (await call(app, 'POST', `/api/v1.0/tokens/${target.id}/deactivate`, { cookie: f.admin.cookie })).status,
      200,
    );
    const r = await verify({ key: target.key });
    assert.equal(r.body.valid, false);
    assert.equal(r.body.code, 'DISABLED');
    assert.equal(
      (await call(app, 'POST', `/api/v1.0/tokens/${target.id}/activate`, { cookie: f.admin.cookie })).status,
      200,
    );
    assert.equal((await verify({ key: target.key })).body.code, 'VALID');
  });

  it("OWNER_DISABLED once the token's owner is deactivated", async () => {
    const { app, kg } = env();
    const owner = await userWithSession(app, kg);
    assert.equal(
      (
        await call(app, 'PUT', `/api/v1.0/resources/${f.folder1}/members/${owner.id}`, {
          cookie: f.admin.cookie,
          body: { role: 'manager' },
        })
      ).status,
      200,
    );
    const target = await mint(f.folder1, { level: 'reader' }, owner.cookie);
    assert.equal(target.ownerId, owner.id);
    assert.equal((await verify({ key: target.key })).body.code, 'VALID');
    const off = await call(app, 'PATCH', `/api/v1.0/users/${owner.id}`, {
      cookie: f.admin.cookie,
      body: { active: false },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const r = await verify({ key: target.key });
    assert.equal(r.body.valid, false);
    assert.equal(r.body.code, 'OWNER_DISABLED');
  });

  it('INSUFFICIENT_PERMISSIONS for a permission the token lacks', async () => {
    const target = await mint(f.folder1, { level: 'reader' });
    const r = await verify({ key: target.key, resourceId: f.folder1, permission: 'resources:write' });
    assert.equal(r.status, 200);
    assert.equal(r.body.valid, false);
    assert.equal(r.body.code, 'INSUFFICIENT_PERMISSIONS');
    assert.equal(r.body.token.id, target.id);
  });

  it("OUT_OF_SCOPE for a resource outside the token's subtree: a sibling, an ancestor, an unknown id", async () => {
    const target = await mint(f.folder1, { level: 'administrator' });
    for (const resourceId of [f.folder2, f.accountA, f.accountB, 'res_doesnotexist']) {
      const r = await verify({ key: target.key, resourceId, permission: 'resources:read' });
      assert.equal(r.status, 200);
      assert.equal(r.body.valid, false, resourceId);
      assert.equal(r.body.code, 'OUT_OF_SCOPE', resourceId);
    }
  });

  it('a system token (attached to no resource) is in scope everywhere that exists, and nowhere else', async () => {
    const { app } = env();
    const made = async (name: string, level: string) => {
      const r = await call(app, 'POST', '/api/v1.0/tokens', { cookie: f.admin.cookie, body: { name, level } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; key: string };
    };
    const systemVerifier = await made('system verifier', 'administrator');
    const target = await made('system target', 'reader');
    const there = await verify(
      { key: target.key, resourceId: f.building1, permission: 'resources:read' },
      systemVerifier.key,
    );
    assert.equal(there.body.code, 'VALID');
    assert.equal(there.body.token.resourceId, null);
    const nowhere = await verify(
      { key: target.key, resourceId: 'res_doesnotexist', permission: 'resources:read' },
      systemVerifier.key,
    );
    assert.equal(nowhere.body.code, 'OUT_OF_SCOPE');
    // A verifier attached to a resource cannot see system tokens at all.
    assert.deepEqual((await verify({ key: target.key })).body, { valid: false, code: 'NOT_FOUND' });
  });

  it('API_GROUP_NOT_ALLOWED for an API group the token may not call', async () => {
    const target = await mint(f.folder1, { level: 'reader', apiGroups: ['tokens'] });
    const r = await verify({ key: target.key, apiGroup: 'resources' });
    assert.equal(r.body.valid, false);
    assert.equal(r.body.code, 'API_GROUP_NOT_ALLOWED');
    assert.equal((await verify({ key: target.key, apiGroup: 'tokens' })).body.code, 'VALID');
  });

  it('refuses an unknown permission or API group in the question (422, with the field)', async () => {
    const target = await mint(f.folder1, { level: 'reader' });
    const p = await verify({ key: target.key, permission: 'rockets:launch' });
    assertError(p, 422, 'UNKNOWN_PERMISSION');
    assert.equal(p.body.error.field, 'permission');
    const g = await verify({ key: target.key, apiGroup: 'rockets' });
    assertError(g, 422, 'UNKNOWN_API_GROUP');
    assert.equal(g.body.error.field, 'apiGroup');
    const v = await verify({});
    assertError(v, 400, 'VALIDATION_FAILED');
    assert.equal(v.body.error.field, 'key');
  });

  it('answers NOT_FOUND, revealing nothing, for a valid token in another account', async () => {
    const elsewhere = await mint(f.accountB, { level: 'administrator' });
    const r = await verify({ key: elsewhere.key });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { valid: false, code: 'NOT_FOUND' }, 'the same answer as for a key that does not exist');
    const asked = await verify({ key: elsewhere.key, resourceId: f.accountB, permission: 'resources:read' });
    assert.deepEqual(asked.body, { valid: false, code: 'NOT_FOUND' });
  });

  it("answers NOT_FOUND for a token above the verifier's own resource", async () => {
    const low = await mint(f.folder1, { level: 'administrator', apiGroups: ['verify'] });
    const onAccount = await mint(f.accountA, { level: 'reader' });
    const inFolder = await mint(f.building1, { level: 'reader' });
    assert.deepEqual((await verify({ key: onAccount.key }, low.key)).body, { valid: false, code: 'NOT_FOUND' });
    assert.equal((await verify({ key: inFolder.key }, low.key)).body.code, 'VALID');
  });

  it('judges a rolled key: with grace 0 the old key is NOT_FOUND at once and the new one VALID', async () => {
    const { app } = env();
    const target = await mint(f.folder1, { level: 'reader' });
    assert.equal((await verify({ key: target.key })).body.code, 'VALID');
    const rolled = await call(app, 'POST', `/api/v1.0/tokens/${target.id}/roll`, {
      cookie: f.admin.cookie,
      body: { graceSeconds: 0 },
    });
    assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
    assert.deepEqual((await verify({ key: target.key })).body, { valid: false, code: 'NOT_FOUND' });
    const fresh = await verify({ key: rolled.body.key });
    assert.equal(fresh.body.code, 'VALID');
    assert.equal(fresh.body.token.id, target.id);
  });

  it('judges a rolled key with a grace period: the old key stays VALID until it ends', async () => {
    const { app } = env();
    const target = await mint(f.folder1, { level: 'reader' });
    const rolled = await call(app, 'POST', `/api/v1.0/tokens/${target.id}/roll`, {
      cookie: f.admin.cookie,
      body: { graceSeconds: 3600 },
    });
    assert.equal(rolled.status, 200);
    assert.equal((await verify({ key: target.key })).body.code, 'VALID');
    assert.equal((await verify({ key: rolled.body.key })).body.code, 'VALID');
  });

  it("judges a deleted token's key as NOT_FOUND", async () => {
    const { app } = env();
    const target = await mint(f.folder1, { level: 'reader' });
    assert.equal((await call(app, 'DELETE', `/api/v1.0/tokens/${target.id}`, { cookie: f.admin.cookie })).status, 204);
    assert.deepEqual((await verify({ key: target.key })).body, { valid: false, code: 'NOT_FOUND' });
  });

  it('answers over a real socket as JSON with a charset, valid under the contract, and follows a rename at once', async () => {
    const { app } = env();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const target = await mint(f.folder1, { name: 'before', level: 'reader' });
    const ask = async () => {
      const res = await fetch(`http://127.0.0.1:${port}${VERIFY}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': f.verifierKey },
        body: JSON.stringify({ key: target.key }),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      const body = (await res.json()) as { code: string; token: { name: string } };
      assert.ok(Value.Check(VerifyResponse, body), JSON.stringify(body));
      return body;
    };
    assert.equal((await ask()).token.name, 'before');
    assert.equal((await ask()).token.name, 'before', 'a warm answer');
    const renamed = await call(app, 'PATCH', `/api/v1.0/tokens/${target.id}`, {
      cookie: f.admin.cookie,
      body: { name: 'after' },
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal((await ask()).token.name, 'after');
  });

  it("never answers with the verifier's own key either", async () => {
    const r = await verify({ key: f.verifierKey });
    assert.equal(r.body.code, 'VALID');
    assert.equal(r.body.token.id, f.verifierId);
  });
});
