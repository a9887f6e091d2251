import { ERROR_CODES, type ErrorCode } from '../../src/domain/errors.js';
import { KeygateError, type ErrorInit } from './error-base.js';
import { ERROR_CLASSES, UnavailableError } from './errors.gen.js';

export * from './errors.gen.js';
export { KeygateError, type ErrorCode, type ErrorInit };

/**
 * No answer from keygate: the connection failed or the request timed out. A kind of
 * `UnavailableError` (code `UNAVAILABLE`), with status 0 because no HTTP answer came.
 * @example
 * try { await client.GET('/health'); } catch (err) { if (err instanceof KeygateUnreachableError && err.timedOut) retryLater(); }
 */
export class KeygateUnreachableError extends UnavailableError {
  /** True when the request was given up after the client's timeout. */
  readonly timedOut: boolean;

  constructor(message: string, timedOut: boolean, cause?: unknown) {
    super({ message, status: 0, requestId: undefined, cause });
    this.name = 'KeygateUnreachableError';
    this.timedOut = timedOut;
  }
}

function isRegistryCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/**
 * The typed error for an answer of keygate that is not a success: the registry code's class when the
 * body is keygate's envelope, else a plain `KeygateError` (code `INTERNAL` for a body that is not one).
 * @example
 * const res = await fetch(`${baseUrl}/api/v1.0/tokens`, { headers: { 'x-api-key': key } });
 * if (!res.ok) throw errorFromEnvelope(res.status, await res.json().catch(() => undefined));
 */
export function errorFromEnvelope(status: number, body: unknown): KeygateError {
  const error =
    body !== null && typeof body === 'object' ? (body as { error?: Record<string, unknown> }).error : undefined;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const init: ErrorInit = {
    code: code ?? (status === 503 ? 'UNAVAILABLE' : 'INTERNAL'),
    message:
      typeof error?.message === 'string' ? error.message : `keygate answered ${status} without an error envelope.`,
    status,
    requestId: typeof error?.requestId === 'string' ? error.requestId : undefined,
    field: typeof error?.field === 'string' ? error.field : undefined,
  };
  if (isRegistryCode(init.code)) return new ERROR_CLASSES[init.code](init);
  return new KeygateError(init);
}
