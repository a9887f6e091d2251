import { extractCredential, type CredentialInput } from '../../src/domain/credentials.js';
import { ERROR_CODES, type ErrorCode } from '../../src/domain/errors.js';
import { KEY_REFUSALS } from '../../src/domain/key-refusals.js';
import { nextRequestId } from '../../src/http/request-id.js';
import type { Verifier, VerifyAnswer } from './verifier.js';

/** What a protected route asks of the key; `resourceId` reads the resource from the request. */
export interface KeygateOptions<Req> {
  /** The permission the key needs (at `resourceId`, else at its own resource). */
  permission?: string;
  /** The API group of the protected endpoints. */
  apiGroup?: string;
  /** The resource the request acts on, read from the request (a path parameter, say). */
  resourceId?: (request: Req) => string | undefined;
  /** Whether a key in the query string (`?key=`, `?apiToken=`) is read; as KEYGATE_ALLOW_QUERY_KEYS (default true). */
  allowQueryKeys?: boolean;
  /**
   * The address of the client that presented the key, sent to keygate for tokens with an IP allowlist
   * and for its block on addresses that guess keys. Default: Fastify's `request.ip` and Express's
   * `req.ip` (both follow the framework's trust-proxy setting); with Hono, none unless given here.
   */
  clientIp?: (request: Req) => string | undefined;
}

/** keygate's error envelope, as the middleware answers refusals. */
export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; requestId: string };
}

/** The middleware's verdict on one request: the decision to attach, or the refusal to send. */
export type GuardOutcome = { ok: true; answer: VerifyAnswer } | { ok: false; status: number; body: ErrorEnvelope };

/**
 * Answer codes as the server answers the same refusal on its own API: a refused key by the shared table,
 * a key outside its scope as NOT_FOUND (the server does not tell what exists out of reach), a missing
 * permission as INSUFFICIENT_PERMISSIONS.
 */
const REFUSALS: Record<string, ErrorCode> = {
  ...KEY_REFUSALS,
  OUT_OF_SCOPE: 'NOT_FOUND',
  INSUFFICIENT_PERMISSIONS: 'INSUFFICIENT_PERMISSIONS',
  // The token's own limits: refused with the codes the server and the gateway use (429, 429, 403).
  RATE_LIMITED: 'RATE_LIMITED',
  USAGE_EXCEEDED: 'USAGE_EXCEEDED',
  IP_NOT_ALLOWED: 'IP_NOT_ALLOWED',
};

const REQUEST_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * The id for a refusal's envelope: the caller's X-Request-Id when harmless, as the server does, else a new one.
 * @example
 * requestIdFrom(req.headers['x-request-id']);
 */
export function requestIdFrom(given: unknown): string {
  return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : nextRequestId();
}

function refuse(code: ErrorCode, requestId: string, message?: string): GuardOutcome {
  return {
    ok: false,
    status: ERROR_CODES[code].status,
    body: { error: { code, message: message ?? ERROR_CODES[code].message, requestId } },
  };
}

/**
 * The framework-free core of the three middlewares: finds the key exactly as the server does (the same
 * `extractCredential`), asks the verifier, and says what to attach or answer.
 * @example
 * const outcome = await judgeRequest(verifier, { headers: req.headers, rawHeaders: req.rawHeaders }, {}, 'req-1');
 * if (!outcome.ok) res.writeHead(outcome.status).end(JSON.stringify(outcome.body));
 */
export async function judgeRequest(
  verifier: Verifier,
  input: CredentialInput,
  question: {
    resourceId?: string | undefined;
    permission?: string | undefined;
    apiGroup?: string | undefined;
    ip?: string | undefined;
  },
  requestId: string,
  allowQueryKeys = true,
): Promise<GuardOutcome> {
  const credential = extractCredential(input, { allowQueryKeys });
  if (credential.kind === 'none') return refuse('UNAUTHENTICATED', requestId);
  if (credential.kind === 'error') return refuse(credential.code, requestId);
  let answer: VerifyAnswer;
  try {
    answer = await verifier.verify(credential.key, question);
  } catch {
    return refuse('UNAVAILABLE', requestId, 'The key cannot be checked now: keygate cannot be reached.');
  }
  if (answer.valid) return { ok: true, answer };
  return refuse(REFUSALS[answer.code] ?? 'KEY_INVALID', requestId);
}
