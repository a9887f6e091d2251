import type { FastifyInstance } from 'fastify';
import { fail } from '../domain/errors.js';

const MAX_DEPTH = 64;

/** The dotted path of the first string (or property name) holding a NUL character, or null. */
export function nulPath(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return null;
  for (const [k, v] of Object.entries(value)) {
    const here = path ? `${path}.${k}` : k;
    if (k.includes('\u0000')) return here;
    const found = nulPath(v, here, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Refuses text with NUL characters in the path, the query or the body, after authentication and
 * schema validation and before any handler. No field has a use for them, and PostgreSQL cannot
 * store or even compare them (it fails the query), which would turn such input into a 500.
 */
export function installInputGuard(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    for (const part of [request.params, request.query, request.body]) {
      const field = nulPath(part);
      if (field !== null) fail('VALIDATION_FAILED', `${field ? `${field}: ` : ''}must not contain NUL characters.`, field || undefined);
    }
  });
}
