import type { ErrorCode } from '../../src/domain/errors.js';

export type { ErrorCode };

/** What every SDK error carries; `code` is a registry code, or another string a newer server sent. */
export interface ErrorInit {
  code: ErrorCode | (string & {});
  message: string;
  /** The HTTP status of the answer; 0 when there was no answer (network error, timeout). */
  status: number;
  /** The server's request id, to find the request in its logs; undefined without an answer. */
  requestId: string | undefined;
  /** The request field at fault, when the server named one (VALIDATION_FAILED and others). */
  field?: string | undefined;
  cause?: unknown;
}

/**
 * An error keygate answered with (its envelope `{"error":{"code","message","requestId"}}`), or the lack
 * of an answer. Every registry code has its own subclass (`KeyInvalidError`, `NotFoundError`, …).
 * @example
 * try {
 *   await client.GET('/api/v1.0/tokens/{id}', { params: { path: { id } } });
 * } catch (err) {
 *   if (err instanceof KeygateError && err.code === 'NOT_FOUND') console.log('gone', err.requestId);
 * }
 */
export class KeygateError extends Error {
  readonly code: ErrorCode | (string & {});
  readonly status: number;
  readonly requestId: string | undefined;
  readonly field: string | undefined;

  constructor(init: ErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'KeygateError';
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.field = init.field;
  }
}
