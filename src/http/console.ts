import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';
import type { FastifyTypebox } from './types.js';

/** Where `npm run build` puts the console (dist/web), from src/http or dist/http alike. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/**
 * The console's Content-Security-Policy: scripts, styles and connections from this origin only, no
 * inline script or style, no framing. React sets styles through the CSSOM, which `style-src` allows.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every console response carries (the API's answers get the framing and referrer ones too). */
export function consoleSecurityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONSOLE_CSP);
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'same-origin');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), clipboard-write=(self)');
}

/** Whether a request that matched no route is a page of the console (a deep link) rather than an API call. */
export function isConsolePath(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?', 1)[0]!;
  if (path === '/api' || path.startsWith('/api/') || path.startsWith('/docs') || path.startsWith('/assets/'))
    return false;
  // A browser navigating asks for HTML; a script asking for JSON at an unknown path gets the JSON 404.
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * Serves the console: hashed assets under /assets (cached for a year, pre-compressed at build), and
 * index.html for / and for every deep link the router does not know, so a reload lands on the page.
 * Returns the function that answers a deep link, for the not-found handler.
 */
export async function consoleRoutes(
  app: FastifyTypebox,
  dir: string = CONSOLE_DIR,
): Promise<(request: FastifyRequest, reply: FastifyReply) => FastifyReply> {
  const indexPath = join(dir, 'index.html');
  const built = existsSync(indexPath);
  // Read once: it is small, and it changes only with a new build (a restart).
  const index = built ? readFileSync(indexPath) : null;

  if (built) {
    await app.register(fastifyStatic, {
      root: join(dir, 'assets'),
      prefix: '/assets/',
      preCompressed: true,
      immutable: true,
      maxAge: '365d',
      index: false,
      schemaHide: true,
      setHeaders: (reply) => consoleSecurityHeaders(reply as unknown as FastifyReply),
    });
  }

  const page = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (index === null)
      return sendError(
        reply,
        request,
        'UNAVAILABLE',
        'The console is not built: run `npm run build` (npm install does it).',
      ) as FastifyReply;
    consoleSecurityHeaders(reply);
    // Always revalidated: a new build's index names new asset files.
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);
  };

  // The console's start page.
  app.get('/', { schema: { hide: true }, config: { auth: 'none' } }, (request, reply) => page(request, reply));
  return page;
}
