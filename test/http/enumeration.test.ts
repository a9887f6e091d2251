import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { newId } from '../../src/domain/ids.js';
import type { Stores } from '../../src/store/index.js';
import { forEachDialect } from '../support/harness.js';
import { call, userWithSession, type Reply } from '../support/client.js';

/**
 * Enumeration by work done: a 404 for an id that does not exist and one for an id outside the
 * caller's reach must not only read the same, they must do the same store reads, or their timing
 * tells an outsider which ids exist (bench/enumeration.ts measures that timing; this checks its
 * cause without a clock). Every repository method called during one request is recorded.
 */

const REPOSITORIES = ['users', 'resources', 'tokens', 'sessions', 'audit', 'accessLog'] as const;

/** Records the name of every repository method called on `stores` while `fn` runs. */
async function storeCalls(stores: Stores, fn: () => Promise<Reply>): Promise<{ reply: Reply; calls: string[] }> {
  const calls: string[] = [];
  const restore: (() => void)[] = [];
  for (const name of REPOSITORIES) {
    const repo = stores[name] as unknown as Record<string, unknown>;
    for (const method of Object.getOwnPropertyNames(Object.getPrototypeOf(repo))) {
      const original = repo[method];
      if (method === 'constructor' || typeof original !== 'function') continue;
      repo[method] = (...args: unknown[]) => {
        calls.push(`${name}.${method}`);
        return (original as (...a: unknown[]) => unknown).apply(repo, args);
      };
      restore.push(() => {
        delete repo[method];
      });
    }
  }
  try {
    return { reply: await fn(), calls };
  } finally {
    for (const r of restore) r();
  }
}

/** The answer as an outsider compares it: status and body, the request id aside. */
function visible(reply: Reply): unknown {
  const body = structuredClone(reply.body) as { error?: { requestId?: string } };
  if (body?.error) body.error.requestId = '…';
  return { status: reply.status, body };
}

forEachDialect('enumeration: a missing id and one out of reach', (env) => {
  const w = { reachable: '', far: '', farToken: '', callerKey: '', cookie: '' };

  before(async () => {
    const { app, kg } = env();
    const admin = await userWithSession(app, kg, 'admin');
    const asAdmin = { cookie: admin.cookie };
    const post = async (url: string, body: unknown): Promise<Reply['body']> => {
      const res = await call(app, 'POST', `/api/v1.0${url}`, { ...asAdmin, body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body;
    };
    w.reachable = (await post('/resources', { type: 'account', name: 'Within reach' })).id;
    w.far = (await post('/resources', { type: 'account', name: 'Out of reach' })).id;
    w.callerKey = (await post(`/resources/${w.reachable}/tokens`, { name: 'caller', level: 'administrator' })).key;
    w.farToken = (await post(`/resources/${w.far}/tokens`, { name: 'far', level: 'administrator' })).id;
    const member = await userWithSession(app, kg, 'user');
    const grant = await call(app, 'PUT', `/api/v1.0/resources/${w.reachable}/members/${member.id}`, {
      ...asAdmin,
      body: { role: 'administrator' },
    });
    assert.equal(grant.status, 200, JSON.stringify(grant.body));
    w.cookie = member.cookie;
  });

  const ROUTES: { name: string; kind: 'res' | 'tok'; url: (id: string) => string }[] = [
    { name: 'GET /resources/:id', kind: 'res', url: (id) => `/resources/${id}` },
    { name: 'GET /resources/:id/children', kind: 'res', url: (id) => `/resources/${id}/children` },
    { name: 'GET /resources/:id/members', kind: 'res', url: (id) => `/resources/${id}/members` },
    { name: 'GET /resources/:id/tokens', kind: 'res', url: (id) => `/resources/${id}/tokens` },
    { name: 'GET /tokens/:id', kind: 'tok', url: (id) => `/tokens/${id}` },
  ];

  for (const who of ['token', 'session user'] as const) {
    describe(`as a ${who}`, () => {
      for (const route of ROUTES) {
        it(`${route.name}: the same 404 after the same store reads`, async () => {
          const { app, kg } = env();
          const auth = who === 'token' ? { key: w.callerKey } : { cookie: w.cookie };
          const far = route.kind === 'res' ? w.far : w.farToken;
          const get = (id: string) => () => call(app, 'GET', `/api/v1.0${route.url(id)}`, auth);
          // Warm: the caller, and the out-of-reach target, are in the caches as in a running server.
          for (let i = 0; i < 2; i++) {
            await get(far)();
            await get(newId(route.kind))();
          }
          // A fresh id each time, as a guess is: nothing can have cached it.
          const missing = await storeCalls(kg.stores, get(newId(route.kind)));
          const outOfReach = await storeCalls(kg.stores, get(far));
          assert.equal(missing.reply.status, 404, JSON.stringify(missing.reply.body));
          assert.deepEqual(visible(outOfReach.reply), visible(missing.reply));
          assert.deepEqual(outOfReach.calls, missing.calls, 'out of reach and missing read the store alike');
        });
      }
    });
  }
});
