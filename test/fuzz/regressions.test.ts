import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { clientErrorResponder } from '../../src/http/errors.js';
import { ERROR_CODES } from '../../src/domain/errors.js';
import { generateKey } from '../../src/domain/keys.js';
import { asUser, call, PASSWORD, userWithSession, type Reply } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';
import { noteSecret } from '../support/secret-scan.js';

/**
 * Requests the route fuzzer (routes.test.ts) found answered with a 5xx or outside the envelope,
 * each fixed in src/ and kept here as a fixed example, shrunk to what mattered.
 */

function assertEnvelope(reply: Reply, code: keyof typeof ERROR_CODES): void {
  assert.equal(reply.status, ERROR_CODES[code].status, JSON.stringify(reply.body));
  assert.equal(reply.body?.error?.code, code, JSON.stringify(reply.body));
  assert.ok(reply.body.error.message.length > 0);
}

forEachDialect('route fuzzer regressions', (env) => {
  it('a path segment beyond the router limit with a query parameter named __proto__, constructor or toString is 414 URI_TOO_LONG, not a 500', async () => {
    // The router refuses the URL before parsing the query, so the query was read by hand into a
    // plain object, where `__proto__` named Object.prototype and `push` was not a function.
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty'])
      assertEnvelope(
        await call(app, 'GET', `/api/v1.0/tokens/${'x'.repeat(501)}?${name}=1`, { cookie: admin.cookie }),
        'URI_TOO_LONG',
      );
  });

  it("a key or password inside a form field's name is redacted from a logging token's access-log capture", async () => {
    // JSON text sent as a form parses into one field whose name is the whole text: the capture
    // redacted values by field name and key shape, but kept names as they were, secrets and all.
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    const account = await kg.resources.create(await asUser(kg, admin.id), { type: 'account', name: 'Logged' }, null);
    const logged = await kg.tokens.create(
      await asUser(kg, admin.id),
      account.id,
      { name: 'logs everything', level: 'administrator', logging: 'request+response' },
      null,
    );
    noteSecret(logged.key);
    const stray = generateKey(kg.config.keyPrefix);
    for (const payload of [
      JSON.stringify({ key: logged.key, API_Key: stray }),
      JSON.stringify({ password: PASSWORD, currentPassword: PASSWORD }),
      `${stray}=`,
    ]) {
      const res = await call(app, 'PATCH', `/api/v1.0/users/${admin.id}`, {
        key: logged.key,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
      assert.ok(res.status >= 400 && res.status < 500, JSON.stringify(res.body));
      await kg.accessLog.flush();
      const rows = await kg.stores.db
        .selectFrom('access_log')
        .select('capture')
        .where('request_id', '=', String(res.headers['x-request-id']))
        .execute();
      assert.equal(rows.length, 1);
      const capture = String(rows[0]!.capture);
      assert.ok(capture.includes('[redacted]'), 'the capture kept the body, redacted');
      for (const secret of [logged.key, stray, PASSWORD])
        assert.ok(!capture.includes(secret), 'no secret in the capture');
    }
  });

  it("a refusal does not echo a field name that holds the caller's key (JSON text sent as a form; a name with NUL)", async () => {
    // The unknown field's name went into the error's message and `field` as sent, key and all.
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    const account = await kg.resources.create(await asUser(kg, admin.id), { type: 'account', name: 'Echo' }, null);
    const made = await kg.tokens.create(
      await asUser(kg, admin.id),
      account.id,
      { name: 'echo', level: 'administrator' },
      null,
    );
    noteSecret(made.key);
    const asForm = await call(app, 'PATCH', `/api/v1.0/users/${admin.id}`, {
      key: made.key,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: JSON.stringify({ API_Key: made.key }),
    });
    assertEnvelope(asForm, 'VALIDATION_FAILED');
    assert.equal(asForm.body.error.field, '(unnamed)');
    assert.ok(!JSON.stringify(asForm.body).includes(made.key), 'the key is not echoed');
    const withNul = await call(app, 'PATCH', `/api/v1.0/resources/${account.id}`, {
      key: made.key,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x', nested: { [`${made.key}\u0000`]: 1 } }),
    });
    assertEnvelope(withNul, 'VALIDATION_FAILED');
    assert.equal(withNul.body.error.field, 'nested.(unnamed)');
    assert.ok(!JSON.stringify(withNul.body).includes(made.key), 'the key is not echoed');
  });

  it('a refusal does not echo a key sent as a property name, though it is shaped like one (found by the run-wide secret scan)', async () => {
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    const generated = generateKey(kg.config.keyPrefix);
    noteSecret(generated);
    // A chosen key: letters, digits, 24 characters, no run of 20.
    const chosen = 'Prod_4f9a_Key_7c1d_2026';
    for (const name of [generated, chosen]) {
      const reply = await call(app, 'PATCH', `/api/v1.0/users/${admin.id}`, {
        cookie: admin.cookie,
        body: { [name]: 1 },
      });
      assertEnvelope(reply, 'VALIDATION_FAILED');
      assert.equal(reply.body.error.field, '(unnamed)');
      assert.ok(!JSON.stringify(reply.body).includes(name), 'the name is not echoed');
    }
    // The API's own names and a caller's plain typo are still named, which is what makes the answer useful.
    const typo = await call(app, 'PATCH', `/api/v1.0/users/${admin.id}`, { cookie: admin.cookie, body: { nmae: 'x' } });
    assert.equal(typo.body.error.field, 'nmae');
  });
});

describe('the answer to an unreadable request (regressions)', () => {
  /** A server whose every connection gets `serve`, and a client that reads until the server closes. */
  async function exchange(serve: (socket: Socket) => void): Promise<string> {
    const server = createServer(serve);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      return await new Promise<string>((resolve, reject) => {
        const client = connect(port, '127.0.0.1');
        let got = '';
        client.on('data', (c: Buffer) => {
          got += c.toString();
        });
        client.on('close', () => resolve(got));
        client.on('error', reject);
      });
    } finally {
      server.close();
    }
  }
  const respond = clientErrorResponder(() => 'req_test');
  const parseError = Object.assign(new Error('Parse Error: Invalid character in chunk size'), {
    code: 'HPE_INVALID_CHUNK_SIZE',
  });

  it('is the envelope, delivered before the connection closes', async () => {
    const got = await exchange((socket) => respond(parseError, socket));
    assert.match(got, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(got, /"code":"MALFORMED_REQUEST"/);
  });

  it('of a stream already answering (GET /events with a broken chunked body), is what the stream sent, not lost and not a second answer', async () => {
    // Found by the fuzzer: the stream's head was still queued when the parser failed, and destroying the
    // socket dropped it, so the client got nothing at all.
    const got = await exchange((socket) => {
      socket.cork();
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nretry: 1000\n\n');
      Object.assign(socket, { _httpMessage: { headersSent: true } });
      respond(parseError, socket);
    });
    assert.equal(got, 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\nretry: 1000\n\n');
  });
});
