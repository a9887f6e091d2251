import assert from 'node:assert/strict';
import { csrfTokenFor } from '../../src/http/csrf.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import type { Keygate } from '../../src/keygate.js';
import type { Principal } from '../../src/services/principal.js';
import { recordResponse } from './run-record.js';
import { noteSecret, noteSecretsIn } from './secret-scan.js';

export interface Reply {
  status: number;
  body: any;
  headers: Record<string, unknown>;
}

/** A tiny in-process HTTP client over app.inject: real routing, hooks, validation and serialisation. */
export async function call(
  app: FastifyTypebox,
  method: string,
  url: string,
  opts: { key?: string; cookie?: string; body?: unknown; headers?: Record<string, string>; payload?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers['x-api-key'] = opts.key;
  noteSecretsIn(opts.body);
  if (opts.cookie) {
    headers.cookie = `keygate_session=${opts.cookie}`;
    // As the console does: the session's CSRF token with every request (an explicit header wins).
    headers['x-csrf-token'] ??= csrfTokenFor(opts.cookie);
  }
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
    ...(opts.payload !== undefined ? { payload: opts.payload } : {}),
  });
  let body: unknown = res.body;
  if ((res.headers['content-type'] ?? '').toString().includes('json') && res.body !== '') body = JSON.parse(res.body);
  noteSecretsIn(body);
  recordResponse(method, url, res.statusCode, body);
  return { status: res.statusCode, body, headers: res.headers };
}

/** Asserts the error envelope and its code (and status, derived from the registry). */
export function assertError(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, `expected ${status} ${code}, got ${reply.status} ${JSON.stringify(reply.body)}`);
  assert.equal(reply.body?.error?.code, code, JSON.stringify(reply.body));
  assert.equal(typeof reply.body.error.message, 'string');
  assert.match(reply.body.error.requestId, /\S/);
}

let counter = 0;
/** A unique email per call. */
export function email(tag = 'user'): string {
  counter += 1;
  return `${tag}-${counter}-${Date.now().toString(36)}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';
noteSecret(PASSWORD);

/** Creates a user directly through the service and signs them in; returns id and session cookie. */
export async function userWithSession(
  app: FastifyTypebox,
  kg: Keygate,
  systemRole: 'admin' | 'user' = 'user',
): Promise<{ id: string; email: string; cookie: string }> {
  const address = email(systemRole);
  const row = await kg.users.create({ email: address, password: PASSWORD, systemRole }, 'system');
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1.0/session',
    payload: { email: address, password: PASSWORD },
  });
  assert.equal(res.statusCode, 200, res.body);
  const cookie = res.cookies.find((c) => c.name === 'keygate_session');
  assert.ok(cookie, 'session cookie set');
  return { id: row.id, email: address, cookie: cookie.value };
}

/** The principal of a user, for calling services directly in setup. */
export async function asUser(kg: Keygate, userId: string): Promise<Principal> {
  const user = await kg.cache.user(userId);
  assert.ok(user);
  return { kind: 'user', user };
}
