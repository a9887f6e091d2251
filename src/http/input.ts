import type { FastifyRequest } from 'fastify';
import { KeygateError } from '../domain/errors.js';
import { echoableName } from './errors.js';

const MAX_DEPTH = 64;

/** A NUL character, or half of a surrogate pair without its other half (text that is not well-formed Unicode). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The dotted path of the first string (or property name) that cannot be stored faithfully, or null. */
export function unstorablePath(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return UNSTORABLE.test(value) ? path : null;
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return null;
  for (const [k, v] of Object.entries(value)) {
    // The caller's own text is not echoed as a name: it may hold a key.
    const name = echoableName(k);
    const here = path ? `${path}.${name}` : name;
    if (UNSTORABLE.test(k)) return here;
    const found = unstorablePath(v, here, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Refuses text with NUL characters or lone surrogates in the path, the query or the body. No field
 * has a use for them: PostgreSQL cannot store or even compare NUL (it fails the query, which would
 * be a 500), and a lone surrogate is stored as replacement characters (differently by each
 * dialect), so what was answered would not be what was kept. Called by the API's one
 * preValidation hook rather than a hook of its own: hooks cost on every request.
 */
export function refuseUnstorableInput(request: FastifyRequest): void {
  for (const part of [request.params, request.query, request.body]) {
    const field = unstorablePath(part);
    if (field !== null)
      throw new KeygateError(
        'VALIDATION_FAILED',
        `${field ? `${field}: ` : ''}must be well-formed Unicode text without NUL characters.`,
        field || undefined,
      );
  }
}
