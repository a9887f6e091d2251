import type { Request, RequestHandler } from 'express';
import { judgeRequest, requestIdFrom, type KeygateOptions } from './guard.js';
import type { Verifier, VerifyAnswer } from './verifier.js';

export type { KeygateOptions };

declare global {
  // Express's documented way to type what middleware adds to a request.
  namespace Express {
    interface Request {
      /** keygate's decision about the request's key, set by the `keygate()` middleware when it let the request in. */
      keygate?: VerifyAnswer;
    }
  }
}

/**
 * Express middleware that lets in only requests with a key keygate accepts (headers, query, and — after
 * `express.json()` / `express.urlencoded()` — the body), attaches the decision as `req.keygate`, and
 * answers refusals in keygate's error envelope.
 * @example
 * import { keygate } from '@keygate/sdk/express';
 * app.get('/reports/:folder', keygate(verifier, { permission: 'resources:read', resourceId: (req) => req.params.folder }), (req, res) => res.json(req.keygate!.token));
 */
export function keygate(verifier: Verifier, options: KeygateOptions<Request> = {}): RequestHandler {
  return (req, res, next) => {
    judgeRequest(
      verifier,
      {
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        query: req.query,
        body: req.body,
        contentType: req.headers['content-type'],
      },
      {
        resourceId: options.resourceId?.(req),
        permission: options.permission,
        apiGroup: options.apiGroup,
        ip: options.clientIp ? options.clientIp(req) : req.ip,
      },
      requestIdFrom(req.headers['x-request-id']),
      options.allowQueryKeys,
    ).then((outcome) => {
      if (!outcome.ok) {
        res.status(outcome.status).json(outcome.body);
        return;
      }
      req.keygate = outcome.answer;
      next();
    }, next);
  };
}
