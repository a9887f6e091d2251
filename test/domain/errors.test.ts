import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, KeygateError, fail, type ErrorCode } from '../../src/domain/errors.js';

describe('errors', () => {
  it('every code has an HTTP error status and a message', () => {
    for (const [code, { status, message }] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^[A-Z_]+$/);
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, code);
      assert.ok(message.length > 0, code);
    }
  });

  it('fail throws a KeygateError whose status comes from the registry', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      assert.throws(
        () => fail(code),
        (e: unknown) =>
          e instanceof KeygateError &&
          e instanceof Error &&
          e.code === code &&
          e.status === ERROR_CODES[code].status &&
          e.message === ERROR_CODES[code].message &&
          e.field === undefined &&
          e.name === 'KeygateError',
      );
    }
  });

  it('keeps a custom message and the field at fault', () => {
    const e = new KeygateError('INVALID_EXPIRY', 'Nope.', 'expiresAt');
    assert.equal(e.message, 'Nope.');
    assert.equal(e.field, 'expiresAt');
    assert.equal(e.status, 422);
  });
});
