import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TokenLimits } from '../services/token-limits.js';
import { extractCredential, type CredentialResult, type CredentialSource } from '../domain/credentials.js';
import { fail, KeygateError, type ErrorCode } from '../domain/errors.js';
import { KEY_REFUSALS } from '../domain/key-refusals.js';
import type { Keygate } from '../keygate.js';
import type { KeyVerdict } from '../services/access.js';
import type { CachedToken } from '../services/access-cache.js';
import { requireCsrf } from './csrf.js';
import { refuseUnstorableInput } from './input.js';
import type { Principal } from '../services/principal.js';

export const SESSION_COOKIE = 'keygate_session';

/** How a route is reached: whether it needs a caller, and which API group it belongs to. */
export interface RouteAccess {
  auth?: 'none' | 'optional' | 'required';
  /** API group of the endpoint; a token must be allowed it. Omitted: any token may call it. */
  apiGroup?: string;
}

/**
 * What the pipeline knows about a request's credentials, set on every request when it arrives
 * and kept on it: the access log reads it with the response in one onResponse hook.
 */
export interface RequestAuth {
  principal: Principal | null;
  source: CredentialSource | 'session' | null;
  /** The key decision code, or the error code the request was refused with. */
  outcome: string | null;
  /** The credentials found in headers and query on arrival (and the body, once parsed). Holds the key: never log it. */
  credential: CredentialResult;
  /** The token the presented key belongs to, once looked up, whether or not it was accepted. */
  token: CachedToken | null;
  /** The registry code of the error envelope the request was answered with. */
  errorCode: ErrorCode | null;
  /** Epoch ms and a monotonic reading (performance.now) at arrival. */
  arrivedAt: number;
  arrivedMono: number;
  /** The response body, kept only while the token logs responses. */
  responseBody: unknown;
  /** The route pattern the request matched, when it is not Fastify's own (the gateway's table). */
  route?: string | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig extends RouteAccess {}
  interface FastifyRequest {
    auth: RequestAuth;
  }
}

/** The registry code a refused key is answered with, per decision; the gateway and the SDK answer the same. */
export { KEY_REFUSALS };

/** The authenticated caller; routes that require one call this. */
export function principalOf(request: FastifyRequest): Principal {
  return request.auth.principal ?? fail('UNAUTHENTICATED');
}

const SESSION_COOKIE_RE = new RegExp(`(?:^|;)\\s*${SESSION_COOKIE}=([0-9A-Za-z]{1,128})\\s*(?:;|$)`);

/**
 * The session cookie's value, read straight from the header: a cookie-parsing plugin would add
 * two hooks to every request, and keys (the hot path) never need cookies.
 */
export function sessionCookie(header: string | undefined): string | undefined {
  return header === undefined ? undefined : SESSION_COOKIE_RE.exec(header)?.[1];
}

/** Removes consumed credential fields so they reach neither validation nor handlers. */
function stripCredentialFields(request: FastifyRequest, sources: CredentialSource[]): void {
  const query = request.query as Record<string, unknown> | undefined;
  const body = request.body as Record<string, unknown> | undefined;
  for (const s of sources) {
    if (s === 'query:key' && query) delete query.key;
    if (s === 'query:apiToken' && query) delete query.apiToken;
    if (s === 'form:key' && body) delete body.key;
    if (s === 'json:API_Key' && body) delete body.API_Key;
  }
}

/**
 * Refuses a request from an address the refused-key throttle blocks (`wait` seconds left; 0 lets
 * it through), before its key is looked up. The API and the gateway answer alike.
 */
export function refuseBlockedAddress(request: FastifyRequest, reply: FastifyReply, wait: number): void {
  if (wait === 0) return;
  request.auth.outcome = 'RATE_LIMITED';
  reply.header('retry-after', String(wait));
  fail('RATE_LIMITED', `Too many refused keys from this address; try again in ${wait} s.`);
}

/**
 * Hands `err` on once the refused-key throttle has counted it against the address, when it is a
 * refusal that counts. A store that cannot count it (Redis down) does not change the answer.
 */
export function countRefusal(kg: Keygate, address: string, err: unknown, done: (err: Error) => void): void {
  if (!(err instanceof KeygateError && kg.refusedKeys.counts(err.code))) {
    done(err as Error);
    return;
  }
  kg.refusedKeys.refused(address).then(
    () => done(err),
    () => done(err),
  );
}

/** Gives every request an `auth` slot; call once on the root instance. */
export function decorateRequestAuth(app: FastifyInstance): void {
  app.decorateRequest('auth', null as unknown as RequestAuth);
}

/**
 * Reads a request's credentials from its headers and query when it arrives (an onRequest step),
 * so every request has `auth`, including those refused before routing or before their body is read.
 */
export function arrive(request: FastifyRequest, allowQueryKeys: boolean, routed = true): RequestAuth {
  // A URL the router refused has no parsed query; its query string may still be readable.
  const query = routed ? request.query : looseQuery(request.url);
  request.auth = {
    principal: null,
    source: null,
    outcome: null,
    credential: extractCredential(
      { headers: request.headers, rawHeaders: request.raw.rawHeaders, query },
      { allowQueryKeys },
    ),
    token: null,
    errorCode: null,
    arrivedAt: Date.now(),
    arrivedMono: performance.now(),
    responseBody: undefined,
  };
  return request.auth;
}

/** The query string of a URL, read leniently (a URL the router refused, an upgrade request). */
export function looseQuery(url: string): Record<string, string[]> {
  const at = url.indexOf('?');
  // No prototype: a parameter named `__proto__` or `constructor` is a name like any other.
  const out: Record<string, string[]> = Object.create(null);
  if (at < 0) return out;
  for (const [name, value] of new URLSearchParams(url.slice(at + 1))) {
    const values = out[name] ?? [];
    values.push(value);
    out[name] = values;
  }
  return out;
}

/** Whether a parsed body could carry a key (a form `key` or a JSON `API_Key`), so extraction must look again. */
function bodyMayCarryKey(body: unknown): boolean {
  return body !== null && typeof body === 'object' && (Object.hasOwn(body, 'key') || Object.hasOwn(body, 'API_Key'));
}

/**
 * Authenticates every request of the API scope it is installed in, before validation: a presented key (any of the ways the source
 * pages allow) wins over a session cookie. Refusals throw registry errors; the outcome is kept
 * on `request.auth` for the response hook.
 */
export function installAuthentication(app: FastifyInstance, kg: Keygate): void {
  /** Settles a key verdict: the principal, or the refusal. */
  const accept = (request: FastifyRequest, verdict: KeyVerdict): void => {
    request.auth.outcome = verdict.code;
    kg.metrics.decided('api', verdict.code);
    if (verdict.code !== 'MALFORMED' && verdict.code !== 'NOT_FOUND') request.auth.token = verdict.token;
    if (verdict.code !== 'VALID') fail(KEY_REFUSALS[verdict.code] ?? 'KEY_INVALID');
    request.auth.principal = verdict.principal;
  };

  /** Checks an accepted key's token limits (none: no promise); the RateLimit fields go on the answer. */
  const limit = (request: FastifyRequest, reply: FastifyReply): void | Promise<void> => {
    const token = request.auth.token;
    if (token === null || !kg.limits.applies(token)) return;
    return kg.limits.check(token, { ip: request.ip }).then((report) => {
      reply.headers(report.headers);
      if (report.refusal) {
        request.auth.outcome = report.refusal;
        throw TokenLimits.error(report);
      }
    });
  };

  const bySession = async (request: FastifyRequest, required: boolean): Promise<void> => {
    const cookie = sessionCookie(request.headers.cookie);
    if (cookie) {
      const userId = await kg.users.sessionUserId(cookie);
      const user = userId ? await kg.cache.user(userId) : null;
      if (user?.active) {
        // A browser sends the cookie with any site's form or fetch: a change made with it must
        // prove it comes from the console. Browsers send no key on their own, so keys need no such proof.
        request.auth.source = 'session';
        request.auth.outcome = 'CSRF_FAILED'; // until requireCsrf returns
        requireCsrf(request, cookie);
        request.auth.principal = { kind: 'user', user };
        request.auth.outcome = 'VALID';
        return;
      }
    }
    if (required) fail('UNAUTHENTICATED');
  };

  /** Judges a presented key (or refuses the address, or the credentials), once the throttle has answered. */
  const byKey = (
    request: FastifyRequest,
    reply: FastifyReply,
    wait: number,
    settled: () => void,
    done: (err?: Error) => void,
  ) => {
    refuseBlockedAddress(request, reply, wait);
    const credential = request.auth.credential;
    if (credential.kind === 'error') {
      request.auth.outcome = credential.code;
      fail(credential.code);
    }
    if (credential.kind !== 'key') return settled();
    stripCredentialFields(request, credential.sources);
    request.auth.source = credential.sources[0]!;
    const verdict = kg.access.evaluateKey(credential.key, { apiGroup: request.routeOptions.config.apiGroup });
    if (verdict instanceof Promise)
      return void verdict
        .then((v) => {
          accept(request, v);
          return limit(request, reply);
        })
        .then(settled, done);
    accept(request, verdict);
    // Token limits (allowlist, rate, credits) only for a key that is otherwise valid.
    const limited = limit(request, reply);
    if (limited instanceof Promise) return void limited.then(settled, done);
    settled();
  };

  // Callback style, not async: with a warm cache a key is judged synchronously, and the hot path
  // then makes no promise at all (nor does the refused-key throttle unless its count is in Redis).
  app.addHook('preValidation', (request, reply, hookDone) => {
    // A refused key is counted against its address before the refusal is answered.
    const done = (err?: Error) => (err ? countRefusal(kg, request.ip, err, hookDone) : hookDone());
    // Credentials first (a caller without any hears 401, whatever else is wrong), then the input.
    const settled = () => {
      try {
        refuseUnstorableInput(request);
        hookDone();
      } catch (err) {
        hookDone(err as Error);
      }
    };
    try {
      const config = request.routeOptions.config;
      if (request.is404) return hookDone();
      if (config.auth === 'none') return settled();
      // Read on arrival from headers and query; looked at again only when the body may hold a key.
      if (bodyMayCarryKey(request.body))
        request.auth.credential = extractCredential(
          {
            headers: request.headers,
            rawHeaders: request.raw.rawHeaders,
            query: request.query,
            body: request.body,
            contentType: request.headers['content-type'],
          },
          { allowQueryKeys: kg.config.allowQueryKeys },
        );
      if (request.auth.credential.kind === 'none')
        return void bySession(request, config.auth !== 'optional').then(settled, hookDone);
      // A blocked address is refused before its key is looked up: guessing costs it no database work.
      const wait = kg.refusedKeys.check(request.ip);
      if (wait instanceof Promise) return void wait.then((w) => byKey(request, reply, w, settled, done)).catch(done);
      byKey(request, reply, wait, settled, done);
    } catch (err) {
      done(err as Error);
    }
  });
}
