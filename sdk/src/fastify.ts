import type { FastifyReply, FastifyRequest } from 'fastify';
import { judgeRequest, type KeygateOptions } from './guard.js';
import type { Verifier, VerifyAnswer } from './verifier.js';

export type { KeygateOptions };

declare module 'fastify' {
  interface FastifyRequest {
    /** keygate's decision about the request's key, set by the `keygate()` hook when it let the request in. */
    keygate?: VerifyAnswer;
  }
}

/**
 * A Fastify `preHandler` hook that lets in only requests with a key keygate accepts (in any place the
 * server reads keys from: headers, query, form or JSON body), attaches the decision as
 * `request.keygate`, and answers refusals in keygate's error envelope.
 * @example
 * import { keygate } from '@keygate/sdk/fastify';
 * app.get('/reports', { preHandler: keygate(verifier, { permission: 'resources:read' }) }, (request) => request.keygate!.token);
 */
export function keygate(
  verifier: Verifier,
  options: KeygateOptions<FastifyRequest> = {},
): (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined> {
  return async (request, reply) => {
    const outcome = await judgeRequest(
      verifier,
      {
        headers: request.headers,
        rawHeaders: request.raw.rawHeaders,
        query: request.query,
        body: request.body,
        contentType: request.headers['content-type'],
      },
      {
        resourceId: options.resourceId?.(request),
        permission: options.permission,
        apiGroup: options.apiGroup,
        ip: options.clientIp ? options.clientIp(request) : request.ip,
      },
      request.id,
      options.allowQueryKeys,
    );
    if (!outcome.ok) return reply.code(outcome.status).send(outcome.body);
    request.keygate = outcome.answer;
    return undefined;
  };
}
