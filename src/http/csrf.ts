import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { fail } from '../domain/errors.js';

export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The CSRF token of a session, derived from its cookie value: unforgeable without the cookie (which
 * scripts cannot read), the same on every instance, and it needs no stored column. It reveals
 * neither the cookie nor the stored hash (a different SHA-256 input).
 */
export function csrfTokenFor(sessionCookie: string): string {
  return createHash('sha256').update(`csrf:${sessionCookie}`).digest('base64url');
}

/** Whether a method may change state (anything but GET, HEAD and OPTIONS). */
export function changesState(method: string): boolean {
  return !SAFE_METHODS.has(method);
}

/**
 * Whether the browser says the request comes from this site. `Sec-Fetch-Site` is trusted first
 * (`none` is a typed URL or bookmark); else `Origin` must name the host the request was sent to.
 * With neither header (curl, old browsers) the request is not cross-site as far as we can tell.
 */
export function isSameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    const from = new URL(origin);
    // The origin's own scheme normalises default ports on both sides (":443" vs none).
    return from.host === new URL(`${from.protocol}//${request.host}`).host;
  } catch {
    return false; // "null" (sandboxed frames, some redirects) or garbage: not us.
  }
}

/** Refuses a cross-site request: sign-in uses this alone (login CSRF), as it has no session yet. */
export function refuseCrossSite(request: FastifyRequest): void {
  if (!isSameOrigin(request)) fail('CSRF_FAILED', 'This request comes from another site.');
}

/**
 * Refuses a state-changing request made with a session cookie unless it is same-origin and
 * carries the session's token in `X-CSRF-Token`, compared in constant time.
 */
export function requireCsrf(request: FastifyRequest, sessionCookie: string): void {
  if (!changesState(request.method)) return;
  refuseCrossSite(request);
  const given = request.headers[CSRF_HEADER];
  const expected = Buffer.from(csrfTokenFor(sessionCookie));
  const actual = Buffer.from(typeof given === 'string' ? given : '');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) fail('CSRF_FAILED');
}
