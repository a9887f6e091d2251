import createFetchClient, { type Client, type Middleware } from 'openapi-fetch';
import { errorFromEnvelope, KeygateUnreachableError } from './errors.js';
import type { paths } from './schema.gen.js';

export type { paths };

/** A typed client for keygate's management API: every path, method, parameter and answer of its OpenAPI document. */
export type KeygateClient = Client<paths>;

/** How to reach keygate. */
export interface ClientOptions {
  /** The server's root, e.g. `https://keygate.example.com` (paths carry `/api/v1.0`). */
  baseUrl: string;
  /** An API key, sent as `X-API-Key` with every request. */
  key?: string | undefined;
  /** Each attempt is given up after this long (default 10 s). */
  timeoutMs?: number;
  /** Further attempts after a 503, or after a network error of an idempotent request (default 2). */
  retries?: number;
  /** The first back-off delay; it doubles per attempt, with jitter (default 200 ms). */
  retryDelayMs?: number;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** Headers sent with every request (a User-Agent, say). */
  headers?: Record<string, string>;
}

/** Methods that may be sent twice without doing twice: only these are retried after a network error. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const MAX_DELAY_MS = 10_000;

/** Resolves after `ms`, or at once when the caller aborts. */
function sleep(ms: number, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Exponential back-off with jitter (half to full), or the server's Retry-After in seconds when it sends one. */
function backoff(attempt: number, baseMs: number, retryAfter: string | null): number {
  const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_DELAY_MS);
  return Math.min(baseMs * 2 ** attempt, MAX_DELAY_MS) * (0.5 + Math.random() / 2);
}

/**
 * A fetch that gives each attempt `timeoutMs`, retries 503 answers (any method: the server did not act)
 * and network errors (idempotent methods only) with back-off, and turns a missing answer into
 * `KeygateUnreachableError`. Exported for callers with their own HTTP code.
 * @example
 * const send = resilientFetch({ timeoutMs: 2_000, retries: 3 });
 * const res = await send(new Request('https://keygate.example.com/health'));
 */
export function resilientFetch(
  options: Pick<ClientOptions, 'timeoutMs' | 'retries' | 'retryDelayMs' | 'fetch'> = {},
): (request: Request) => Promise<Response> {
  const { timeoutMs = 10_000, retries = 2, retryDelayMs = 200 } = options;
  return async (request) => {
    const doFetch = options.fetch ?? globalThis.fetch;
    // Read once, so every attempt can send the same bytes.
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const idempotent = IDEMPOTENT.has(request.method);
    for (let attempt = 0; ; attempt++) {
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await doFetch(request.url, {
          method: request.method,
          headers: request.headers,
          body,
          redirect: request.redirect,
          signal: AbortSignal.any([request.signal, timeout]),
        });
      } catch (err) {
        // The caller's own abort is theirs to handle, unchanged.
        if (request.signal.aborted) throw err;
        if (idempotent && attempt < retries) {
          await sleep(backoff(attempt, retryDelayMs, null), request.signal);
          continue;
        }
        const timedOut = timeout.aborted;
        throw new KeygateUnreachableError(
          timedOut
            ? `keygate did not answer ${request.method} ${new URL(request.url).pathname} within ${timeoutMs} ms.`
            : `keygate could not be reached: ${err instanceof Error ? err.message : String(err)}`,
          timedOut,
          err,
        );
      }
      if (response.status !== 503 || attempt >= retries) return response;
      // Free the connection before waiting.
      await response.body?.cancel().catch(() => {});
      await sleep(backoff(attempt, retryDelayMs, response.headers.get('retry-after')), request.signal);
    }
  };
}

/** Sends the key, unless the call set its own. */
function apiKeyMiddleware(key: string): Middleware {
  return {
    onRequest({ request }) {
      if (!request.headers.has('x-api-key')) request.headers.set('x-api-key', key);
      return request;
    },
  };
}

/** Throws every answer that is not a success as its typed error, so `data` is always there when a call returns. */
const throwOnError: Middleware = {
  async onResponse({ response }) {
    if (response.ok) return undefined;
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    throw errorFromEnvelope(response.status, body);
  },
};

/**
 * A typed client for the whole management API, generated from keygate's own OpenAPI document. Calls
 * THROW a typed `KeygateError` subclass for every error answer (and `KeygateUnreachableError` when no
 * answer came), so a call that returns has succeeded; `unwrap()` narrows the result to its data.
 * @example
 * const client = createClient({ baseUrl: 'http://localhost:3000', key: process.env.KEYGATE_KEY });
 * const folder = await unwrap(client.POST('/api/v1.0/resources', { body: { type: 'folder', name: 'Reports' } }));
 * const { data: page } = await client.GET('/api/v1.0/resources/{id}/tokens', { params: { path: { id: folder.id } } });
 */
export function createClient(options: ClientOptions): KeygateClient {
  const client = createFetchClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    fetch: resilientFetch(options),
    ...(options.headers ? { headers: options.headers } : {}),
  });
  if (options.key !== undefined) client.use(apiKeyMiddleware(options.key));
  client.use(throwOnError);
  return client;
}

/**
 * The data of a client call. The client already throws on error answers; this narrows the type (the
 * result's `data` is otherwise typed as possibly absent) and throws should an error result still come.
 * @example
 * const me = await unwrap(client.GET('/api/v1.0/me'));
 * console.log(me.kind);
 */
export async function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(
  call: Promise<R>,
): Promise<R extends { data: infer D } ? D : never> {
  const result = await call;
  if (result.error !== undefined || !result.response.ok) throw errorFromEnvelope(result.response.status, result.error);
  return result.data as R extends { data: infer D } ? D : never;
}
