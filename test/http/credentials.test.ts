import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { assertError, call, userWithSession, type Reply } from '../support/client.js';
import { listen, parseRaw, rawExchange } from '../support/wire.js';

/**
 * Every way of presenting a key, through the real app (routing, hooks, body parsers,
 * validation): each is read, none breaks the route's validation, and the edges (the wrong
 * content type, two keys, query keys switched off, key beside a session) behave as the issue says.
 */

const FORM = 'application/x-www-form-urlencoded';

interface Fixture {
  admin: { id: string; cookie: string };
  accountId: string;
  tokenId: string;
  key: string;
  otherKey: string;
}

async function setUp(env: TestEnv): Promise<Fixture> {
  const { app, kg } = env;
  const admin = await userWithSession(app, kg, 'admin');
  const account = await call(app, 'POST', '/api/v1.0/resources', {
    cookie: admin.cookie,
    body: { type: 'account', name: 'Credentials Inc' },
  });
  assert.equal(account.status, 201, JSON.stringify(account.body));
  const mint = async (name: string) => {
    const r = await call(app, 'POST', `/api/v1.0/resources/${account.body.id}/tokens`, {
      cookie: admin.cookie,
      body: { name, level: 'administrator' },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { id: string; key: string };
  };
  const main = await mint('main');
  const other = await mint('other');
  return { admin, accountId: account.body.id, tokenId: main.id, key: main.key, otherKey: other.key };
}

/** A raw form body, URL-encoded. */
function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

function assertTokenCaller(reply: Reply, tokenId: string): void {
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body.kind, 'token');
  assert.equal(reply.body.token.id, tokenId);
}

forEachDialect('presenting a key over HTTP', (env) => {
  let f: Fixture;
  it('sets up an account and two administrator-level tokens', async () => {
    f = await setUp(env());
  });

  it('repeated credential headers over a real socket: two different keys are refused, the same key twice accepted', async () => {
    const port = await listen(env().app);
    const me = async (...lines: string[]) => {
      const raw = parseRaw(
        await rawExchange(
          port,
          `GET /api/v1.0/me HTTP/1.1\r\nHost: x\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`,
        ),
      );
      return { status: raw.status, headers: raw.headers, body: JSON.parse(raw.body) } as Reply;
    };
    // Node keeps only the first Authorization line: the second key was never looked at.
    assertError(
      await me(`Authorization: Bearer ${f.key}`, `Authorization: Bearer ${f.otherKey}`),
      400,
      'AMBIGUOUS_CREDENTIALS',
    );
    // Node joins X-API-Key lines with ", ", which reads as one malformed key.
    assertError(await me(`X-API-Key: ${f.key}`, `X-API-Key: ${f.otherKey}`), 400, 'AMBIGUOUS_CREDENTIALS');
    assertError(await me(`X-ApiKey: ${f.key}`, `x-apikey: ${f.otherKey}`), 400, 'AMBIGUOUS_CREDENTIALS');
    assertTokenCaller(await me(`X-API-Key: ${f.key}`, `x-api-key: ${f.key}`), f.tokenId);
    assertTokenCaller(await me(`Authorization: Bearer ${f.key}`, `authorization: apiToken ${f.key}`), f.tokenId);
  });

  it('reads X-API-Key', async () => {
    assertTokenCaller(await call(env().app, 'GET', '/api/v1.0/me', { headers: { 'X-API-Key': f.key } }), f.tokenId);
  });

  it('reads X-ApiKey (BuildMaster)', async () => {
    assertTokenCaller(await call(env().app, 'GET', '/api/v1.0/me', { headers: { 'X-ApiKey': f.key } }), f.tokenId);
  });

  it('reads Authorization: apiToken <key>, in any letter case', async () => {
    const { app } = env();
    assertTokenCaller(
      await call(app, 'GET', '/api/v1.0/me', { headers: { authorization: `apiToken ${f.key}` } }),
      f.tokenId,
    );
    assertTokenCaller(
      await call(app, 'GET', '/api/v1.0/me', { headers: { authorization: `APITOKEN ${f.key}` } }),
      f.tokenId,
    );
  });

  it('reads Authorization: Bearer <key>, in any letter case', async () => {
    const { app } = env();
    assertTokenCaller(
      await call(app, 'GET', '/api/v1.0/me', { headers: { authorization: `Bearer ${f.key}` } }),
      f.tokenId,
    );
    assertTokenCaller(
      await call(app, 'GET', '/api/v1.0/me', { headers: { authorization: `bearer ${f.key}` } }),
      f.tokenId,
    );
  });

  it('leaves other Authorization schemes alone (Basic is not a key)', async () => {
    const basic = Buffer.from(`user:${f.key}`).toString('base64');
    assertError(
      await call(env().app, 'GET', '/api/v1.0/me', { headers: { authorization: `Basic ${basic}` } }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('reads the query parameter key', async () => {
    assertTokenCaller(await call(env().app, 'GET', `/api/v1.0/me?key=${encodeURIComponent(f.key)}`), f.tokenId);
  });

  it('reads the query parameter apiToken', async () => {
    assertTokenCaller(await call(env().app, 'GET', `/api/v1.0/me?apiToken=${encodeURIComponent(f.key)}`), f.tokenId);
  });

  it('consumes a query key before validation: a route whose query schema forbids unknown parameters still answers', async () => {
    const { app } = env();
    const list = await call(app, 'GET', `/api/v1.0/tokens?limit=5&key=${encodeURIComponent(f.key)}`);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.ok(Array.isArray(list.body.items));
    const children = await call(
      app,
      'GET',
      `/api/v1.0/resources/${f.accountId}/children?apiToken=${encodeURIComponent(f.key)}`,
    );
    assert.equal(children.status, 200, JSON.stringify(children.body));
    // Without a key, the same unknown parameter is a validation error: the strictness is real.
    assertError(
      await call(app, 'GET', '/api/v1.0/tokens?limit=5&colour=red', { cookie: f.admin.cookie }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('reads the form field key (application/x-www-form-urlencoded) and does not let it reach validation', async () => {
    const { app } = env();
    const r = await call(app, 'POST', '/api/v1.0/resources', {
      headers: { 'content-type': FORM },
      payload: form({ type: 'folder', name: 'Form folder', parentId: f.accountId, key: f.key }),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.type, 'folder');
    assert.equal(r.body.name, 'Form folder');
    assert.equal(r.body.parentId, f.accountId);
    // The form route's validation still applies to the remaining fields.
    assertError(
      await call(app, 'POST', '/api/v1.0/resources', {
        headers: { 'content-type': FORM },
        payload: form({ type: 'folder', parentId: f.accountId, key: f.key }),
      }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('reads the form field key with a charset parameter on the content type', async () => {
    const r = await call(env().app, 'POST', '/api/v1.0/resources', {
      headers: { 'content-type': `${FORM}; charset=utf-8` },
      payload: form({ type: 'folder', name: 'Charset folder', parentId: f.accountId, key: f.key }),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });

  it('reads the JSON root property API_Key (application/json) and does not let it reach validation', async () => {
    const { app } = env();
    const r = await call(app, 'POST', '/api/v1.0/resources', {
      body: { type: 'folder', name: 'JSON folder', parentId: f.accountId, API_Key: f.key },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.name, 'JSON folder');
    assert.equal(r.body.API_Key, undefined);
    // The verify route's body is strict too; API_Key is the caller's credential, key the key judged.
    const v = await call(app, 'POST', '/api/v1.0/verify', { body: { key: f.otherKey, API_Key: f.key } });
    assert.equal(v.status, 200, JSON.stringify(v.body));
    assert.equal(v.body.code, 'VALID');
  });

  it('does not take API_Key from a nested object', async () => {
    const r = await call(env().app, 'POST', '/api/v1.0/verify', {
      body: { key: f.otherKey, nested: { API_Key: f.key } } as unknown as object,
    });
    assertError(r, 401, 'UNAUTHENTICATED');
  });

  it('does not take a form field key sent as JSON: under application/json, key is just a body field', async () => {
    const { app } = env();
    assertError(
      await call(app, 'POST', '/api/v1.0/resources', {
        body: { type: 'folder', name: 'Nope', parentId: f.accountId, key: f.key },
      }),
      401,
      'UNAUTHENTICATED',
    );
    // Signed in, the same body is refused by validation: key is not a property of a resource.
    const signedIn = await call(app, 'POST', '/api/v1.0/resources', {
      cookie: f.admin.cookie,
      body: { type: 'folder', name: 'Nope', parentId: f.accountId, key: f.key },
    });
    assertError(signedIn, 400, 'VALIDATION_FAILED');
    assert.equal(signedIn.body.error.field, 'key');
  });

  it('does not take API_Key sent as a form field: under a form content type, API_Key is just a field', async () => {
    const r = await call(env().app, 'POST', '/api/v1.0/resources', {
      headers: { 'content-type': FORM },
      payload: form({ type: 'folder', name: 'Nope', parentId: f.accountId, API_Key: f.key }),
    });
    assertError(r, 401, 'UNAUTHENTICATED');
  });

  it('accepts the same key presented several ways', async () => {
    const { app } = env();
    assertTokenCaller(
      await call(app, 'GET', `/api/v1.0/me?key=${encodeURIComponent(f.key)}`, {
        headers: { 'x-api-key': f.key, authorization: `Bearer ${f.key}`, 'x-apikey': f.key },
      }),
      f.tokenId,
    );
    const r = await call(app, 'POST', '/api/v1.0/resources', {
      headers: { 'x-api-key': f.key },
      body: { type: 'folder', name: 'Twice', parentId: f.accountId, API_Key: f.key },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });

  it('refuses two different keys with 400 AMBIGUOUS_CREDENTIALS, whichever two places they are in', async () => {
    const { app } = env();
    assertError(
      await call(app, 'GET', '/api/v1.0/me', { headers: { 'x-api-key': f.key, 'x-apikey': f.otherKey } }),
      400,
      'AMBIGUOUS_CREDENTIALS',
    );
    assertError(
      await call(app, 'GET', '/api/v1.0/me', {
        headers: { 'x-api-key': f.key, authorization: `Bearer ${f.otherKey}` },
      }),
      400,
      'AMBIGUOUS_CREDENTIALS',
    );
    assertError(
      await call(app, 'GET', `/api/v1.0/me?apiToken=${encodeURIComponent(f.otherKey)}`, {
        headers: { authorization: `apiToken ${f.key}` },
      }),
      400,
      'AMBIGUOUS_CREDENTIALS',
    );
    assertError(
      await call(
        app,
        'GET',
        `/api/v1.0/me?key=${encodeURIComponent(f.key)}&apiToken=${encodeURIComponent(f.otherKey)}`,
      ),
      400,
      'AMBIGUOUS_CREDENTIALS',
    );
    assertError(
      await call(app, 'POST', '/api/v1.0/resources', {
        headers: { 'x-api-key': f.otherKey },
        body: { type: 'folder', name: 'Two', parentId: f.accountId, API_Key: f.key },
      }),
      400,
      'AMBIGUOUS_CREDENTIALS',
    );
    assertError(
      await call(app, 'POST', `/api/v1.0/resources?key=${encodeURIComponent(f.otherKey)}`, {
        headers: { 'content-type': FORM },
        payload: form({ type: 'folder', name: 'Two', parentId: f.accountId, key: f.key }),
      }),
      400,
      'AMBIGUOUS_CREDENTIALS',
    );
    // A good key beside a bad one is still two keys: neither is used.
    assertError(
      await call(app, 'GET', '/api/v1.0/me', { headers: { 'x-api-key': f.key, 'x-apikey': 'kg_not-a-key' } }),
      400,
      'AMBIGUOUS_CREDENTIALS',
    );
  });

  it('lets a key win over a session cookie', async () => {
    const { app } = env();
    const both = await call(app, 'GET', '/api/v1.0/me', { cookie: f.admin.cookie, key: f.key });
    assertTokenCaller(both, f.tokenId);
    const sessionOnly = await call(app, 'GET', '/api/v1.0/me', { cookie: f.admin.cookie });
    assert.equal(sessionOnly.body.kind, 'user');
    // A bad key is refused even beside a valid session: the session does not rescue it.
    assertError(
      await call(app, 'GET', '/api/v1.0/me', { cookie: f.admin.cookie, key: 'kg_not-a-key' }),
      401,
      'KEY_MALFORMED',
    );
  });

  it('records last use by coalesced writes: nothing per request, the time and address after a flush', async () => {
    const { app, kg } = env();
    const fresh = await call(app, 'POST', `/api/v1.0/resources/${f.accountId}/tokens`, {
      cookie: f.admin.cookie,
      body: { name: 'usage', level: 'reader' },
    });
    assert.equal(fresh.status, 201);
    assert.equal(fresh.body.lastUsedAt, null);
    for (let i = 0; i < 5; i++)
      assert.equal((await call(app, 'GET', '/api/v1.0/me', { key: fresh.body.key })).status, 200);
    // The access log's flush interval in tests is a minute: these uses are only in memory so far.
    const before = await call(app, 'GET', `/api/v1.0/tokens/${fresh.body.id}`, { cookie: f.admin.cookie });
    assert.equal(before.body.lastUsedAt, null, 'no database write on the request path');
    await kg.accessLog.flush();
    const after = await call(app, 'GET', `/api/v1.0/tokens/${fresh.body.id}`, { cookie: f.admin.cookie });
    assert.equal(after.status, 200);
    assert.notEqual(after.body.lastUsedAt, null);
    assert.ok(!Number.isNaN(Date.parse(after.body.lastUsedAt)));
    assert.equal(after.body.lastUsedIp, '127.0.0.1');
  });
});

forEachDialect(
  'presenting a key with query-string keys switched off',
  (env) => {
    let f: Fixture;
    it('sets up', async () => {
      f = await setUp(env());
    });

    it('refuses a query key with 400 QUERY_KEY_DISABLED, under either name', async () => {
      const { app } = env();
      assertError(await call(app, 'GET', `/api/v1.0/me?key=${encodeURIComponent(f.key)}`), 400, 'QUERY_KEY_DISABLED');
      assertError(
        await call(app, 'GET', `/api/v1.0/me?apiToken=${encodeURIComponent(f.key)}`),
        400,
        'QUERY_KEY_DISABLED',
      );
      // Even beside the same key in a header: the query key must not be sent at all.
      assertError(
        await call(app, 'GET', `/api/v1.0/me?key=${encodeURIComponent(f.key)}`, { key: f.key }),
        400,
        'QUERY_KEY_DISABLED',
      );
    });

    it('still reads the headers, the form field and the JSON property', async () => {
      const { app } = env();
      assertTokenCaller(await call(app, 'GET', '/api/v1.0/me', { key: f.key }), f.tokenId);
      assertTokenCaller(
        await call(app, 'GET', '/api/v1.0/me', { headers: { authorization: `Bearer ${f.key}` } }),
        f.tokenId,
      );
      const r = await call(app, 'POST', '/api/v1.0/resources', {
        headers: { 'content-type': FORM },
        payload: form({ type: 'folder', name: 'Form', parentId: f.accountId, key: f.key }),
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    });
  },
  { KEYGATE_ALLOW_QUERY_KEYS: 'false' },
);
