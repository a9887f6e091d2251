import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, it } from 'node:test';
import formbody from '@fastify/formbody';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { generateKey } from '../../src/domain/keys.js';
import { createVerifier, type Verifier } from '../../sdk/src/index.js';
import { keygate as expressKeygate } from '../../sdk/src/express.js';
import { keygate as fastifyKeygate } from '../../sdk/src/fastify.js';
import { keygate as honoKeygate, type KeygateVariables } from '../../sdk/src/hono.js';
import { call, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

/**
 * The three middlewares in real servers against a live keygate: a valid key passes in every carrier
 * the server reads, with the decision attached; refusals come in keygate's envelope with the codes and
 * statuses the server itself uses.
 */

interface Routes {
  url: string;
  close(): Promise<void>;
}

async function fastifyApp(verifier: Verifier, down: Verifier): Promise<Routes> {
  const app = Fastify();
  await app.register(formbody);
  const answer = (request: { keygate?: { token?: { id: string } } }) => ({ token: request.keygate?.token?.id });
  app.route({ method: ['GET', 'POST'], url: '/any', preHandler: fastifyKeygate(verifier), handler: answer });
  app.get('/perm', { preHandler: fastifyKeygate(verifier, { permission: 'tokens:manage' }) }, answer);
  app.get('/group', { preHandler: fastifyKeygate(verifier, { apiGroup: 'webhooks' }) }, answer);
  app.get(
    '/scoped/:rid',
    {
      preHandler: fastifyKeygate(verifier, {
        permission: 'resources:read',
        resourceId: (r) => (r.params as { rid: string }).rid,
      }),
    },
    answer,
  );
  app.get('/down', { preHandler: fastifyKeygate(down) }, answer);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  };
}

async function expressApp(verifier: Verifier, down: Verifier): Promise<Routes> {
  const app = express();
  app.use(express.json(), express.urlencoded({ extended: false }));
  const answer = (req: express.Request, res: express.Response) => {
    res.json({ token: req.keygate?.token?.id });
  };
  app.all('/any', expressKeygate(verifier), answer);
  app.get('/perm', expressKeygate(verifier, { permission: 'tokens:manage' }), answer);
  app.get('/group', expressKeygate(verifier, { apiGroup: 'webhooks' }), answer);
  app.get(
    '/scoped/:rid',
    expressKeygate(verifier, { permission: 'resources:read', resourceId: (req) => req.params.rid as string }),
    answer,
  );
  app.get('/down', expressKeygate(down), answer);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function honoApp(verifier: Verifier, down: Verifier): Promise<Routes> {
  const app = new Hono<{ Variables: KeygateVariables }>();
  const answer = (c: { get(name: 'keygate'): { token?: { id: string } }; json(v: unknown): Response }) =>
    c.json({ token: c.get('keygate').token?.id });
  // Hono has no portable client address: the Node adapter's socket is read here.
  const clientIp = (c: { env: unknown }) =>
    (c.env as { incoming?: { socket?: { remoteAddress?: string } } }).incoming?.socket?.remoteAddress;
  app.on(['GET', 'POST'], '/any', honoKeygate(verifier, { clientIp }), answer);
  app.get('/perm', honoKeygate(verifier, { permission: 'tokens:manage' }), answer);
  app.get('/group', honoKeygate(verifier, { apiGroup: 'webhooks' }), answer);
  app.get(
    '/scoped/:rid',
    honoKeygate(verifier, { permission: 'resources:read', resourceId: (c) => c.req.param('rid') }),
    answer,
  );
  app.get('/down', honoKeygate(down), answer);
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const FRAMEWORKS = { fastify: fastifyApp, express: expressApp, hono: honoApp };

forEachDialect('SDK middlewares against a live keygate', (env) => {
  let verifier: Verifier;
  let down: Verifier;
  const apps: Partial<Record<keyof typeof FRAMEWORKS, Routes>> = {};
  const f = {
    reader: { id: '', key: '' },
    disabled: { id: '', key: '' },
    inside: { id: '', key: '' },
    spent: { id: '', key: '' },
    limited: { id: '', key: '' },
    outside: { id: '', key: '' },
    folder: '',
    other: '',
  };

  after(async () => {
    for (const app of Object.values(apps)) await app.close();
    verifier?.close();
    down?.close();
  });

  it('sets up keygate, a verifier token, tokens to judge, and the three servers', async () => {
    const { app, kg } = env();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const admin = await userWithSession(app, kg, 'admin');
    const post = async (url: string, body: unknown) => {
      const r = await call(app, 'POST', url, { cookie: admin.cookie, body });
      assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
      return r.body;
    };
    const account = (await post('/api/v1.0/resources', { type: 'account', name: 'A' })).id;
    f.folder = (await post('/api/v1.0/resources', { type: 'folder', name: 'F', parentId: account })).id;
    f.other = (await post('/api/v1.0/resources', { type: 'account', name: 'B' })).id;
    const verifierToken = await post(`/api/v1.0/resources/${account}/tokens`, {
      name: 'verifier',
      level: 'administrator',
      apiGroups: ['verify'],
    });
    f.reader = await post(`/api/v1.0/resources/${f.folder}/tokens`, {
      name: 'reader',
      level: 'reader',
      apiGroups: ['resources'],
    });
    f.disabled = await post(`/api/v1.0/resources/${f.folder}/tokens`, { name: 'off' });
    f.inside = await post(`/api/v1.0/resources/${f.folder}/tokens`, { name: 'in', ipAllowlist: ['127.0.0.1', '::1'] });
    f.outside = await post(`/api/v1.0/resources/${f.folder}/tokens`, { name: 'out', ipAllowlist: ['10.0.0.0/8'] });
    f.spent = await post(`/api/v1.0/resources/${f.folder}/tokens`, { name: 'spent', credits: { remaining: 0 } });
    f.limited = await post(`/api/v1.0/resources/${f.folder}/tokens`, {
      name: 'limited',
      rateLimit: { limit: 1, window: '1h' },
    });
    await post(`/api/v1.0/tokens/${f.disabled.id}/deactivate`, {});
    // The events endpoint is another branch's work; these tests judge the middleware, not invalidation.
    verifier = createVerifier({ baseUrl: base, key: verifierToken.key, events: false });
    down = createVerifier({ baseUrl: 'http://127.0.0.1:9', key: verifierToken.key, events: false, timeoutMs: 500 });
    for (const [name, build] of Object.entries(FRAMEWORKS)) {
      apps[name as keyof typeof FRAMEWORKS] = await build(verifier, down);
    }
  });

  for (const name of Object.keys(FRAMEWORKS) as (keyof typeof FRAMEWORKS)[]) {
    const send = async (path: string, init: RequestInit = {}) => {
      const res = await fetch(`${apps[name]!.url}${path}`, init);
      return { status: res.status, body: (await res.json()) as any };
    };
    const refused = async (path: string, init: RequestInit, status: number, code: string) => {
      const r = await send(path, init);
      assert.equal(r.status, status, `${name} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code);
      assert.equal(typeof r.body.error.message, 'string');
      assert.match(r.body.error.requestId, /\S/);
    };

    it(`${name}: a valid key passes in every carrier, with the decision attached`, async () => {
      const key = f.reader.key;
      const carriers: [string, RequestInit][] = [
        ['/any', { headers: { 'x-api-key': key } }],
        ['/any', { headers: { 'x-apikey': key } }],
        ['/any', { headers: { authorization: `Bearer ${key}` } }],
        ['/any', { headers: { authorization: `apiToken ${key}` } }],
        [`/any?key=${key}`, {}],
        [`/any?apiToken=${key}`, {}],
        [
          '/any',
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ key }).toString(),
          },
        ],
        [
          '/any',
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ API_Key: key }) },
        ],
        // The same key twice is one key.
        ['/any', { headers: { 'x-api-key': key, authorization: `Bearer ${key}` } }],
      ];
      for (const [path, init] of carriers) {
        const r = await send(path, init);
        assert.equal(r.status, 200, `${name} ${path} ${JSON.stringify(init)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.token, f.reader.id);
      }
    });

    it(`${name}: the client's address is sent, so IP allowlists hold behind the middleware`, async () => {
      const inside = await send('/any', { headers: { 'x-api-key': f.inside.key } });
      assert.equal(inside.status, 200, JSON.stringify(inside.body));
      assert.equal(inside.body.token, f.inside.id);
      await refused('/any', { headers: { 'x-api-key': f.outside.key } }, 403, 'IP_NOT_ALLOWED');
    });

    it(`${name}: a token out of credits or over its rate limit is refused with the server's 429 codes`, async () => {
      await refused('/any', { headers: { 'x-api-key': f.spent.key } }, 429, 'USAGE_EXCEEDED');
      // One request an hour for all three servers: the first of them may use it.
      const first = await send('/any', { headers: { 'x-api-key': f.limited.key } });
      if (first.status === 200) assert.equal(first.body.token, f.limited.id);
      else assert.equal(first.body.error.code, 'RATE_LIMITED');
      await refused('/any', { headers: { 'x-api-key': f.limited.key } }, 429, 'RATE_LIMITED');
    });

    it(`${name}: refusals in keygate's envelope, with the server's codes and statuses`, async () => {
      await refused('/any', {}, 401, 'UNAUTHENTICATED');
      await refused(
        '/any',
        { headers: { 'x-api-key': f.reader.key, authorization: `Bearer ${f.disabled.key}` } },
        400,
        'AMBIGUOUS_CREDENTIALS',
      );
      await refused('/any', { headers: { 'x-api-key': 'kg_broken' } }, 401, 'KEY_MALFORMED');
      await refused('/any', { headers: { 'x-api-key': generateKey('kg_') } }, 401, 'KEY_INVALID');
      await refused('/any', { headers: { 'x-api-key': f.disabled.key } }, 401, 'KEY_DISABLED');
      await refused('/perm', { headers: { 'x-api-key': f.reader.key } }, 403, 'INSUFFICIENT_PERMISSIONS');
      await refused('/group', { headers: { 'x-api-key': f.reader.key } }, 403, 'API_GROUP_NOT_ALLOWED');
      await refused(`/scoped/${f.other}`, { headers: { 'x-api-key': f.reader.key } }, 404, 'NOT_FOUND');
      await refused('/down', { headers: { 'x-api-key': f.reader.key } }, 503, 'UNAVAILABLE');
      const inScope = await send(`/scoped/${f.folder}`, { headers: { 'x-api-key': f.reader.key } });
      assert.equal(inScope.status, 200, JSON.stringify(inScope.body));
    });
  }
});
