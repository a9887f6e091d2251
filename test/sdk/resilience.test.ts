import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ERROR_CODES } from '../../src/domain/errors.js';
import {
  createClient,
  ERROR_CLASSES,
  errorFromEnvelope,
  KeygateError,
  KeygateUnreachableError,
  KeyInvalidError,
  NotFoundError,
  UnavailableError,
  unwrap,
} from '../../sdk/src/index.js';
import { errorClassName } from '../../sdk/src/error-names.js';
import { bodyOf, listen } from './fakes.js';

/**
 * The client's plumbing against fake servers: typed errors for every registry code, retries with
 * back-off on 503 (any method) and on network errors (idempotent methods only), and the timeout.
 */

describe('SDK typed errors', () => {
  it('has one class per registry code, named after it, carrying its status', () => {
    assert.deepEqual(Object.keys(ERROR_CLASSES).sort(), Object.keys(ERROR_CODES).sort());
    for (const [code, { status, message }] of Object.entries(ERROR_CODES)) {
      const err = errorFromEnvelope(status, { error: { code, message, requestId: 'req_1' } });
      const Class = ERROR_CLASSES[code as keyof typeof ERROR_CLASSES];
      assert.ok(err instanceof Class, code);
      assert.ok(err instanceof KeygateError);
      assert.equal(err.name, errorClassName(code));
      assert.equal(Class.name, errorClassName(code));
      assert.equal(err.code, code);
      assert.equal(err.status, status);
      assert.equal(err.requestId, 'req_1');
      assert.equal(err.message, message);
    }
  });

  it('keeps the field, and reads an unknown code or a body that is no envelope as a plain KeygateError', () => {
    const field = errorFromEnvelope(400, {
      error: { code: 'VALIDATION_FAILED', message: 'm', requestId: 'r', field: 'name' },
    });
    assert.equal(field.field, 'name');
    const unknown = errorFromEnvelope(418, { error: { code: 'TEAPOT', message: 'short and stout', requestId: 'r' } });
    assert.equal(unknown.constructor, KeygateError);
    assert.equal(unknown.code, 'TEAPOT');
    const html = errorFromEnvelope(502, '<html>bad gateway</html>');
    assert.equal(html.code, 'INTERNAL');
    assert.equal(html.status, 502);
    assert.ok(errorFromEnvelope(503, undefined) instanceof UnavailableError);
  });
});

const CODE_OF: Record<number, string> = { 401: 'KEY_INVALID', 404: 'NOT_FOUND', 503: 'UNAVAILABLE' };

describe('SDK client retries and timeout', () => {
  let script: number[] = [];
  let seen: { method: string; body: string; key: string | undefined }[] = [];
  let hang = false;
  const fake = listen(async (req, res) => {
    const body = await bodyOf(req);
    seen.push({ method: req.method!, body, key: req.headers['x-api-key'] as string | undefined });
    if (hang) return; // never answers
    const status = script.shift() ?? 200;
    if (status === 0) {
      req.socket.destroy(); // a network error
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      status === 200
        ? JSON.stringify({ kind: 'token' })
        : JSON.stringify({ error: { code: CODE_OF[status] ?? 'INTERNAL', message: 'x', requestId: 'q' } }),
    );
  });
  after(async () => (await fake).close());
  const client = async (retries = 2, timeoutMs = 5_000) =>
    createClient({ baseUrl: (await fake).url, key: 'kg_test', retries, retryDelayMs: 1, timeoutMs });
  const reset = (statuses: number[]) => {
    script = statuses;
    seen = [];
    hang = false;
  };

  it('retries a 503 with back-off and returns the answer that follows; sends X-API-Key every time', async () => {
    reset([503, 503, 200]);
    const me = await unwrap((await client()).GET('/api/v1.0/me'));
    assert.equal(me.kind, 'token');
    assert.equal(seen.length, 3);
    assert.ok(seen.every((s) => s.key === 'kg_test'));
  });

  it('gives up after `retries` more attempts and throws UnavailableError', async () => {
    reset([503, 503, 503, 503]);
    await assert.rejects((await client()).GET('/api/v1.0/me'), UnavailableError);
    assert.equal(seen.length, 3);
  });

  it('retries a 503 of a POST too (the server did not act), sending the same body', async () => {
    reset([503, 200]);
    await (await client()).POST('/api/v1.0/verify', { body: { key: 'kg_x' } });
    assert.equal(seen.length, 2);
    assert.deepEqual(
      seen.map((s) => JSON.parse(s.body)),
      [{ key: 'kg_x' }, { key: 'kg_x' }],
    );
  });

  it('retries a network error of a GET, but not of a POST', async () => {
    reset([0, 200]);
    await (await client()).GET('/api/v1.0/me');
    assert.equal(seen.length, 2);
    reset([0, 200]);
    await assert.rejects((await client()).POST('/api/v1.0/verify', { body: { key: 'kg_x' } }), (err) => {
      assert.ok(err instanceof KeygateUnreachableError);
      assert.equal(err.timedOut, false);
      assert.equal(err.status, 0);
      return true;
    });
    assert.equal(seen.length, 1);
  });

  it('does not retry other errors; throws them typed', async () => {
    reset([401]);
    await assert.rejects((await client()).GET('/api/v1.0/me'), KeyInvalidError);
    assert.equal(seen.length, 1);
    reset([404]);
    await assert.rejects((await client()).GET('/api/v1.0/me'), NotFoundError);
    assert.equal(seen.length, 1);
  });

  it('gives up an attempt after timeoutMs and throws KeygateUnreachableError with timedOut', async () => {
    reset([]);
    hang = true;
    await assert.rejects((await client(0, 50)).GET('/api/v1.0/me'), (err) => {
      assert.ok(err instanceof KeygateUnreachableError);
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.timedOut, true);
      return true;
    });
    assert.equal(seen.length, 1);
  });
});
