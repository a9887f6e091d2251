import { signInOverHttp } from '../support/net.js';
/** A signed-in administrator's session: the cookie and the CSRF token sent with every change. */
export interface Session {
  cookie: string;
  csrfToken: string;
}

/** A response read to its end: only then does a write count as acknowledged. */
export interface FullResponse {
  status: number;
  text: string;
  /** performance.now() when the last byte was read. */
  at: number;
}

/** How long any one request may take before the suite treats the server as hung. */
const REQUEST_TIMEOUT_MS = 15_000;

/**
 * Sends one request and reads the whole response. Throws when no full response arrives (connection
 * refused or reset, body cut short): for a write, that is "not acknowledged".
 */
export async function request(
  base: string,
  method: string,
  path: string,
  options: { session?: Session; key?: string; requestId?: string; body?: unknown } = {},
): Promise<FullResponse> {
  const headers: Record<string, string> = {};
  if (options.session) {
    headers.cookie = options.session.cookie;
    headers['x-csrf-token'] = options.session.csrfToken;
  }
  if (options.key !== undefined) headers['x-api-key'] = options.key;
  if (options.requestId !== undefined) headers['x-request-id'] = options.requestId;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}/api/v1.0${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, text, at: performance.now() };
}

/** Signs in; sessions are kept in the database, so one session outlives every restart of a suite. */
export function signIn(base: string, email: string, password: string): Promise<Session> {
  return signInOverHttp(base, email, password);
}

/** A JSON call with the session that must succeed (set-up and checks, not the load under test). */
export async function call(base: string, session: Session, method: string, path: string, body?: unknown): Promise<any> {
  const res = await request(base, method, path, { session, body });
  if (res.status < 200 || res.status > 299) throw new Error(`${method} ${path} answered ${res.status}: ${res.text}`);
  return res.text ? JSON.parse(res.text) : null;
}

/** Reads an NDJSON export (access log or audit trail) with the session: session calls are not in the access log. */
export async function exportNdjson(base: string, session: Session, path: string): Promise<any[]> {
  const res = await request(base, 'GET', path, { session });
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.text}`);
  return res.text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));
}
