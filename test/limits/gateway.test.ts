import type { IncomingMessage } from 'node:http';
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { GatewayRoute } from '../../src/gateway/types.js';
import { asUser, userWithSession } from '../support/client.js';
import { startGatewayRig, upstreamConfig } from '../support/gateway.js';
import { forEachDialect } from '../support/harness.js';
import { noteSecret } from '../support/secret-scan.js';
import { startUpstream } from '../support/upstream.js';
import { parseRaw, rawExchange, send } from '../support/wire.js';
import { clientAddress } from '../../src/gateway/websocket.js';

/**
 * Token limits through the gateway, over real sockets: the same codes as /verify, the RateLimit
 * fields to the client (never to the upstream), and nothing forwarded once a limit refuses.
 */

const ROUTES: GatewayRoute[] = [
  { method: 'GET', path: '/api/things', permission: 'resources:read', target: { in: 'token' } },
  { method: 'GET', path: '/api/admin', permission: 'resources:write', target: { in: 'token' } },
];

forEachDialect('token limits through the gateway', (env) => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let gw: Awaited<ReturnType<typeof startGatewayRig>>;
  let mint: (input: Record<string, unknown>) => Promise<string>;

  before(async () => {
    const { kg, app } = env();
    upstream = await startUpstream((_req, res) => {
      // An upstream's own RateLimit fields must not pass for the token's.
      res.writeHead(200, { 'content-type': 'application/json', ratelimit: '"upstream";r=999;t=1' });
      res.end('{"ok":true}');
    });
    gw = await startGatewayRig(kg, [upstreamConfig(upstream.url, ROUTES)]);
    const admin = await userWithSession(app, kg, 'admin');
    const asAdmin = await asUser(kg, admin.id);
    const account = (await kg.resources.create(asAdmin, { type: 'account', name: 'A' }, null)).id;
    mint = async (input) => {
      const { key } = await kg.tokens.create(asAdmin, account, { name: 't', level: 'reader', ...input }, null);
      noteSecret(key);
      return key;
    };
  });
  after(async () => {
    await gw?.close();
    await upstream?.close();
  });

  const get = (path: string, key: string) => send(gw.port, 'GET', path, { 'x-api-key': key });

  it('counts admitted requests, tells the client its numbers, and refuses with 429 RATE_LIMITED', async () => {
    const key = await mint({ rateLimit: { limit: 2, window: '1m' } });
    const before = upstream.received.length;
    const first = await get('/api/things', key);
    assert.equal(first.status, 200);
    assert.equal(first.headers['ratelimit-policy'], '"token";q=2;w=60');
    assert.match(String(first.headers.ratelimit), /^"token";r=1;t=\d+$/);
    assert.equal((await get('/api/things', key)).status, 200);
    const over = await get('/api/things', key);
    assert.equal(over.status, 429);
    assert.equal(over.body.error.code, 'RATE_LIMITED');
    assert.ok(Number(over.headers['retry-after']) >= 1);
    assert.equal(upstream.received.length, before + 2, 'the refused request was not forwarded');
    for (const r of upstream.received.slice(before))
      assert.ok(!Object.keys(r.headers).some((h) => h.startsWith('ratelimit')), 'no RateLimit fields upstream');
  });

  it('a request refused for its permission is not counted', async () => {
    const key = await mint({ rateLimit: { limit: 1, window: '1m' } });
    for (let i = 0; i < 3; i++) assert.equal((await get('/api/admin', key)).status, 403);
    assert.equal((await get('/api/things', key)).status, 200);
  });

  it('credits: USAGE_EXCEEDED once spent; allowlist: IP_NOT_ALLOWED from another address', async () => {
    const credits = await mint({ credits: { remaining: 1 } });
    assert.equal((await get('/api/things', credits)).status, 200);
    const spent = await get('/api/things', credits);
    assert.equal(spent.status, 429);
    assert.equal(spent.body.error.code, 'USAGE_EXCEEDED');
    const elsewhere = await mint({ ipAllowlist: ['203.0.113.0/24'] });
    const refused = await get('/api/things', elsewhere);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'IP_NOT_ALLOWED');
    const here = await mint({ ipAllowlist: ['127.0.0.0/8', '::1'] });
    assert.equal((await get('/api/things', here)).status, 200);
  });

  it('upgrade requests meet the same limits (an upgrade the upstream declines would otherwise pass uncounted)', async () => {
    const upgrade = (key: string) =>
      rawExchange(
        gw.port,
        `GET /api/things HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-API-Key: ${key}\r\n\r\n`,
      ).then(parseRaw);
    const before = upstream.received.length;
    const spent = await upgrade(await mint({ credits: { remaining: 0 } }));
    assert.equal(spent.status, 429);
    assert.equal(JSON.parse(spent.body).error.code, 'USAGE_EXCEEDED');
    const fenced = await upgrade(await mint({ ipAllowlist: ['203.0.113.0/24'] }));
    assert.equal(fenced.status, 403);
    assert.equal(JSON.parse(fenced.body).error.code, 'IP_NOT_ALLOWED');
    assert.equal(upstream.received.length, before, 'nothing was forwarded');
  });
});

it('upgrade client address: the peer, or past trusted proxies the X-Forwarded-For entry to their left', () => {
  const trusted = (a: string | undefined) => a === '10.0.0.1' || a === '10.0.0.2';
  const req = (peer: string, forwardedFor?: string | string[]) =>
    ({ socket: { remoteAddress: peer }, headers: { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;
  assert.equal(clientAddress(req('198.51.100.1', '203.0.113.9'), trusted), '198.51.100.1', 'an untrusted peer');
  assert.equal(clientAddress(req('10.0.0.1', '203.0.113.9'), trusted), '203.0.113.9');
  assert.equal(clientAddress(req('10.0.0.1', ['1.1.1.1, 203.0.113.9', '10.0.0.2']), trusted), '203.0.113.9');
  assert.equal(clientAddress(req('10.0.0.1'), trusted), '10.0.0.1');
});
