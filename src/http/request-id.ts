import type { IncomingMessage } from 'node:http';
import { randomBase62 } from '../domain/keys.js';

const REQUEST_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;

// Request ids need to be unique, not secret: a random per-process part and a counter, so the hot
// path does not draw from the CSPRNG on every request.
const processPart = randomBase62(8);
let requestCounter = 0;

/** A new request id, unique within this process's run. */
export function nextRequestId(): string {
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `req_${processPart}${requestCounter.toString(36)}`;
}

/** A request's id: the caller's X-Request-Id when it is harmless, so traces join across services; else a new one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : nextRequestId();
}
