import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import { forEachDialect } from '../support/harness.js';
import { listen, send } from '../support/wire.js';
import { unknownKey, validKey } from './helpers.js';

describe('KEYGATE_TRUSTED_PROXIES', () => {
  const base = { KEYGATE_DATA_DIR: '/tmp/keygate-unused' };

  it('takes IPv4 and IPv6 addresses and CIDR ranges', () => {
    const config = loadConfig({ ...base, KEYGATE_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.1,2001:db8::/32 ,::1' });
    assert.deepEqual(config.trustedProxies, ['10.0.0.0/8', '192.0.2.1', '2001:db8::/32', '::1']);
    assert.equal(config.trustProxy, false);
  });

  it('refuses what is not an address or range, naming the setting', () => {
    for (const bad of ['10.0.0.0/33', 'proxy.internal', '10.0.0.1/8/2', '2001:db8::/129'])
      assert.throws(
        () => loadConfig({ ...base, KEYGATE_TRUSTED_PROXIES: bad }),
        (err: Error) => err instanceof ConfigError && /^KEYGATE_TRUSTED_PROXIES must be IP addresses/.test(err.message),
        bad,
      );
  });

  it('cannot be combined with KEYGATE_TRUST_PROXY=true', () => {
    assert.throws(
      () => loadConfig({ ...base, KEYGATE_TRUSTED_PROXIES: '10.0.0.1', KEYGATE_TRUST_PROXY: 'true' }),
      /KEYGATE_TRUST_PROXY cannot be set with KEYGATE_TRUSTED_PROXIES/,
    );
  });

  it("is the gateway's list unless KEYGATE_GATEWAY_TRUSTED_PROXIES says otherwise", () => {
    const gateway = { ...base, KEYGATE_GATEWAY_UPSTREAM: 'http://127.0.0.1:9', KEYGATE_TRUSTED_PROXIES: '10.0.0.0/8' };
    assert.deepEqual(loadConfig(gateway).gateway?.trustedProxies, ['10.0.0.0/8']);
    assert.deepEqual(
      loadConfig({ ...gateway, KEYGATE_GATEWAY_TRUSTED_PROXIES: '192.0.2.0/24' }).gateway?.trustedProxies,
      ['192.0.2.0/24'],
    );
    assert.throws(
      () => loadConfig({ ...gateway, KEYGATE_GATEWAY_TRUSTED_PROXIES: 'nope' }),
      /^ConfigError: KEYGATE_GATEWAY_TRUSTED_PROXIES must be IP addresses/,
    );
    // The boolean is not carried over: the gateway believes forwarded headers only from a list.
    assert.deepEqual(
      loadConfig({ ...base, KEYGATE_GATEWAY_UPSTREAM: 'http://127.0.0.1:9', KEYGATE_TRUST_PROXY: 'true' }).gateway
        ?.trustedProxies,
      [],
    );
  });

  it('refused-key settings: defaults, durations, and 0 to turn the block off', () => {
    assert.deepEqual(loadConfig(base).refusedKeys, { limit: 50, windowMs: 60_000, blockMs: 300_000 });
    assert.deepEqual(
      loadConfig({
        ...base,
        KEYGATE_REFUSED_KEY_LIMIT: '0',
        KEYGATE_REFUSED_KEY_WINDOW: '10m',
        KEYGATE_REFUSED_KEY_BLOCK: '1h',
      }).refusedKeys,
      { limit: 0, windowMs: 600_000, blockMs: 3_600_000 },
    );
    assert.throws(() => loadConfig({ ...base, KEYGATE_REFUSED_KEY_BLOCK: 'never' }), /KEYGATE_REFUSED_KEY_BLOCK/);
    assert.throws(() => loadConfig({ ...base, KEYGATE_REFUSED_KEY_LIMIT: '-1' }), /KEYGATE_REFUSED_KEY_LIMIT/);
  });
});

/** A keygate whose API believes X-Forwarded-For only from `proxies`, with a route that tells what it believed. */
async function whoAmIApp(env: () => { kg: Parameters<typeof buildApp>[0] }, proxies: string[]) {
  const { kg } = env();
  // Everything else is read through to the test's keygate (its throttle, replaced below, included).
  const view = Object.assign(Object.create(kg) as typeof kg, { config: { ...kg.config, trustedProxies: proxies } });
  const app = await buildApp(view);
  app.get('/test/ip', { config: { auth: 'none' } }, async (request) => ({ ip: request.ip }));
  return app;
}

forEachDialect('trusted proxies over a real socket', (env) => {
  let untrusting: FastifyTypebox;
  let trusting: FastifyTypebox;
  let untrustingPort: number;
  let trustingPort: number;
  let key: string;

  before(async () => {
    untrusting = await whoAmIApp(env, ['10.0.0.0/8', '2001:db8::/32']);
    trusting = await whoAmIApp(env, ['10.0.0.0/8', '127.0.0.1']);
    untrustingPort = await listen(untrusting);
    trustingPort = await listen(trusting);
    key = await validKey(env().kg);
  });
  after(async () => {
    await untrusting.close();
    await trusting.close();
  });

  const ipSeen = async (port: number, forwardedFor?: string) => {
    const r = await fetch(`http://127.0.0.1:${port}/test/ip`, {
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    });
    return ((await r.json()) as { ip: string }).ip;
  };

  it('a client outside the list cannot choose its address with X-Forwarded-For', async () => {
    assert.equal(await ipSeen(untrustingPort, '203.0.113.9'), '127.0.0.1');
    assert.equal(await ipSeen(untrustingPort, '203.0.113.9, 10.1.2.3'), '127.0.0.1');
  });

  it('a proxy on the list is believed, back to the first address it does not trust', async () => {
    assert.equal(await ipSeen(trustingPort, '203.0.113.9'), '203.0.113.9');
    // 10.1.2.3 is a trusted hop too; the client is the address before it.
    assert.equal(await ipSeen(trustingPort, '203.0.113.9, 10.1.2.3'), '203.0.113.9');
    assert.equal(await ipSeen(trustingPort), '127.0.0.1');
  });

  it('the refused-key block follows the believed address: a spoofer cannot dodge it nor frame another', async () => {
    const me = (port: number, k: string, forwardedFor: string) =>
      send(port, 'GET', '/api/v1.0/me', { 'x-api-key': k, 'x-forwarded-for': forwardedFor });
    // The harness turned the block off; these apps share the keygate, so turn it on for them.
    const { RefusedKeyThrottle } = await import('../../src/services/refused-key-throttle.js');
    const kg = env().kg;
    const saved = kg.refusedKeys;
    kg.refusedKeys = new RefusedKeyThrottle(kg.limiters, { limit: 2, windowMs: 3_600_000, blockMs: 3_600_000 });
    try {
      // Outside the list: every guess counts against the real peer, whatever it claims to be.
      assert.equal((await me(untrustingPort, unknownKey(), '198.51.100.1')).status, 401);
      assert.equal((await me(untrustingPort, unknownKey(), '198.51.100.2')).status, 401);
      assert.equal((await me(untrustingPort, key, '198.51.100.3')).status, 429);
    } finally {
      kg.refusedKeys = saved;
    }
    kg.refusedKeys = new RefusedKeyThrottle(kg.limiters, { limit: 2, windowMs: 3_600_000, blockMs: 3_600_000 });
    try {
      // Through a trusted proxy: the client it names is blocked, and only that client.
      assert.equal((await me(trustingPort, unknownKey(), '198.51.100.1')).status, 401);
      assert.equal((await me(trustingPort, unknownKey(), '198.51.100.1')).status, 401);
      assert.equal((await me(trustingPort, key, '198.51.100.1')).status, 429);
      assert.equal((await me(trustingPort, key, '198.51.100.2')).status, 200);
    } finally {
      kg.refusedKeys = saved;
    }
  });
});
