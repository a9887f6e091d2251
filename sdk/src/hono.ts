import type { Context, MiddlewareHandler } from 'hono';
import { judgeRequest, requestIdFrom, type KeygateOptions } from './guard.js';
import type { Verifier, VerifyAnswer } from './verifier.js';

export type { KeygateOptions };

/** The variables the middleware sets: `c.get('keygate')`. */
export interface KeygateVariables {
  keygate: VerifyAnswer;
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Hono middleware that lets in only requests with a key keygate accepts (headers, query, form or JSON
 * body — Hono keeps the parsed body for the handler), sets the decision as `c.get('keygate')`, and answers
 * refusals in keygate's error envelope. Under @hono/node-server the raw header lines are read too, so a
 * repeated key header is judged as the server judges it.
 * @example
 * import { keygate } from '@keygate/sdk/hono';
 * const app = new Hono<{ Variables: KeygateVariables }>();
 * app.use('/reports/*', keygate(verifier, { permission: 'resources:read' }));
 * app.get('/reports/list', (c) => c.json(c.get('keygate').token));
 */
export function keygate(
  verifier: Verifier,
  options: KeygateOptions<Context> = {},
): MiddlewareHandler<{ Variables: KeygateVariables }> {
  return async (c, next) => {
    const contentType = c.req.header('content-type');
    const type = mediaType(contentType);
    let body: unknown;
    // Parsed through Hono, which caches it: the handler can still read the body.
    if (type === 'application/json') body = await c.req.json().catch(() => undefined);
    else if (type === 'application/x-www-form-urlencoded') body = await c.req.parseBody().catch(() => undefined);
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const incoming = (c.env as { incoming?: { rawHeaders?: string[] } } | undefined)?.incoming;
    const outcome = await judgeRequest(
      verifier,
      { headers, rawHeaders: incoming?.rawHeaders, query: c.req.queries(), body, contentType },
      {
        resourceId: options.resourceId?.(c),
        permission: options.permission,
        apiGroup: options.apiGroup,
        ip: options.clientIp?.(c),
      },
      requestIdFrom(c.req.header('x-request-id')),
      options.allowQueryKeys,
    );
    if (!outcome.ok) return c.json(outcome.body, outcome.status as 400);
    c.set('keygate', outcome.answer);
    await next();
    return undefined;
  };
}
