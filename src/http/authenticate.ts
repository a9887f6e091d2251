import type {} from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { extractCredential, type CredentialSource } from '../domain/credentials.js';
import { fail, type ErrorCode } from '../domain/errors.js';
import type { Keygate } from '../keygate.js';
import type { Principal } from '../services/principal.js';

export const SESSION_COOKIE = 'keygate_session';

/** How a route is reached: whether it needs a caller, and which API group it belongs to. */
export interface RouteAccess {
  auth?: 'none' | 'optional' | 'required';
  /** API group of the endpoint; a token must be allowed it. Omitted: any token may call it. */
  apiGroup?: string;
}

/** What the pipeline knows about a request's credentials: the one place access logging will read. */
export interface RequestAuth {
  principal: Principal | null;
  source: CredentialSource | 'session' | null;
  /** The key decision code, or the error code the request was refused with. */
  outcome: string | null;
}

declare module 'fastify' {
  interface FastifyContextConfig extends RouteAccess {}
  interface FastifyRequest {
    auth: RequestAuth;
  }
}

const KEY_REFUSALS: Record<string, ErrorCode> = {
  MALFORMED: 'KEY_MALFORMED',
  NOT_FOUND: 'KEY_INVALID',
  EXPIRED: 'KEY_EXPIRED',
  DISABLED: 'KEY_DISABLED',
  OWNER_DISABLED: 'KEY_DISABLED',
  API_GROUP_NOT_ALLOWED: 'API_GROUP_NOT_ALLOWED',
};

/** The authenticated caller; routes that require one call this. */
export function principalOf(request: FastifyRequest): Principal {
  return request.auth.principal ?? fail('UNAUTHENTICATED');
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

/** Gives every request an empty `auth`; call once on the root instance. */
export function decorateRequestAuth(app: FastifyInstance): void {
  app.decorateRequest('auth', null as unknown as RequestAuth);
}

/**
 * Authenticates every request of the API scope it is installed in, before validation: a presented key (any of the ways the source
 * pages allow) wins over a session cookie. Refusals throw registry errors; the outcome is kept
 * on `request.auth` for the response hook.
 */
export function installAuthentication(app: FastifyInstance, kg: Keygate): void {
  app.addHook('preValidation', async (request) => {
    const config = request.routeOptions.config;
    request.auth = { principal: null, source: null, outcome: null };
    if (config.auth === 'none' || request.is404) return;
    const credential = extractCredential(
      { headers: request.headers, query: request.query, body: request.body, contentType: request.headers['content-type'] },
      { allowQueryKeys: kg.config.allowQueryKeys },
    );
    if (credential.kind === 'error') {
      request.auth.outcome = credential.code;
      fail(credential.code);
    }
    if (credential.kind === 'key') {
      stripCredentialFields(request, credential.sources);
      request.auth.source = credential.sources[0]!;
      const verdict = await kg.access.evaluateKey(credential.key, { apiGroup: config.apiGroup });
      request.auth.outcome = verdict.code;
      if (verdict.code !== 'VALID') fail(KEY_REFUSALS[verdict.code] ?? 'KEY_INVALID');
      request.auth.principal = verdict.principal;
      return;
    }
    const cookie = request.cookies?.[SESSION_COOKIE];
    if (cookie) {
      const userId = await kg.users.sessionUserId(cookie);
      const user = userId ? await kg.cache.user(userId) : null;
      if (user?.active) {
        request.auth = { principal: { kind: 'user', user }, source: 'session', outcome: 'VALID' };
        return;
      }
    }
    if (config.auth !== 'optional') fail('UNAUTHENTICATED');
  });
  // The one place where the decision and the outcome of a request are both known.
  app.addHook('onResponse', async (request) => {
    const p = request.auth?.principal;
    if (p?.kind === 'token') kg.usage.record(p.token.id, Date.now(), request.ip);
  });
}
