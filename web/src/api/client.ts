import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema.gen';

export type Schemas = components['schemas'];
export type Token = Schemas['Token'];
export type User = Schemas['User'];
export type Resource = Schemas['Resource'];
export type Member = Schemas['Member'];

/** What every refusal from keygate carries: a stable code, a message, and the field at fault. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

// The session's CSRF token lives in memory only (from sign-in or GET /me), never in storage: a
// reload asks /me again.
let csrfToken: string | undefined;

/** Remembers the CSRF token of the session the console is signed in with (undefined when signed out). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (csrfToken && !['GET', 'HEAD', 'OPTIONS'].includes(request.method))
      request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
};

/** The typed client for keygate's API, generated from its OpenAPI document; same-origin, with the session cookie. */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
api.use(csrf);

type Answer<T> = { data?: T; error?: unknown; response: Response };

/**
 * The data of an answer, or an ApiError from keygate's error envelope. TanStack Query calls go
 * through this, so every screen gets the same errors to show.
 */
export async function unwrap<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const body = (error ?? {}) as { error?: { code?: string; message?: string; field?: string; requestId?: string } };
  const e = body.error;
  throw new ApiError(
    response.status,
    e?.code ?? 'HTTP_ERROR',
    e?.message ?? response.statusText,
    e?.field,
    e?.requestId,
  );
}
