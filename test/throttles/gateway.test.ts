import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { GatewayRoute } from '../../src/gateway/types.js';
import { startGatewayRig, upstreamConfig } from '../support/gateway.js';
import { forEachDialect } from '../support/harness.js';
import { startUpstream } from '../support/upstream.js';
import { send } from '../support/wire.js';
import WebSocket from 'ws';
import { limited, me, unknownKey, validKey } from './helpers.js';

const ROUTES: GatewayRoute[] = [
  { method: 'GET', path: '/thing', target: { in: 'token' } },
  { method: 'GET', path: '/open', target: { in: 'token' }, public: true },
];

forEachDialect(
  'refused-key throttle in the gateway',
  (env) => {
    let upstream: Awaited<ReturnType<typeof startUpstream>>;
    let gw: Awaited<ReturnType<typeof startGatewayRig>>;
    let key: string;

    before(async () => {
      upstream = await startUpstream();
      // The test's own socket is the proxy, so each request can say which client it carries.
      gw = await startGatewayRig(env().kg, [upstreamConfig(upstream.url, ROUTES)], { trustedProxies: ['127.0.0.1'] });
      key = await validKey(env().kg);
    });
    after(async () => {
      await gw?.close();
      await upstream?.close();
    });

    const get = (path: string, client: string, k?: string) =>
      send(gw.port, 'GET', path, { 'x-forwarded-for': client, ...(k === undefined ? {} : { 'x-api-key': k }) });

    it('blocks an address after 3 refused keys, before admission: nothing is looked up or forwarded', async () => {
      const { kg, app } = env();
      const attacker = '198.51.100.77';
      for (let i = 0; i < 3; i++) assert.equal((await get('/thing', attacker, unknownKey())).status, 401);
      const forwarded = upstream.received.length;
      const looked: string[] = [];
      const evaluate = kg.access.evaluateKey.bind(kg.access);
      kg.access.evaluateKey = (k, o) => {
        looked.push(k);
        return evaluate(k, o);
      };
      const counted = await limited(kg, 'refused_keys');
      try {
        const r = await get('/thing', attacker, key);
        assert.equal(r.status, 429, JSON.stringify(r.body));
        assert.equal(r.body.error.code, 'RATE_LIMITED');
        assert.ok(Number(r.headers['retry-after']) > 3500);
        assert.deepEqual(looked, []);
        assert.equal(upstream.received.length, forwarded, 'nothing reached the upstream');
        assert.equal(await limited(kg, 'refused_keys'), counted + 1);

        assert.equal((await get('/thing', '198.51.100.78', key)).status, 200, 'another client is unaffected');
        assert.equal((await get('/open', attacker)).status, 200, 'a public route presents no key and passes');
        // One throttle per keygate: the API refuses the address too.
        assert.equal((await me(app, attacker, key)).status, 429);
      } finally {
        kg.access.evaluateKey = evaluate;
      }
    });

    /** A WebSocket handshake to /thing; the status the gateway answered it with, and its Retry-After. */
    const upgrade = (client: string, k: string) =>
      new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/thing`, {
          headers: { 'x-forwarded-for': client, 'x-api-key': k },
        });
        ws.on('unexpected-response', (_req, res) => {
          resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
          res.resume();
          ws.terminate();
        });
        ws.on('open', () => reject(new Error('the upgrade was let through')));
        ws.on('error', () => {});
      });

    it('WebSocket upgrades count and are refused alike', async () => {
      const { app } = env();
      const attacker = '198.51.100.90';
      for (let i = 0; i < 3; i++) assert.equal((await upgrade(attacker, unknownKey())).status, 401);
      assert.equal((await me(app, attacker, key)).status, 429, 'the upgrades were counted');
      const blocked = await upgrade(attacker, key);
      assert.equal(blocked.status, 429);
      assert.ok(Number(blocked.retryAfter) > 3500);
    });
  },
  { KEYGATE_REFUSED_KEY_LIMIT: '3', KEYGATE_REFUSED_KEY_WINDOW: '1h', KEYGATE_REFUSED_KEY_BLOCK: '1h' },
);
