import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { verifyIdentity } from '../../src/gateway/identity.js';
import type { GatewayRoute } from '../../src/gateway/types.js';
import { asUser, userWithSession } from '../support/client.js';
import { GATEWAY_SECRET, startGatewayRig, upstreamConfig } from '../support/gateway.js';
import { forEachDialect } from '../support/harness.js';
import { noteSecret } from '../support/secret-scan.js';
import { deadPort, startUpstream, type Received } from '../support/upstream.js';
import { send } from '../support/wire.js';

const MODEL = join(mkdtempSync(join(tmpdir(), 'keygate-gw-')), 'keygate.json');
writeFileSync(MODEL, JSON.stringify({ apiGroups: { buildings: 'Buildings and their files.' } }));

const B = '/api/v3.0';
const ROUTES: GatewayRoute[] = [
  {
    method: 'GET',
    path: `${B}/building`,
    apiGroup: 'buildings',
    permission: 'resources:read',
    target: { in: 'token' },
  },
  {
    method: 'GET',
    path: `${B}/building/{id}`,
    apiGroup: 'buildings',
    permission: 'resources:read',
    target: { in: 'path', name: 'id', type: 'building' },
  },
  {
    method: 'PUT',
    path: `${B}/building/{id}`,
    apiGroup: 'buildings',
    permission: 'resources:write',
    target: { in: 'path', name: 'id', type: 'building' },
  },
  {
    method: 'POST',
    path: `${B}/building`,
    apiGroup: 'buildings',
    permission: 'resources:write',
    target: { in: 'body', name: 'folderId', type: 'folder' },
    register: { type: 'building', idField: 'id', parentField: 'folderId', nameField: 'name' },
  },
  {
    method: 'GET',
    path: `${B}/search`,
    apiGroup: 'buildings',
    permission: 'resources:read',
    target: { in: 'query', name: 'folderId', type: 'folder' },
  },
  {
    method: 'POST',
    path: `${B}/building/{buildingId}/file`,
    apiGroup: 'buildings',
    permission: 'resources:write',
    target: { in: 'path', name: 'buildingId', type: 'building' },
  },
  { method: 'GET', path: `${B}/ping`, target: { in: 'token' }, public: true },
  {
    method: 'GET',
    path: `${B}/building/{buildingId}/file`,
    apiGroup: 'buildings',
    permission: 'resources:read',
    target: { in: 'path', name: 'buildingId', type: 'building' },
  },
  {
    method: 'POST',
    path: `${B}/big`,
    apiGroup: 'buildings',
    permission: 'resources:write',
    target: { in: 'token' },
    register: { type: 'building', idField: 'id' },
  },
];

/** Every place a key could hide in what the upstream received. */
function seenByUpstream(r: Received): string {
  return [r.method, r.url, ...r.rawHeaders, r.body.toString('latin1')].join('\n');
}

forEachDialect(
  'the gateway',
  (env) => {
    let upstream: Awaited<ReturnType<typeof startUpstream>>;
    let gw: Awaited<ReturnType<typeof startGatewayRig>>;
    const keys: Record<string, string> = {};
    const ids: Record<string, string> = {};

    before(async () => {
      const { kg, app } = env();
      upstream = await startUpstream((req, res, body) => {
        if (req.method === 'POST' && req.url === `${B}/building`) {
          const input = JSON.parse(body.toString('utf8')) as { folderId: string; name: string };
          res.writeHead(201, { 'content-type': 'application/json', 'x-secret-hop': 'x', connection: 'x-secret-hop' });
          res.end(JSON.stringify({ id: `b-${input.name.toLowerCase()}`, folderId: input.folderId, name: input.name }));
          return;
        }
        if (req.url === `${B}/building/b-1/file` && req.method === 'GET') {
          // 16 MiB in 1 MiB chunks, without a length: the gateway must pass it on as it comes.
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          let sent = 0;
          const more = () => {
            while (sent < 16) {
              const room = res.write(Buffer.alloc(1024 * 1024, sent));
              sent++;
              if (!room) return void res.once('drain', more);
            }
            res.end();
          };
          more();
          return;
        }
        if (req.url === `${B}/big`) {
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: 'b-big', padding: 'x'.repeat(2 * 1024 * 1024) }));
          return;
        }
        if (req.url?.endsWith('/file')) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url }));
      });
      gw = await startGatewayRig(kg, [upstreamConfig(upstream.url, ROUTES)]);

      const admin = await userWithSession(app, kg, 'admin');
      const asAdmin = await asUser(kg, admin.id);
      const made = await kg.resources.bulkUpsert(
        asAdmin,
        [
          { externalId: 'acme', type: 'account', name: 'Acme' },
          { externalId: 'f-1', type: 'folder', name: 'Folder one', parentExternalId: 'acme' },
          { externalId: 'f-2', type: 'folder', name: 'Folder two', parentExternalId: 'acme' },
          { externalId: 'b-1', type: 'building', name: 'Building one', parentExternalId: 'f-1' },
          { externalId: 'b-2', type: 'building', name: 'Building two', parentExternalId: 'f-2' },
        ],
        null,
      );
      for (const item of made) ids[item.externalId] = item.id;
      const manager = await userWithSession(app, kg, 'user');
      await kg.resources.setRole(asAdmin, ids['f-1']!, manager.id, 'manager', null);
      const asManager = await asUser(kg, manager.id);
      const mint = async (name: string, input: Record<string, unknown>) => {
        const { key } = await kg.tokens.create(asManager, ids['f-1']!, { name, ...input }, null);
        noteSecret(key);
        keys[name] = key;
      };
      await mint('manager', { level: 'manager', apiGroups: ['buildings'] });
      await mint('reader', { level: 'reader', apiGroups: ['buildings'] });
      await mint('tokens-only', { level: 'manager', apiGroups: ['tokens'] });
      await mint('deactivated', { level: 'manager' });
    });
    after(async () => {
      await gw?.close();
      await upstream?.close();
    });

    const get = (path: string, headers: Record<string, string> = {}) => send(gw.port, 'GET', path, headers);

    it('passes a key in every carrier the core reads, and the upstream never sees it', async () => {
      const key = keys.manager!;
      const cases: [string, string, Record<string, string>, string | undefined][] = [
        ['GET', `${B}/building/b-1`, { 'x-api-key': key }, undefined],
        ['GET', `${B}/building/b-1`, { 'x-apikey': key }, undefined],
        ['GET', `${B}/building/b-1`, { authorization: `apiToken ${key}` }, undefined],
        ['GET', `${B}/building/b-1`, { authorization: `Bearer ${key}` }, undefined],
        ['GET', `${B}/building/b-1?key=${key}&expand=1`, {}, undefined],
        ['GET', `${B}/building/b-1?expand=1&apiToken=${key}`, {}, undefined],
        ['PUT', `${B}/building/b-1`, { 'content-type': 'application/x-www-form-urlencoded' }, `name=x&key=${key}`],
        [
          'PUT',
          `${B}/building/b-1`,
          { 'content-type': 'application/json' },
          JSON.stringify({ name: 'x', API_Key: key }),
        ],
      ];
      for (const [method, path, headers, body] of cases) {
        const before = upstream.received.length;
        const res = await send(gw.port, method, path, headers, body);
        assert.equal(res.status, 200, `${method} ${path} ${JSON.stringify(headers)}: ${JSON.stringify(res.body)}`);
        assert.equal(upstream.received.length, before + 1);
        const got = upstream.received.at(-1)!;
        assert.ok(!seenByUpstream(got).includes(key), `the upstream saw the key (${JSON.stringify(headers)} ${path})`);
        if (path.includes('expand=1')) assert.match(got.url, /\?expand=1$/);
        if (body?.includes('name=x')) assert.equal(got.body.toString(), 'name=x');
        if (body?.startsWith('{')) assert.deepEqual(JSON.parse(got.body.toString()), { name: 'x' });
        const identity = verifyIdentity(GATEWAY_SECRET, got.headers, got.method, got.url);
        assert.ok(identity, 'signed identity verifies');
        assert.equal(identity.resourceId, ids['b-1']);
        assert.equal(identity.scopeId, ids['f-1']);
        assert.ok(identity.permissions.includes('resources:write'));
        assert.equal(identity.requestId, res.headers['x-request-id']);
      }
    });

    it('refuses in the core envelope, and forwards nothing it refuses', async () => {
      const before = upstream.received.length;
      const expect = async (res: Promise<{ status: number; body: any }>, status: number, code: string) => {
        const r = await res;
        assert.equal(r.status, status, JSON.stringify(r.body));
        assert.equal(r.body.error.code, code);
        assert.match(r.body.error.requestId, /\S/);
      };
      await expect(get(`${B}/building/b-1`), 401, 'UNAUTHENTICATED');
      await expect(get(`${B}/building/b-1`, { 'x-api-key': 'kg_nonsense' }), 401, 'KEY_MALFORMED');
      const { kg } = env();
      const unknown = kg.keys.generate();
      noteSecret(unknown);
      await expect(get(`${B}/building/b-1`, { 'x-api-key': unknown }), 401, 'KEY_INVALID');
      await expect(
        get(`${B}/building/b-1`, { 'x-api-key': keys.manager!, 'x-apikey': keys.reader! }),
        400,
        'AMBIGUOUS_CREDENTIALS',
      );
      await expect(get(`${B}/building/b-1`, { 'x-api-key': keys['tokens-only']! }), 403, 'API_GROUP_NOT_ALLOWED');
      // Out of reach and missing read the same: nothing to learn about other folders.
      const outside = await get(`${B}/building/b-2`, { 'x-api-key': keys.manager! });
      const missing = await get(`${B}/building/b-nowhere`, { 'x-api-key': keys.manager! });
      assert.equal(outside.status, 404);
      assert.equal(missing.status, 404);
      assert.deepEqual({ ...outside.body.error, requestId: '' }, { ...missing.body.error, requestId: '' });
      await expect(
        send(gw.port, 'PUT', `${B}/building/b-1`, { 'x-api-key': keys.reader! }),
        403,
        'INSUFFICIENT_PERMISSIONS',
      );
      await expect(get(`${B}/not-in-the-table`, { 'x-api-key': keys.manager! }), 404, 'ROUTE_NOT_FOUND');
      await expect(get(`${B}/building/b-1/../b-2`, { 'x-api-key': keys.manager! }), 404, 'ROUTE_NOT_FOUND');
      await expect(get(`${B}/search?folderId=a&folderId=b`, { 'x-api-key': keys.manager! }), 400, 'VALIDATION_FAILED');
      await expect(get(`${B}/search?folderId=f-2`, { 'x-api-key': keys.manager! }), 404, 'NOT_FOUND');
      // Where parsers disagree, the gateway refuses rather than judge one value and forward another.
      const json = { 'x-api-key': keys.manager!, 'content-type': 'application/json' };
      await expect(
        send(gw.port, 'POST', `${B}/building`, json, '{"folderId":"f-2","folderId":"f-1","name":"x"}'),
        400,
        'MALFORMED_BODY',
      );
      await expect(
        send(gw.port, 'POST', `${B}/building`, json, '{"folderId":"f-1","folderid":"f-2","name":"x"}'),
        400,
        'VALIDATION_FAILED',
      );
      await expect(
        send(gw.port, 'POST', `${B}/building`, json, '{"folder\\u0049d":"f-2","name":"x"}'),
        404,
        'NOT_FOUND',
      );
      await expect(get(`${B}/search?folderid=f-2`, { 'x-api-key': keys.manager! }), 404, 'NOT_FOUND');
      await expect(
        get(`${B}/search?folderId=f-1&FOLDERID=f-2`, { 'x-api-key': keys.manager! }),
        400,
        'VALIDATION_FAILED',
      );
      assert.equal(upstream.received.length, before, 'no refused request reached the upstream');
      assert.equal((await get(`${B}/search?folderId=f-1`, { 'x-api-key': keys.manager! })).status, 200);
      // Without the optional filter, the request is judged at the token's own resource.
      assert.equal((await get(`${B}/search`, { 'x-api-key': keys.manager! })).status, 200);
      const judged = verifyIdentity(GATEWAY_SECRET, upstream.received.at(-1)!.headers, 'GET', `${B}/search`);
      assert.equal(judged?.resourceId, ids['f-1']);
    });

    it('refuses a deactivated key at once', async () => {
      const { kg } = env();
      const key = keys.deactivated!;
      // The token needs the group; deactivated tokens answer KEY_DISABLED before any group check.
      const verdict = await kg.access.evaluateKey(key);
      assert.ok('token' in verdict);
      const admin = await userWithSession(env().app, kg, 'admin');
      await kg.tokens.update(await asUser(kg, admin.id), verdict.token.facts.id, { active: false }, null);
      const res = await get(`${B}/building`, { 'x-api-key': key });
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'KEY_DISABLED');
    });

    it('strips forged identity, hop-by-hop headers and untrusted X-Forwarded-*', async () => {
      const res = await get(`${B}/building`, {
        'x-api-key': keys.manager!,
        'x-keygate-token-id': 'tok_forged',
        'x-keygate-signature': 'v1=forged',
        connection: 'x-private-hop',
        'x-private-hop': 'secret',
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-host': 'evil.example',
      });
      assert.equal(res.status, 200);
      const got = upstream.received.at(-1)!;
      assert.notEqual(got.headers['x-keygate-token-id'], 'tok_forged');
      assert.equal(got.headers['x-private-hop'], undefined);
      assert.equal(got.headers['x-forwarded-for'], '127.0.0.1');
      assert.notEqual(got.headers['x-forwarded-host'], 'evil.example');
      assert.match(String(got.headers.via), /keygate/);
      // A replayed identity for another path does not verify.
      assert.equal(verifyIdentity(GATEWAY_SECRET, got.headers, 'GET', `${B}/building/b-2`), null);
      assert.equal(verifyIdentity('another-secret', got.headers, got.method, got.url), null);
    });

    it('registers the resource a 201 creates, so the next request can reach it', async () => {
      const created = await send(
        gw.port,
        'POST',
        `${B}/building`,
        { 'x-api-key': keys.manager!, 'content-type': 'application/json' },
        JSON.stringify({ folderId: 'f-1', name: 'Annex' }),
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.deepEqual(created.body, { id: 'b-annex', folderId: 'f-1', name: 'Annex' });
      assert.equal(created.headers['x-secret-hop'], undefined, 'hop-by-hop answer headers are dropped');
      const res = await get(`${B}/building/b-annex`, { 'x-api-key': keys.manager! });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const { kg } = env();
      const id = await kg.resources.resolveRef('b-annex', 'building');
      assert.ok(id);
      assert.equal((await kg.stores.resources.findById(id))?.parent_id, ids['f-1']);
      // A folder outside the token's reach: refused before the upstream, nothing registered.
      const outside = await send(
        gw.port,
        'POST',
        `${B}/building`,
        { 'x-api-key': keys.manager!, 'content-type': 'application/json' },
        JSON.stringify({ folderId: 'f-2', name: 'Sneaky' }),
      );
      assert.equal(outside.status, 404);
      assert.equal(await kg.resources.resolveRef('b-sneaky', 'building'), null);
    });

    it('streams a large answer back, chunked as it comes', async () => {
      const { size, hash, chunked } = await new Promise<{ size: number; hash: string; chunked: boolean }>(
        (resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: gw.port,
              path: `${B}/building/b-1/file`,
              headers: { 'x-api-key': keys.manager! },
            },
            (res) => {
              const h = createHash('sha256');
              let n = 0;
              res.on('data', (c: Buffer) => {
                n += c.length;
                h.update(c);
              });
              res.on('end', () =>
                resolve({ size: n, hash: h.digest('hex'), chunked: res.headers['transfer-encoding'] === 'chunked' }),
              );
            },
          );
          req.on('error', reject);
          req.end();
        },
      );
      const expected = createHash('sha256');
      for (let i = 0; i < 16; i++) expected.update(Buffer.alloc(1024 * 1024, i));
      assert.equal(size, 16 * 1024 * 1024);
      assert.equal(hash, expected.digest('hex'));
      assert.ok(chunked);
    });

    it('passes an answer too long to register whole, and registers nothing', async () => {
      const res = await send(gw.port, 'POST', `${B}/big`, { 'x-api-key': keys.manager! });
      assert.equal(res.status, 201);
      assert.equal(res.body.id, 'b-big');
      assert.equal(res.body.padding.length, 2 * 1024 * 1024);
      assert.equal(await env().kg.resources.resolveRef('b-big', 'building'), null);
    });

    it('streams a large upload through unchanged', async () => {
      const size = 32 * 1024 * 1024;
      const hash = createHash('sha256');
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: '127.0.0.1',
            port: gw.port,
            method: 'POST',
            path: `${B}/building/b-1/file`,
            headers: { 'x-api-key': keys.manager!, 'content-type': 'application/octet-stream' },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => {
              text += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        const mib = 1024 * 1024;
        for (let i = 0; i < size / mib; i++) {
          // A new buffer each time: write() keeps a reference until the bytes are sent.
          const chunk = Buffer.alloc(mib, i % 251);
          hash.update(chunk);
          req.write(chunk);
        }
        req.end();
      });
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), { bytes: size, sha256: hash.digest('hex') });
    });

    it('passes public routes without a key, and still strips one', async () => {
      assert.equal((await get(`${B}/ping`)).status, 200);
      const res = await get(`${B}/ping?key=${keys.manager!}`, { 'x-api-key': keys.manager! });
      assert.equal(res.status, 200);
      assert.ok(!seenByUpstream(upstream.received.at(-1)!).includes(keys.manager!));
    });

    it('records gateway calls in the access log, without the key', async () => {
      const { kg } = env();
      await get(`${B}/building/b-1?expand=2`, { 'x-api-key': keys.reader! });
      await kg.accessLog.flush();
      const rows = await kg.stores.db
        .selectFrom('access_log')
        .selectAll()
        .where('route', '=', `${B}/building/{id}`)
        .where('path', '=', `${B}/building/b-1`)
        .execute();
      assert.ok(rows.length > 0, 'recorded');
      assert.ok(rows.some((r) => r.api_version === 'v3.0' && r.status === 200 && r.token_id !== null));
      for (const key of Object.values(keys)) assert.ok(!JSON.stringify(rows).includes(key));
    });
  },
  { KEYGATE_CONFIG: MODEL },
);

forEachDialect('the gateway when the upstream fails', (env) => {
  let key = '';
  before(async () => {
    const { kg, app } = env();
    const admin = await userWithSession(app, kg, 'admin');
    const p = await asUser(kg, admin.id);
    const acct = await kg.resources.create(p, { type: 'account', name: 'A' }, null);
    key = (await kg.tokens.create(p, acct.id, { name: 'k', level: 'reader' }, null)).key;
    noteSecret(key);
  });
  const route: GatewayRoute[] = [{ method: '*', path: '/{any}', target: { in: 'token' } }];

  it('answers 502 UPSTREAM_UNAVAILABLE when nothing listens', async () => {
    const gw = await startGatewayRig(env().kg, [upstreamConfig(`http://127.0.0.1:${await deadPort()}`, route)]);
    try {
      const res = await send(gw.port, 'GET', '/x', { 'x-api-key': key });
      assert.equal(res.status, 502);
      assert.equal(res.body.error.code, 'UPSTREAM_UNAVAILABLE');
      assert.equal(gw.upstreams[0]!.health.state, 'down');
    } finally {
      await gw.close();
    }
  });

  it('answers 504 UPSTREAM_TIMEOUT when the upstream never answers', async () => {
    const silent = await startUpstream(() => {});
    const gw = await startGatewayRig(env().kg, [upstreamConfig(silent.url, route)], { responseTimeoutMs: 100 });
    try {
      const res = await send(gw.port, 'GET', '/x', { 'x-api-key': key });
      assert.equal(res.status, 504);
      assert.equal(res.body.error.code, 'UPSTREAM_TIMEOUT');
    } finally {
      await gw.close();
      await silent.close();
    }
  });

  it('passes a WebSocket after the key check, and refuses one without a key', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    let upstreamHeaders: Record<string, unknown> = {};
    wss.on('connection', (socket, req) => {
      upstreamHeaders = req.headers;
      socket.on('message', (data) => socket.send(`echo:${data.toString()}`));
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as { port: number }).port;
    const gw = await startGatewayRig(env().kg, [upstreamConfig(`http://127.0.0.1:${port}`, route)]);
    try {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/live`, { headers: { 'x-api-key': key } });
      const reply = await new Promise<string>((resolve, reject) => {
        ws.on('open', () => ws.send('hello'));
        ws.on('message', (data) => resolve(data.toString()));
        ws.on('error', reject);
      });
      assert.equal(reply, 'echo:hello');
      ws.close();
      assert.equal(upstreamHeaders['x-api-key'], undefined);
      assert.ok(upstreamHeaders['x-keygate-signature']);
      const refused = new WebSocket(`ws://127.0.0.1:${gw.port}/live`);
      const status = await new Promise<number>((resolve) => {
        refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        refused.on('error', () => resolve(-1));
      });
      assert.equal(status, 401);
    } finally {
      await gw.close();
      await new Promise((resolve) => wss.close(resolve));
    }
  });
});
