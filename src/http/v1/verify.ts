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
    'The caller authenticates with its own token, which needs keys:verify on the resource of the token being verified. Tokens outside its reach are answered as NOT_FOUND. The answer never holds the key or its hash.',
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
    return metrics.decidedJson('verify', verify.verifyJson(principalOf(request), request.body));
  });
}
