import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../domain/errors.js';
import { newSortableId } from '../domain/ids.js';
import { displayPrefix } from '../domain/keys.js';
import { capText, keyPattern, redactBody, redactHeaders, redactQuery, scrubKeys } from '../domain/redact.js';
import type { Keygate } from '../keygate.js';
import type { AccessRecord } from '../services/access-log.js';
import { arrive, type RequestAuth } from './authenticate.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's bodies carry keys by design (leak reports): the access log never captures them. */
    bodyHoldsKeys?: boolean;
  }
  interface FastifyInstance {
    /** Records a request answered outside the hooks (see frameworkErrors). */
    recordAccess?: (request: FastifyRequest, reply: FastifyReply, refusedBy?: ErrorCode) => void;
  }
}

/** What a capture holds instead of a body that carries keys by design. */
const NOT_RECORDED = '[not recorded]';

const API_VERSION_RE = /^\/api\/(v\d+\.\d+)(?:\/|$)/;

/**
 * A short, one-way mark of a key that resolved to no token, so an owner can tell "the same wrong
 * key again" apart from many: 48 bits of a domain-separated SHA-256, far too few to check a
 * guess against and unrelated to the stored hash.
 */
export function keyFingerprint(key: string): string {
  return createHash('sha256').update(`keygate-access-log:${key}`).digest('base64url').slice(0, 8);
}

/**
 * Records every request that presents a key, accepted or refused, including those refused before
 * routing: credentials are read on arrival (root onRequest, which also sets `request.auth`), the
 * response body is kept in onSend only while the token logs responses, and one root onResponse
 * hook queues the record. Writing happens in batches, off the request path.
 */
export function installAccessLogging(app: FastifyInstance, kg: Keygate): void {
  const pattern = keyPattern(kg.config.keyPrefix);
  const limit = kg.config.accessLog.captureLimit;

  app.addHook('onSend', (request, _reply, payload, done) => {
    if (request.auth?.token?.row.logging === 'request+response') request.auth.responseBody = payload;
    done(null, payload);
  });

  /** Queues the record of a finished request, if it presented a key. */
  const recordAccess = (request: FastifyRequest, reply: FastifyReply, refusedBy?: ErrorCode): void => {
    // Requests the router refused before onRequest (an undecodable URL) are read here instead.
    const auth = request.auth ?? arrive(request, kg.config.allowQueryKeys, false);
    if (refusedBy) auth.errorCode = refusedBy;
    const credential = auth.credential;
    if (credential.kind === 'none') return;
    const queue = () => kg.accessLog.push(record(request, reply, auth));
    // Judged already (a token found, or no token for that key), or unreadable credentials: nothing to look up.
    if (auth.token !== null || auth.outcome !== null || credential.kind === 'error') {
      queue();
      return;
    }
    // Refused before its key was judged (no route, a bad body): look the key up now, after the answer.
    const found = (verdict: Awaited<ReturnType<typeof kg.access.evaluateKey>>) => {
      if (verdict.code !== 'MALFORMED' && verdict.code !== 'NOT_FOUND') auth.token = verdict.token;
      queue();
    };
    try {
      const verdict = kg.access.evaluateKey(credential.key, {});
      if (verdict instanceof Promise) verdict.then(found, queue);
      else found(verdict);
    } catch {
      queue();
    }
  };
  app.addHook('onResponse', (request, reply, done) => {
    recordAccess(request, reply);
    done();
  });
  // The router's own refusals (an undecodable URL) run no hooks: their handler calls this.
  app.decorate('recordAccess', recordAccess);

  /** One access-log record; a key that found no token (`auth.token` null) is kept as prefix and fingerprint only. */
  function record(request: FastifyRequest, reply: FastifyReply, auth: RequestAuth): AccessRecord {
    const token = auth.token;
    const status = reply.statusCode;
    const url = request.url;
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const userAgent = request.headers['user-agent'];
    const credential = auth.credential;
    const orphanKey = token === null && credential.kind === 'key' ? credential.key : null;
    const logging = token?.row.logging ?? 'none';
    return {
      at: auth.arrivedAt,
      id: newSortableId('acc', auth.arrivedAt),
      request_id: request.id,
      token_id: token?.facts.id ?? null,
      owner_id: token?.facts.ownerId ?? null,
      resource_id: token?.facts.resourceId ?? null,
      method: request.method,
      route: auth.route ?? request.routeOptions.url ?? null,
      path: capText(scrubKeys(path, pattern), 2048).text,
      api_version: API_VERSION_RE.exec(path)?.[1] ?? null,
      status,
      duration_us: Math.max(0, Math.round((performance.now() - auth.arrivedMono) * 1000)),
      ip: request.ip ?? null,
      user_agent: typeof userAgent === 'string' ? capText(scrubKeys(userAgent, pattern), 512).text : null,
      outcome: auth.errorCode ?? (status < 400 ? 'VALID' : `HTTP_${status}`),
      carrier: credential.kind === 'key' ? credential.sources[0]! : null,
      key_prefix: orphanKey === null ? null : displayPrefix(orphanKey, kg.config.keyPrefix),
      key_fingerprint: orphanKey === null ? null : keyFingerprint(orphanKey),
      capture: logging === 'none' ? null : capture(request, reply, auth, logging === 'request+response', queryAt),
    };
  }

  /** The redacted request (and response) as JSON text. */
  function capture(
    request: FastifyRequest,
    reply: FastifyReply,
    auth: RequestAuth,
    withResponse: boolean,
    queryAt: number,
  ): string {
    const headers = redactHeaders(request.headers, pattern, limit);
    // Redaction finds generated keys by their shape; a reported key may be a chosen one, so none is kept.
    const keysInBody = request.routeOptions.config?.bodyHoldsKeys === true;
    const body = keysInBody
      ? { body: NOT_RECORDED, truncated: false }
      : redactBody(request.body, request.headers['content-type'], pattern, limit);
    const query = queryAt < 0 ? '' : capText(redactQuery(request.url.slice(queryAt + 1), pattern), limit).text;
    const out: Record<string, unknown> = {
      request: { query, headers: headers.headers, body: body.body },
    };
    let truncated = headers.truncated || body.truncated;
    if (withResponse) {
      const replyHeaders = reply.getHeaders() as Record<string, string | string[] | number | undefined>;
      const responseHeaders = redactHeaders(replyHeaders, pattern, limit);
      const payload = auth.responseBody;
      const responseBody = keysInBody
        ? { body: NOT_RECORDED, truncated: false }
        : typeof payload === 'string' || payload instanceof Uint8Array
          ? redactBody(payload, String(replyHeaders['content-type'] ?? ''), pattern, limit)
          : { body: payload === undefined || payload === null ? null : '[stream]', truncated: false };
      out.response = { headers: responseHeaders.headers, body: responseBody.body };
      truncated ||= responseHeaders.truncated || responseBody.truncated;
    }
    out.truncated = truncated;
    return JSON.stringify(out);
  }
}
