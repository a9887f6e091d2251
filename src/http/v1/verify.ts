import { Type } from 'typebox';
import { principalOf } from '../authenticate.js';
import { VerifyRequest, errorResponses } from '../../schemas.js';
import type { FastifyTypebox } from '../types.js';

/** The content type of an answer the service has already serialised (with a charset, so Fastify sends it as is). */
const JSON_UTF8 = 'application/json; charset=utf-8';

const VERIFY_SCHEMA = {
  tags: ['verify'],
  summary: 'Verify a key and, optionally, its right to a permission on a resource through an API group',
  description:
    'The caller authenticates with its own token, which needs keys:verify on the resource of the token being verified. Tokens outside its reach are answered as NOT_FOUND. The answer never holds the key or its hash. A valid key of a token with a rate limit, credits or an IP allowlist is checked against them and counted (a refused key never is): over its limit it is answered valid: false with RATE_LIMITED, USAGE_EXCEEDED or IP_NOT_ALLOWED (the gateway refuses with the same codes), the answer carries ratelimit and credits, the RateLimit-Policy and RateLimit header fields (draft-ietf-httpapi-ratelimit-headers) and Retry-After when rate limited, and cacheable: false (verifiers must not cache it).',
  body: VerifyRequest,
  response: { 200: Type.Ref('VerifyResponse'), ...errorResponses },
};

/** Key verification for other services. */
export function verifyRoutes(app: FastifyTypebox): void {
  const verify = app.keygate.verify;
  const metrics = app.keygate.metrics;

  // Judges a key for another service. Not async: with a warm cache the answer, already serialised
  // by the service (which remembers it per verdict), is found without a promise.
  app.post('/verify', { config: { apiGroup: 'verify' }, schema: VERIFY_SCHEMA }, (request, reply) => {
    reply.header('content-type', JSON_UTF8);
    const headers: Record<string, string> = {};
    const json = metrics.decidedJson('verify', verify.verifyJson(principalOf(request), request.body, headers));
    if (typeof json === 'string') return json;
    return json.then((text) => {
      reply.headers(headers);
      return text;
    });
  });
}
