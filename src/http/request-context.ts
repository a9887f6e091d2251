import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../services/audit.js';

/** Where a request came from, as the audit trail records it: the client address and user agent. */
export function requestContext(request: FastifyRequest): RequestContext {
  const agent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof agent === 'string' && agent !== '' ? agent : null };
}
