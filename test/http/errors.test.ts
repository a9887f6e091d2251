import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODES, type ErrorCode } from '../../src/domain/errors.js';
import { generateKey, randomBase62 } from '../../src/domain/keys.js';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { listen, parseRaw, rawExchange } from '../support/wire.js';
import { PASSWORD, asUser, call, email, userWithSession, type Reply } from '../support/client.js';

/**
 * Every error code of the registry that a caller can reach over HTTP, each with its status, the
 * one envelope and (where a field is at fault) the field; then a property: no input, however
 * malformed, gets a 500 or an answer outside the envelope, and no answer echoes the presented key.
 */

const FORM = 'application/x-www-form-urlencoded';
const UPPER_SNAKE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

/** Codes seen by the tests below, over every dialect; checked against the registry at the end. */
const seen = new Set<string>();

/**
 * Codes no request can produce on purpose. Each needs a reason; a code that becomes reachable
 * should move into a test instead.
 */
const UNREACHABLE: Partial<Record<ErrorCode, string>> = {
  REQUEST_TIMEOUT: "needs a client that stalls past Node's request timeout: a test of it would depend on timing",
  INTERNAL: 'reaching it is a bug: the property test below asserts no input gets a 500',
};

/** Codes only the gateway's own app answers; the named suite reaches each over a real socket. */
const GATEWAY_ONLY: Partial<Record<ErrorCode, string>> = {
  UPSTREAM_UNAVAILABLE: 'test/gateway/proxy.test.ts: "answers 502 UPSTREAM_UNAVAILABLE when nothing listens"',
  UPSTREAM_TIMEOUT: 'test/gateway/proxy.test.ts: "answers 504 UPSTREAM_TIMEOUT when the upstream never answers"',
};

/** Asserts the envelope, the registry's status for the code, and the field when one is named. */
function expectError(reply: Reply, code: ErrorCode, field?: string): void {
  const status = ERROR_CODES[code].status;
  assert.equal(reply.status, status, `expected ${status} ${code}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  assert.match(String(reply.headers['content-type']), /^application\/json/);
  const error = reply.body?.error;
  assert.ok(error, `no error envelope: ${JSON.stringify(reply.body)}`);
  assert.equal(error.code, code, JSON.stringify(reply.body));
  assert.match(error.code, UPPER_SNAKE);
  assert.equal(typeof error.message, 'string');
  assert.ok(error.message.length > 0);
  assert.equal(typeof error.requestId, 'string');
  assert.equal(error.requestId, reply.headers['x-request-id'], 'the envelope carries the request id the header names');
  if (field !== undefined) assert.equal(error.field, field, `field of ${code}: ${JSON.stringify(reply.body)}`);
  assert.deepEqual(Object.keys(reply.body), ['error'], 'nothing beside the envelope');
  seen.add(code);
}

interface Fixture {
  admin: { id: string; email: string; cookie: string };
  user: { id: string; email: string; cookie: string };
  accountId: string;
  folderId: string;
  adminKey: string;
  adminTokenId: string;
}

async function setUp(env: TestEnv): Promise<Fixture> {
  const { app, kg } = env;
  const admin = await userWithSession(app, kg, 'admin');
  const user = await userWithSession(app, kg, 'user');
  const account = await call(app, 'POST', '/api/v1.0/resources', {
    cookie: admin.cookie,
    body: { type: 'account', name: 'Errors Ltd' },
  });
  assert.equal(account.status, 201, JSON.stringify(account.body));
  const folder = await call(app, 'POST', '/api/v1.0/resources', {
    cookie: admin.cookie,
    body: { type: 'folder', name: 'F', parentId: account.body.id },
  });
  assert.equal(folder.status, 201, JSON.stringify(folder.body));
  const token = await call(app, 'POST', `/api/v1.0/resources/${account.body.id}/tokens`, {
    cookie: admin.cookie,
    body: { name: 'admin-level', level: 'administrator' },
  });
  assert.equal(token.status, 201, JSON.stringify(token.body));
  return {
    admin,
    user,
    accountId: account.body.id,
    folderId: folder.body.id,
    adminKey: token.body.key,
    adminTokenId: token.body.id,
  };
}

forEachDialect('error codes over HTTP', (env) => {
  let f: Fixture;
  const tokens = (resourceId: string) => `/api/v1.0/resources/${resourceId}/tokens`;

  it('sets up', async () => {
    f = await setUp(env());
  });

  it('VALIDATION_FAILED (400) names the missing field', async () => {
    const { app } = env();
    expectError(
      await call(app, 'POST', '/api/v1.0/resources', {
        cookie: f.admin.cookie,
        body: { type: 'folder', parentId: f.accountId },
      }),
      'VALIDATION_FAILED',
      'name',
    );
    expectError(
      await call(app, 'POST', tokens(f.accountId), { cookie: f.admin.cookie, body: { name: 'x', colour: 'red' } }),
      'VALIDATION_FAILED',
      'colour',
    );
    expectError(
      await call(app, 'POST', tokens(f.accountId), { cookie: f.admin.cookie, body: { name: 'x', expiresIn: '5d' } }),
      'VALIDATION_FAILED',
      'expiresIn',
    );
    expectError(
      await call(app, 'POST', tokens(f.accountId), {
        cookie: f.admin.cookie,
        body: { name: 'x', level: 'reader', permissions: ['resources:read'] },
      }),
      'VALIDATION_FAILED',
      'permissions',
    );
  });

  it('MALFORMED_BODY (400) for JSON that does not parse', async () => {
    const r = await call(env().app, 'POST', '/api/v1.0/resources', {
      cookie: f.admin.cookie,
      headers: { 'content-type': 'application/json' },
      payload: '{"type": "folder", "name": ',
    });
    expectError(r, 'MALFORMED_BODY');
  });

  it('UNSUPPORTED_MEDIA_TYPE (415) for an XML body', async () => {
    const r = await call(env().app, 'POST', '/api/v1.0/resources', {
      cookie: f.admin.cookie,
      headers: { 'content-type': 'text/xml' },
      payload: '<resource><type>folder</type></resource>',
    });
    expectError(r, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('AMBIGUOUS_CREDENTIALS (400) for two different keys', async () => {
    const other = generateKey('kg_');
    expectError(
      await call(env().app, 'GET', '/api/v1.0/me', { key: f.adminKey, headers: { authorization: `Bearer ${other}` } }),
      'AMBIGUOUS_CREDENTIALS',
    );
  });

  it('UNAUTHENTICATED (401) with no credentials at all', async () => {
    expectError(await call(env().app, 'GET', '/api/v1.0/me'), 'UNAUTHENTICATED');
    expectError(await call(env().app, 'GET', '/api/v1.0/me', { cookie: randomBase62(43) }), 'UNAUTHENTICATED');
  });

  it('INVALID_CREDENTIALS (401) for a wrong password, and the same for an unknown email', async () => {
    const { app } = env();
    expectError(
      await call(app, 'POST', '/api/v1.0/session', {
        body: { email: f.user.email, password: 'not the password at all' },
      }),
      'INVALID_CREDENTIALS',
    );
    expectError(
      await call(app, 'POST', '/api/v1.0/session', {
        body: { email: email('nobody'), password: 'not the password at all' },
      }),
      'INVALID_CREDENTIALS',
    );
  });

  it('RATE_LIMITED (429) with Retry-After for sign-ins after repeated failures', async () => {
    const { app, kg } = env();
    const address = email('guessed');
    await kg.users.create({ email: address, password: PASSWORD }, 'system');
    let last: Reply | undefined;
    for (let i = 0; i < 6; i++)
      last = await call(app, 'POST', '/api/v1.0/session', { body: { email: address, password: `guess ${i}` } });
    expectError(last!, 'RATE_LIMITED');
    assert.ok(Number(last!.headers['retry-after']) >= 1);
  });

  it('KEY_MALFORMED (401) for a key with a bad checksum or shape', async () => {
    const { app } = env();
    const good = generateKey('kg_');
    const last = good.at(-1) === 'A' ? 'B' : 'A';
    expectError(await call(app, 'GET', '/api/v1.0/me', { key: good.slice(0, -1) + last }), 'KEY_MALFORMED');
    expectError(await call(app, 'GET', '/api/v1.0/me', { key: 'kg_short' }), 'KEY_MALFORMED');
  });

  it('KEY_INVALID (401) for a well-formed key that was never issued', async () => {
    expectError(await call(env().app, 'GET', '/api/v1.0/me', { key: generateKey('kg_') }), 'KEY_INVALID');
  });

  it('KEY_EXPIRED (401) once the expiry has passed', async () => {
    const { app, kg } = env();
    const t = await call(app, 'POST', tokens(f.accountId), {
      cookie: f.admin.cookie,
      body: { name: 'soon', expiresIn: '30d' },
    });
    assert.equal(t.status, 201);
    assert.equal((await call(app, 'GET', '/api/v1.0/me', { key: t.body.key })).status, 200);
    await kg.stores.tokens.update(t.body.id, { expires_at: new Date(Date.now() - 60_000).toISOString() });
    kg.cache.invalidateToken(t.body.id);
    expectError(await call(app, 'GET', '/api/v1.0/me', { key: t.body.key }), 'KEY_EXPIRED');
  });

  it('KEY_DISABLED (401) for a deactivated token', async () => {
    const { app } = env();
    const t = await call(app, 'POST', tokens(f.accountId), { cookie: f.admin.cookie, body: { name: 'off' } });
    assert.equal(
      (await call(app, 'POST', `/api/v1.0/tokens/${t.body.id}/deactivate`, { cookie: f.admin.cookie })).status,
      200,
    );
    expectError(await call(app, 'GET', '/api/v1.0/me', { key: t.body.key }), 'KEY_DISABLED');
  });

  it("IP_NOT_ALLOWED (403) from outside a token's allowlist; USAGE_EXCEEDED (429) once its credits are spent", async () => {
    const { app } = env();
    const fenced = await call(app, 'POST', tokens(f.accountId), {
      cookie: f.admin.cookie,
      body: { name: 'fenced', ipAllowlist: ['203.0.113.0/24'] },
    });
    assert.equal(fenced.status, 201, JSON.stringify(fenced.body));
    expectError(await call(app, 'GET', '/api/v1.0/me', { key: fenced.body.key }), 'IP_NOT_ALLOWED');
    const counted = await call(app, 'POST', tokens(f.accountId), {
      cookie: f.admin.cookie,
      body: { name: 'counted', credits: { remaining: 0 } },
    });
    assert.equal(counted.status, 201, JSON.stringify(counted.body));
    expectError(await call(app, 'GET', '/api/v1.0/me', { key: counted.body.key }), 'USAGE_EXCEEDED');
  });

  it("API_GROUP_NOT_ALLOWED (403) for an endpoint outside the token's API groups", async () => {
    const { app } = env();
    const t = await call(app, 'POST', tokens(f.accountId), {
      cookie: f.admin.cookie,
      body: { name: 'tokens only', level: 'manager', apiGroups: ['tokens'] },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    expectError(
      await call(app, 'GET', `/api/v1.0/resources/${f.accountId}`, { key: t.body.key }),
      'API_GROUP_NOT_ALLOWED',
    );
    assert.equal(
      (await call(app, 'GET', `${tokens(f.accountId)}`, { key: t.body.key })).status,
      200,
      'its own group works',
    );
  });

  it('FORBIDDEN (403) for a person who is not an administrator creating a user', async () => {
    expectError(
      await call(env().app, 'POST', '/api/v1.0/users', { cookie: f.user.cookie, body: { email: email('new') } }),
      'FORBIDDEN',
    );
  });

  it('CSRF_FAILED (403) for a change made with the session cookie but without its CSRF token', async () => {
    expectError(
      await call(env().app, 'PATCH', `/api/v1.0/users/${f.user.id}`, {
        cookie: f.user.cookie,
        headers: { 'x-csrf-token': 'forged' },
        body: { name: 'x' },
      }),
      'CSRF_FAILED',
    );
  });

  it("CURRENT_PASSWORD_INVALID (403) for changing one's own password without the current one", async () => {
    expectError(
      await call(env().app, 'PATCH', `/api/v1.0/users/${f.user.id}`, {
        cookie: f.user.cookie,
        body: { password: 'a new password, long enough' },
      }),
      'CURRENT_PASSWORD_INVALID',
      'currentPassword',
    );
  });

  it('INSUFFICIENT_PERMISSIONS (403) for a reader renaming a resource', async () => {
    const { app } = env();
    assert.equal(
      (
        await call(app, 'PUT', `/api/v1.0/resources/${f.accountId}/members/${f.user.id}`, {
          cookie: f.admin.cookie,
          body: { role: 'reader' },
        })
      ).status,
      200,
    );
    expectError(
      await call(app, 'PATCH', `/api/v1.0/resources/${f.folderId}`, {
        cookie: f.user.cookie,
        body: { name: 'Renamed' },
      }),
      'INSUFFICIENT_PERMISSIONS',
    );
  });

  it('PERMISSION_ESCALATION (403) for a reader minting a manager-level token', async () => {
    const r = await call(env().app, 'POST', tokens(f.folderId), {
      cookie: f.user.cookie,
      body: { name: 'too much', level: 'manager' },
    });
    expectError(r, 'PERMISSION_ESCALATION', 'level');
    const r2 = await call(env().app, 'POST', tokens(f.folderId), {
      cookie: f.user.cookie,
      body: { name: 'too much', permissions: ['resources:read', 'tokens:manage'] },
    });
    expectError(r2, 'PERMISSION_ESCALATION', 'permissions');
  });

  it('ROLE_ESCALATION (403) for a token with members:manage giving a role beyond its own rights', async () => {
    const { app } = env();
    const t = await call(app, 'POST', tokens(f.accountId), {
      cookie: f.admin.cookie,
      body: { name: 'member manager', permissions: ['resources:read', 'members:read', 'members:manage'] },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const other = await userWithSession(app, env().kg);
    expectError(
      await call(app, 'PUT', `/api/v1.0/resources/${f.folderId}/members/${other.id}`, {
        key: t.body.key,
        body: { role: 'administrator' },
      }),
      'ROLE_ESCALATION',
      'role',
    );
  });

  it("NOT_FOUND (404), the same for a resource that does not exist and one outside the caller's reach", async () => {
    const { app } = env();
    const stranger = await userWithSession(app, env().kg);
    const missing = await call(app, 'GET', '/api/v1.0/resources/res_doesnotexist', { cookie: stranger.cookie });
    const hidden = await call(app, 'GET', `/api/v1.0/resources/${f.accountId}`, { cookie: stranger.cookie });
    expectError(missing, 'NOT_FOUND');
    expectError(hidden, 'NOT_FOUND');
    assert.equal(
      hidden.body.error.message,
      missing.body.error.message,
      'a hidden resource reads exactly as a missing one',
    );
    expectError(await call(app, 'GET', '/api/v1.0/tokens/tok_doesnotexist', { cookie: f.admin.cookie }), 'NOT_FOUND');
  });

  it('ROUTE_NOT_FOUND (404) for an endpoint that does not exist, without echoing the path', async () => {
    const secret = generateKey('kg_');
    const r = await call(env().app, 'GET', `/api/v1.0/no/such/${secret}`);
    expectError(r, 'ROUTE_NOT_FOUND');
    assert.ok(!JSON.stringify(r.body).includes(secret));
    expectError(await call(env().app, 'GET', '/nowhere'), 'ROUTE_NOT_FOUND');
  });

  it('EMAIL_TAKEN (409) for a second user with the same email (in any letter case)', async () => {
    const r = await call(env().app, 'POST', '/api/v1.0/users', {
      cookie: f.admin.cookie,
      body: { email: f.user.email.toUpperCase() },
    });
    expectError(r, 'EMAIL_TAKEN', 'email');
  });

  it('RESOURCE_NOT_EMPTY (409) for deleting a resource with children', async () => {
    expectError(
      await call(env().app, 'DELETE', `/api/v1.0/resources/${f.accountId}`, { cookie: f.admin.cookie }),
      'RESOURCE_NOT_EMPTY',
    );
  });

  it('KEY_TAKEN (409) for a chosen key that is already in use', async () => {
    const { app } = env();
    const chosen = `chosen-${randomBase62(32)}`;
    assert.equal(
      (await call(app, 'POST', tokens(f.accountId), { cookie: f.admin.cookie, body: { name: 'chosen', key: chosen } }))
        .status,
      201,
    );
    const r = await call(app, 'POST', tokens(f.accountId), {
      cookie: f.admin.cookie,
      body: { name: 'chosen again', key: chosen },
    });
    expectError(r, 'KEY_TAKEN', 'key');
    assert.ok(!JSON.stringify(r.body).includes(chosen), 'the refusal does not echo the key');
  });

  it('CUSTOM_KEY_INVALID (422) for a chosen key that is too short or uses the generated prefix', async () => {
    const { app } = env();
    expectError(
      await call(app, 'POST', tokens(f.accountId), {
        cookie: f.admin.cookie,
        body: { name: 'short', key: 'tooshort' },
      }),
      'CUSTOM_KEY_INVALID',
      'key',
    );
    expectError(
      await call(app, 'POST', tokens(f.accountId), {
        cookie: f.admin.cookie,
        body: { name: 'prefixed', key: `kg_${randomBase62(40)}` },
      }),
      'CUSTOM_KEY_INVALID',
      'key',
    );
  });

  it('CUSTOM_KEY_NOT_ALLOWED (422) for a person who is not an administrator choosing a key', async () => {
    const r = await call(env().app, 'POST', tokens(f.folderId), {
      cookie: f.user.cookie,
      body: { name: 'mine', key: `chosen-${randomBase62(32)}` },
    });
    expectError(r, 'CUSTOM_KEY_NOT_ALLOWED', 'key');
  });

  it('KEY_NOT_RECOVERABLE (404) for revealing a key when recoverable keys are off', async () => {
    const r = await call(env().app, 'GET', `/api/v1.0/tokens/${f.adminTokenId}/key`, { cookie: f.admin.cookie });
    expectError(r, 'KEY_NOT_RECOVERABLE');
  });

  it('INVALID_PARENT (422) for a type placed where the model does not allow it', async () => {
    const { app } = env();
    expectError(
      await call(app, 'POST', '/api/v1.0/resources', {
        cookie: f.admin.cookie,
        body: { type: 'building', name: 'Floating' },
      }),
      'INVALID_PARENT',
      'parentId',
    );
    expectError(
      await call(app, 'POST', '/api/v1.0/resources', {
        cookie: f.admin.cookie,
        body: { type: 'account', name: 'Nested', parentId: f.accountId },
      }),
      'INVALID_PARENT',
      'parentId',
    );
  });

  it('UNKNOWN_RESOURCE_TYPE (422)', async () => {
    const r = await call(env().app, 'POST', '/api/v1.0/resources', {
      cookie: f.admin.cookie,
      body: { type: 'planet', name: 'Mars', parentId: f.accountId },
    });
    expectError(r, 'UNKNOWN_RESOURCE_TYPE', 'type');
  });

  it('UNKNOWN_LEVEL (422) for a token level, and for a member role', async () => {
    const { app } = env();
    expectError(
      await call(app, 'POST', tokens(f.accountId), { cookie: f.admin.cookie, body: { name: 'x', level: 'overlord' } }),
      'UNKNOWN_LEVEL',
      'level',
    );
    expectError(
      await call(app, 'POST', tokens(f.accountId), { cookie: f.admin.cookie, body: { name: 'x', level: 'toString' } }),
      'UNKNOWN_LEVEL',
      'level',
    );
    expectError(
      await call(app, 'PUT', `/api/v1.0/resources/${f.accountId}/members/${f.user.id}`, {
        cookie: f.admin.cookie,
        body: { role: 'overlord' },
      }),
      'UNKNOWN_LEVEL',
      'role',
    );
  });

  it('UNKNOWN_PERMISSION (422)', async () => {
    const r = await call(env().app, 'POST', tokens(f.accountId), {
      cookie: f.admin.cookie,
      body: { name: 'x', permissions: ['resources:read', 'rockets:launch'] },
    });
    expectError(r, 'UNKNOWN_PERMISSION', 'permissions');
  });

  it('UNKNOWN_API_GROUP (422)', async () => {
    const r = await call(env().app, 'POST', tokens(f.accountId), {
      cookie: f.admin.cookie,
      body: { name: 'x', apiGroups: ['rockets'] },
    });
    expectError(r, 'UNKNOWN_API_GROUP', 'apiGroups');
  });

  it('UNKNOWN_USER (422) for a role given to nobody, and for impersonating nobody', async () => {
    const { app } = env();
    expectError(
      await call(app, 'PUT', `/api/v1.0/resources/${f.accountId}/members/${encodeURIComponent(email('ghost'))}`, {
        cookie: f.admin.cookie,
        body: { role: 'reader' },
      }),
      'UNKNOWN_USER',
      'userId',
    );
    expectError(
      await call(app, 'POST', tokens(f.accountId), {
        cookie: f.admin.cookie,
        body: { name: 'x', impersonate: email('ghost') },
      }),
      'UNKNOWN_USER',
      'impersonate',
    );
  });

  it('INVALID_EXPIRY (422) for an expiry in the past, or both expiresIn and expiresAt', async () => {
    const { app } = env();
    expectError(
      await call(app, 'POST', tokens(f.accountId), {
        cookie: f.admin.cookie,
        body: { name: 'x', expiresAt: '2001-01-01T00:00:00Z' },
      }),
      'INVALID_EXPIRY',
      'expiresAt',
    );
    const future = new Date(Date.now() + 86_400_000).toISOString();
    expectError(
      await call(app, 'POST', tokens(f.accountId), {
        cookie: f.admin.cookie,
        body: { name: 'x', expiresIn: '30d', expiresAt: future },
      }),
      'INVALID_EXPIRY',
    );
  });

  it('UNAVAILABLE (503) from /health when the database does not answer', async () => {
    const { app, kg } = env();
    const ping = kg.ping;
    kg.ping = async () => {
      throw new Error('database down');
    };
    try {
      expectError(await call(app, 'GET', '/health'), 'UNAVAILABLE');
    } finally {
      kg.ping = ping;
    }
    assert.equal((await call(app, 'GET', '/health')).status, 200);
  });

  it('VALIDATION_FAILED (400), not a 500, for NUL characters or lone surrogates anywhere (PostgreSQL cannot store or compare NUL)', async () => {
    const { app } = env();
    const c = { cookie: f.admin.cookie };
    expectError(await call(app, 'GET', '/api/v1.0/resources/res_%00', c), 'VALIDATION_FAILED', 'id');
    expectError(await call(app, 'GET', '/api/v1.0/tokens?cursor=a%00', c), 'VALIDATION_FAILED', 'cursor');
    expectError(
      await call(app, 'POST', '/api/v1.0/resources', {
        ...c,
        body: { type: 'folder', name: 'a\u0000b', parentId: f.accountId },
      }),
      'VALIDATION_FAILED',
      'name',
    );
    expectError(
      await call(app, 'POST', tokens(f.accountId), { ...c, body: { name: 'ok', impersonate: 'x\u0000@example.com' } }),
      'VALIDATION_FAILED',
      'impersonate',
    );
    expectError(
      await call(app, 'PUT', `/api/v1.0/resources/${f.accountId}/members/x%00%40example.com`, {
        ...c,
        body: { role: 'reader' },
      }),
      'VALIDATION_FAILED',
      'userId',
    );
    expectError(
      await call(app, 'POST', '/api/v1.0/session', {
        body: { email: 'a\u0000@example.com', password: 'whatever it is' },
      }),
      'VALIDATION_FAILED',
      'email',
    );
    // Half a surrogate pair is not text either: it would be stored as replacement characters.
    expectError(
      await call(app, 'POST', '/api/v1.0/resources', {
        ...c,
        body: { type: 'folder', name: 'lone \uD800 half', parentId: f.accountId },
      }),
      'VALIDATION_FAILED',
      'name',
    );
    expectError(
      await call(app, 'PATCH', `/api/v1.0/resources/${f.folderId}`, { ...c, body: { name: 'x\uDC00' } }),
      'VALIDATION_FAILED',
      'name',
    );
    const emoji = await call(app, 'POST', '/api/v1.0/resources', {
      ...c,
      body: { type: 'folder', name: 'Bouw 🏗️ Zuid', parentId: f.accountId },
    });
    assert.equal(emoji.status, 201, 'whole surrogate pairs are fine');
    assert.equal((await call(app, 'GET', `/api/v1.0/resources/${emoji.body.id}`, c)).body.name, 'Bouw 🏗️ Zuid');
    // Authentication still comes first: a caller without credentials hears 401, not a validation error.
    expectError(await call(app, 'GET', '/api/v1.0/resources/res_%00'), 'UNAUTHENTICATED');
  });

  it("a URL that cannot be decoded gets the envelope, not the framework's own body (and does not echo the URL)", async () => {
    const { app } = env();
    const secret = generateKey('kg_');
    for (const url of ['/api/v1.0/resources/%zz', `/api/v1.0/resources/${secret}%`, '/api/v1.0/%E0%A4%A']) {
      const r = await call(app, 'GET', url, { cookie: f.admin.cookie });
      expectError(r, 'MALFORMED_URL');
      assert.ok(!JSON.stringify(r.body).includes(secret), 'the URL is not echoed');
    }
  });

  it("a path segment beyond the router's limit gets the envelope (URI_TOO_LONG), not the framework's own body", async () => {
    const secret = generateKey('kg_');
    const r = await call(env().app, 'GET', `/api/v1.0/resources/${secret}${'a'.repeat(600)}`, {
      cookie: f.admin.cookie,
    });
    expectError(r, 'URI_TOO_LONG');
    assert.ok(!JSON.stringify(r.body).includes(secret), 'the URL is not echoed');
  });

  /** The fuzzers' world: real ids to aim at, and sessions that are renewed when a request ends them. */
  async function fuzzWorld(): Promise<FuzzWorld> {
    const { app, kg } = env();
    const spare = await call(app, 'POST', tokens(f.accountId), {
      cookie: f.admin.cookie,
      body: { name: 'spare', level: 'reader' },
    });
    assert.equal(spare.status, 201, JSON.stringify(spare.body));
    // A child the fuzzer cannot name keeps the account (and the key attached to it) from being deleted.
    const anchor = await call(app, 'POST', '/api/v1.0/resources', {
      cookie: f.admin.cookie,
      body: { type: 'database', name: 'anchor', parentId: f.accountId },
    });
    assert.equal(anchor.status, 201, JSON.stringify(anchor.body));
    const world: FuzzWorld = {
      templates: await routeTemplates(app),
      reals: [f.accountId, f.folderId, f.user.id, f.user.email, spare.body.id],
      cookies: { admin: f.admin.cookie, user: f.user.cookie },
      key: f.adminKey,
      // A fuzzed request may sign out, change a password or deactivate someone: put things back.
      async restore() {
        for (const who of ['admin', 'user'] as const) {
          const person = f[who];
          if (
            (await kg.users.sessionUserId(world.cookies[who])) === person.id &&
            (await kg.cache.user(person.id))?.active
          )
            continue;
          await kg.users.update(person.id, { active: true, password: PASSWORD }, await asUser(kg, f.admin.id));
          const signIn = await call(app, 'POST', '/api/v1.0/session', {
            body: { email: person.email, password: PASSWORD },
          });
          assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
          world.cookies[who] = f[who].cookie = /keygate_session=([^;]+)/.exec(
            String(signIn.headers['set-cookie']),
          )![1]!;
        }
      },
    };
    return world;
  }

  it('METHOD_NOT_ALLOWED (405) with Allow for a known path and an unknown method', async () => {
    const res = await call(env().app, 'DELETE', '/api/v1.0/users', { cookie: f.admin.cookie });
    expectError(res, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers.allow, 'GET, HEAD, POST');
    const one = await call(env().app, 'PUT', `/api/v1.0/resources/${f.accountId}/tokens`);
    assert.equal(one.headers.allow, 'GET, HEAD, POST');
    expectError(await call(env().app, 'DELETE', '/api/v1.0/nowhere'), 'ROUTE_NOT_FOUND');
  });

  it("the docs' static files answer `..`, `%00` and the like with the envelope, not a 500", async () => {
    // Over a socket: inject would tidy `..` away before the server saw it.
    const port = await listen(env().app);
    for (const url of ['/docs/static/..', '/docs/static/%00', '/docs/static/%2e%2e/%2e%2e/package.json']) {
      const raw = parseRaw(await rawExchange(port, `GET ${url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
      expectError({ status: raw.status, headers: raw.headers, body: JSON.parse(raw.body) }, 'ROUTE_NOT_FOUND');
    }
  });

  it('requests Node cannot parse get the envelope over a real socket: MALFORMED_REQUEST (400), HEADERS_TOO_LARGE (431)', async () => {
    const port = (env().app.server.address() as AddressInfo).port;
    const cases: [string, ErrorCode][] = [
      ['GARBAGE\r\n\r\n', 'MALFORMED_REQUEST'],
      ['GET /health HTTP/1.1 extra\r\nHost: x\r\n\r\n', 'MALFORMED_REQUEST'],
      ['GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 'MALFORMED_REQUEST'],
      [
        'POST /api/v1.0/session HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        'MALFORMED_REQUEST',
      ],
      [`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 'HEADERS_TOO_LARGE'],
    ];
    for (const [bytes, code] of cases) {
      const raw = parseRaw(await rawExchange(port, bytes));
      assert.match(raw.headers['content-type'] ?? '', /^application\/json/, JSON.stringify(raw));
      expectError({ status: raw.status, headers: raw.headers, body: JSON.parse(raw.body) }, code);
    }
  });

  it('property: no input gets a 500, and every refusal is the envelope with a registry code', async () => {
    const { app } = env();
    const world = await fuzzWorld();
    await fc.assert(
      fc.asyncProperty(requestArbitrary(world), async (req) => {
        const res = await inject(app, req);
        await world.restore();
        checkResponse(req, res);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it('property: no answer holds the presented key, wherever it was sent (create/roll excepted)', async () => {
    const { app } = env();
    const world = await fuzzWorld();
    await fc.assert(
      fc.asyncProperty(requestArbitrary(world, true), async (req) => {
        const res = await inject(app, req);
        await world.restore();
        checkResponse(req, res);
        assert.ok(req.presentsKey);
        if (req.method === 'POST' && /\/(tokens|roll)$/.test(req.template)) return; // these answer with a (new) key
        const everything = res.body + JSON.stringify(res.headers);
        assert.ok(!everything.includes(f.adminKey), `the key is echoed by ${req.method} ${req.url}`);
        assert.ok(!everything.includes(f.adminKey.slice(-30)), `part of the key is echoed by ${req.method} ${req.url}`);
      }),
      { numRuns: Math.ceil(FUZZ_RUNS / 2) },
    );
  });
});

forEachDialect(
  'error codes that need server settings',
  (env) => {
    let admin: { id: string; cookie: string };
    let accountId: string;
    it('sets up one administrator', async () => {
      const { app, kg } = env();
      admin = await userWithSession(app, kg, 'admin');
      const account = await call(app, 'POST', '/api/v1.0/resources', {
        cookie: admin.cookie,
        body: { type: 'account', name: 'Policy' },
      });
      assert.equal(account.status, 201);
      accountId = account.body.id;
    });

    it('EXPIRY_TOO_LONG (422) beyond KEYGATE_MAX_TOKEN_LIFETIME', async () => {
      const { app } = env();
      const url = `/api/v1.0/resources/${accountId}/tokens`;
      expectError(
        await call(app, 'POST', url, { cookie: admin.cookie, body: { name: 'x', expiresIn: '1y' } }),
        'EXPIRY_TOO_LONG',
        'expiresIn',
      );
      expectError(
        await call(app, 'POST', url, { cookie: admin.cookie, body: { name: 'x', expiresIn: 'never' } }),
        'EXPIRY_TOO_LONG',
        'expiresIn',
      );
      const late = new Date(Date.now() + 91 * 86_400_000).toISOString();
      expectError(
        await call(app, 'POST', url, { cookie: admin.cookie, body: { name: 'x', expiresAt: late } }),
        'EXPIRY_TOO_LONG',
        'expiresAt',
      );
      const ok = await call(app, 'POST', url, { cookie: admin.cookie, body: { name: 'x', expiresIn: '90d' } });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
    });

    it('PAYLOAD_TOO_LARGE (413) beyond KEYGATE_BODY_LIMIT', async () => {
      const r = await call(env().app, 'POST', '/api/v1.0/resources', {
        cookie: admin.cookie,
        body: { type: 'folder', name: 'x'.repeat(4000), parentId: accountId },
      });
      expectError(r, 'PAYLOAD_TOO_LARGE');
    });

    it('QUERY_KEY_DISABLED (400) when query-string keys are off', async () => {
      expectError(await call(env().app, 'GET', `/api/v1.0/me?key=${generateKey('kg_')}`), 'QUERY_KEY_DISABLED');
    });

    it('CONFLICT (409) for deactivating the last administrator', async () => {
      expectError(
        await call(env().app, 'PATCH', `/api/v1.0/users/${admin.id}`, {
          cookie: admin.cookie,
          body: { active: false },
        }),
        'CONFLICT',
      );
    });
  },
  { KEYGATE_MAX_TOKEN_LIFETIME: '90d', KEYGATE_BODY_LIMIT: '2048', KEYGATE_ALLOW_QUERY_KEYS: 'false' },
);

describe('the error registry', () => {
  // Runs after every suite above (each dialect): a new code in the registry needs a test here.
  it('has a test reaching every code, except those listed as unreachable with a reason', () => {
    assert.ok(seen.size > 0, 'the suites above ran');
    const missing = Object.keys(ERROR_CODES).filter((c) => !seen.has(c) && !(c in UNREACHABLE) && !(c in GATEWAY_ONLY));
    assert.deepEqual(missing, [], `registry codes no test reaches: ${missing.join(', ')}`);
    for (const c of Object.keys(UNREACHABLE))
      assert.ok(!seen.has(c), `${c} is listed unreachable but a test reached it`);
  });
});

// ---------------------------------------------------------------------------------------------
// The property tests' request generator.

/** Runs per property and dialect (the leak property runs half as many); FUZZ_RUNS raises it for a long hunt. */
const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 100);

interface FuzzWorld {
  templates: { method: string; path: string }[];
  reals: string[];
  cookies: { admin: string; user: string };
  key: string;
  restore(): Promise<void>;
}

interface FuzzRequest {
  method: string;
  template: string;
  url: string;
  headers: Record<string, string>;
  payload: string | undefined;
  presentsKey: boolean;
}

/** Method and path template of every documented operation, plus the unversioned and unknown ones. */
async function routeTemplates(app: TestEnv['app']): Promise<{ method: string; path: string }[]> {
  const doc = (await app.inject({ method: 'GET', url: '/api/v1.0/openapi.json' })).json() as {
    paths: Record<string, Record<string, unknown>>;
  };
  const out: { method: string; path: string }[] = [];
  for (const [path, ops] of Object.entries(doc.paths))
    for (const method of Object.keys(ops)) out.push({ method: method.toUpperCase(), path });
  for (const path of [
    '/health',
    '/api/versions',
    '/api/changelog',
    '/api/changelog.atom',
    '/api/v1.0/openapi.json',
    '/docs',
    '/docs/json',
    '/api/v1.0/{id}',
    '/api/v2.0/me',
    '/',
  ]) {
    out.push({ method: 'GET', path });
  }
  assert.ok(out.length > 30);
  return out;
}

const HEADER_SAFE = /^[\t\x20-\x7e]*$/;
const headerText = (max = 60) => fc.string({ maxLength: max }).filter((s) => HEADER_SAFE.test(s));
/** Mostly nothing, sometimes a value. */
const sometimes = <T>(arb: fc.Arbitrary<T>, weight = 4) =>
  fc.oneof({ weight, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

/** Path segments: real ids, garbage, unicode, very long ones and raw % sequences. */
function segmentArbitrary(reals: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...reals).map(encodeURIComponent) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom('res_', 'tok_', 'usr_')
        .chain((p) => fc.stringMatching(/^[0-9A-Za-z]{0,70}$/).map((s) => p + s)),
    },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 40 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map(encodeURIComponent) },
    {
      weight: 1,
      arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 300, maxLength: 1200 }).map(encodeURIComponent),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '%',
        '%zz',
        '%00',
        '%E0%A4%A',
        '%2F',
        '%25',
        '..',
        '.',
        '%2e%2e',
        '%u0041',
        '%ff%fe',
        '%C0%AF',
        '%%',
        'a%20b',
        'res_%00',
        'a%00%40example.com',
        '%ED%A0%80',
      ),
    },
    { weight: 1, arbitrary: fc.stringMatching(/^[%0-9A-Fa-fxz]{1,12}$/) },
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  FORM,
  `${FORM}; charset=utf-8`,
  'text/plain',
  'text/xml',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/json; charset=latin1',
  '',
];

/** Field names the API knows (and a few that poison careless code), for bodies that get past parsing. */
const FIELDS = [
  'type',
  'name',
  'parentId',
  'level',
  'permissions',
  'apiGroups',
  'expiresIn',
  'expiresAt',
  'logging',
  'impersonate',
  'key',
  'API_Key',
  'role',
  'email',
  'password',
  'active',
  'systemRole',
  'graceSeconds',
  'resourceId',
  'permission',
  'apiGroup',
  'description',
  'owner',
  '__proto__',
  'constructor',
  'toString',
];
/** Values that make sense to some field, so requests reach the services, not just validation. */
const PLAUSIBLE: unknown[] = [
  'account',
  'folder',
  'building',
  'database',
  'reader',
  'manager',
  'administrator',
  'toString',
  'native',
  'tokens',
  'resources',
  'verify',
  '30d',
  '90d',
  '1y',
  'never',
  'none',
  'request',
  'request+response',
  'resources:read',
  'keys:verify',
  'tokens:manage',
  'admin',
  'user',
  true,
  false,
  0,
  3600,
  -1,
  null,
  ['resources:read'],
  ['native'],
  ['tokens', 'nope'],
  [],
  '2001-01-01T00:00:00Z',
  '2999-01-01T00:00:00Z',
  'not a date',
  'correct horse battery staple',
  'x',
  'nul\u0000inside',
  'half \uD83D pair',
  ['resources:read', 'a\u0000'],
  { nested: '\u0000' },
];

/** A sensible body per operation, which the generator then perturbs, so requests get past validation. */
function sampleBodies(reals: string[]): Record<string, Record<string, unknown>[]> {
  const [accountId, folderId, userId, userEmail] = reals;
  return {
    'POST /api/v1.0/session': [{ email: userEmail, password: PASSWORD }],
    'POST /api/v1.0/users': [
      { email: email('fuzz') },
      { email: email('fuzz'), systemRole: 'user', password: PASSWORD },
    ],
    'PATCH /api/v1.0/users/{id}': [{ name: 'Renamed' }, { active: true }],
    'POST /api/v1.0/resources': [
      { type: 'folder', name: 'fuzz', parentId: accountId },
      { type: 'building', name: 'fuzz', parentId: folderId },
    ],
    'PATCH /api/v1.0/resources/{id}': [{ name: 'fuzz' }],
    'PUT /api/v1.0/resources/{id}/members/{userId}': [{ role: 'reader' }, { role: 'administrator' }],
    'POST /api/v1.0/resources/{id}/tokens': [
      { name: 'fuzz' },
      { name: 'fuzz', level: 'manager', expiresIn: '30d', apiGroups: ['resources'] },
      { name: 'fuzz', permissions: ['resources:read'], impersonate: userId },
    ],
    'POST /api/v1.0/tokens': [{ name: 'fuzz', level: 'administrator' }],
    'PATCH /api/v1.0/tokens/{id}': [{ name: 'fuzz' }, { level: 'reader' }, { expiresIn: 'never' }, { active: true }],
    'POST /api/v1.0/tokens/{id}/roll': [{ graceSeconds: 60 }, {}],
    'POST /api/v1.0/verify': [
      { key: generateKey('kg_') },
      { key: generateKey('kg_'), resourceId: folderId, permission: 'resources:read', apiGroup: 'resources' },
    ],
  };
}

type Placement = 'x-api-key' | 'x-apikey' | 'bearer' | 'apiToken' | 'query:key' | 'query:apiToken' | 'form' | 'json';
const PLACEMENTS: Placement[] = [
  'x-api-key',
  'x-apikey',
  'bearer',
  'apiToken',
  'query:key',
  'query:apiToken',
  'form',
  'json',
];

type Credential =
  | { kind: 'none' }
  | { kind: 'cookie'; who: 'admin' | 'user' }
  | { kind: 'header'; name: string; value: string }
  | { kind: 'key'; at: Placement };

function requestArbitrary(world: FuzzWorld, alwaysKey = false): fc.Arbitrary<FuzzRequest> {
  const { templates, reals } = world;
  const segment = segmentArbitrary(reals);
  const route = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...templates) },
    {
      weight: 1,
      arbitrary: fc.record({
        method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
        path: fc.constantFrom(...templates.map((t) => t.path)),
      }),
    },
  );
  const value = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...PLAUSIBLE, ...reals) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  );
  const bodyObject = fc.dictionary(
    fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...FIELDS) },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
    ),
    value,
    { maxKeys: 5 },
  );
  const body = fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: bodyObject.map((v) => ({ kind: 'json' as const, value: v as unknown })) },
    {
      weight: 1,
      arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => ({ kind: 'json' as const, value: v as unknown })),
    },
    { weight: 2, arbitrary: bodyObject.map((v) => ({ kind: 'form' as const, value: v as unknown })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((v) => ({ kind: 'raw' as const, value: v as unknown })) },
  );
  const validKey = fc.constantFrom(...PLACEMENTS).map((at): Credential => ({ kind: 'key', at }));
  const credential: fc.Arbitrary<Credential> = alwaysKey
    ? validKey
    : fc.oneof(
        { weight: 1, arbitrary: fc.constant<Credential>({ kind: 'none' }) },
        {
          weight: 4,
          arbitrary: fc.constantFrom<Credential>({ kind: 'cookie', who: 'admin' }, { kind: 'cookie', who: 'user' }),
        },
        { weight: 4, arbitrary: validKey },
        {
          weight: 1,
          arbitrary: headerText(300).map((v): Credential => ({ kind: 'header', name: 'x-api-key', value: v })),
        },
        {
          weight: 1,
          arbitrary: fc
            .constantFrom('Bearer ', 'apiToken ', 'Basic ', '')
            .chain((s) =>
              headerText(60).map((v): Credential => ({ kind: 'header', name: 'authorization', value: s + v })),
            ),
        },
        { weight: 1, arbitrary: headerText(80).map((v): Credential => ({ kind: 'header', name: 'cookie', value: v })) },
      );
  const samples = sampleBodies(reals);
  return route
    .chain((r) => {
      const sample = samples[`${r.method} ${r.path}`];
      const routeBody = sample
        ? fc.oneof(
            {
              weight: 3,
              arbitrary: fc
                .tuple(
                  fc.constantFrom(...sample),
                  bodyObject.filter((o) => Object.keys(o).length <= 1),
                )
                .map(([a, b]) => ({ kind: 'json' as const, value: { ...a, ...b } as unknown })),
            },
            { weight: 2, arbitrary: body },
          )
        : body;
      return fc.record({ route: fc.constant(r), body: routeBody });
    })
    .chain(({ route, body }) =>
      fc.record({
        route: fc.constant(route),
        body: fc.constant(body),
        params: fc.array(segment, { minLength: 2, maxLength: 2 }),
        query: fc.dictionary(
          fc.oneof(
            fc.constantFrom('limit', 'cursor', 'owner', 'state', 'resourceId', 'expiresBefore'),
            fc.string({ maxLength: 8 }),
          ),
          fc.oneof(fc.constantFrom('1', '0', '*', 'active', '\u0000', ...reals), fc.string({ maxLength: 20 })),
          { maxKeys: 3 },
        ),
        rawQuery: sometimes(fc.constantFrom('%zz', 'a=%', '&&=', 'key[x]=1', 'limit=1&limit=2', '=%00')),
        contentType: sometimes(fc.oneof(fc.constantFrom(...CONTENT_TYPES), headerText(40))),
        credential,
        requestId: sometimes(headerText(140)),
        accept: sometimes(fc.constantFrom('application/atom+xml', 'text/html', '*/*', 'application/json')),
      }),
    )
    .map(({ route, params, query, rawQuery, contentType, body, credential, requestId, accept }) => {
      let i = 0;
      const path = route.path.replace(/\{[^}]+\}/g, () => params[i++ % params.length]!);
      const headers: Record<string, string> = {};
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) q.append(k, v);
      let payload: string | undefined;
      let bodyValue: unknown = body?.value;
      let kind = body?.kind;
      if (contentType !== undefined) headers['content-type'] = contentType;
      let presentsKey = false;
      if (credential.kind === 'cookie') headers.cookie = `keygate_session=${world.cookies[credential.who]}`;
      if (credential.kind === 'header') headers[credential.name] = credential.value;
      if (credential.kind === 'key') {
        presentsKey = true;
        const at = credential.at;
        if (at === 'x-api-key' || at === 'x-apikey') headers[at] = world.key;
        if (at === 'bearer') headers.authorization = `Bearer ${world.key}`;
        if (at === 'apiToken') headers.authorization = `apiToken ${world.key}`;
        if (at === 'query:key') q.set('key', world.key);
        if (at === 'query:apiToken') q.set('apiToken', world.key);
        if (at === 'form' || at === 'json') {
          const base =
            bodyValue !== null && typeof bodyValue === 'object' && !Array.isArray(bodyValue)
              ? (bodyValue as Record<string, unknown>)
              : {};
          kind = at;
          bodyValue = at === 'form' ? { ...base, key: world.key } : { ...base, API_Key: world.key };
          headers['content-type'] = at === 'form' ? FORM : 'application/json';
        }
      }
      if (kind === 'json') {
        payload = JSON.stringify(bodyValue);
        headers['content-type'] ??= 'application/json';
      } else if (kind === 'form') {
        const form = new URLSearchParams();
        for (const [k, v] of Object.entries(bodyValue as Record<string, unknown>))
          form.append(k, typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
        payload = form.toString();
        headers['content-type'] ??= FORM;
      } else if (kind === 'raw') {
        payload = String(bodyValue);
      }
      if (requestId !== undefined) headers['x-request-id'] = requestId;
      if (accept !== undefined) headers.accept = accept;
      const search = [q.toString(), rawQuery].filter(Boolean).join('&');
      const url = search ? `${path}?${search}` : path;
      return { method: route.method, template: route.path, url, headers, payload, presentsKey };
    });
}

async function inject(
  app: TestEnv['app'],
  req: FuzzRequest,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const options = {
    method: req.method as 'GET',
    url: req.url,
    headers: req.headers,
    ...(req.payload !== undefined && req.method !== 'GET' && req.method !== 'HEAD' ? { payload: req.payload } : {}),
  };
  // The event stream never ends on its own: its headers are checked, and the stream let go.
  if (req.template.endsWith('/events')) {
    const res = await app.inject({ ...options, payloadAsStream: true });
    const stream = res.stream();
    if (String(res.headers['content-type']).startsWith('text/event-stream')) {
      stream.destroy();
      return { status: res.statusCode, headers: res.headers, body: '' };
    }
    let body = '';
    for await (const chunk of stream) body += String(chunk);
    return { status: res.statusCode, headers: res.headers, body };
  }
  const res = await app.inject(options);
  return { status: res.statusCode, headers: res.headers, body: res.body };
}

function checkResponse(
  req: FuzzRequest,
  res: { status: number; headers: Record<string, unknown>; body: string },
): void {
  const what = `${req.method} ${req.url.slice(0, 200)} ${JSON.stringify(req.headers).slice(0, 300)} ${String(req.payload).slice(0, 200)} → ${res.status} ${res.body.slice(0, 300)}`;
  assert.ok(res.status < 500, `a 5xx: ${what}`);
  if (res.status < 400 || req.method === 'HEAD') return;
  assert.match(String(res.headers['content-type']), /^application\/json/, `a refusal that is not JSON: ${what}`);
  const body = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown; requestId?: unknown } };
  const code = body.error?.code;
  assert.equal(typeof code, 'string', `no envelope: ${what}`);
  assert.match(code as string, UPPER_SNAKE, what);
  assert.ok(Object.hasOwn(ERROR_CODES, code as string), `a code outside the registry: ${what}`);
  assert.equal(ERROR_CODES[code as ErrorCode].status, res.status, `status and code disagree: ${what}`);
  assert.equal(typeof body.error?.message, 'string', what);
  assert.equal(body.error?.requestId, res.headers['x-request-id'], what);
}
