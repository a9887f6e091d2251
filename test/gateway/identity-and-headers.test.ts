import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfig, ConfigError } from '../../src/config.js';
import { identityHeaders, verifyIdentity, type Identity } from '../../src/gateway/identity.js';
import {
  forwardRequestHeaders,
  forwardResponseHeaders,
  proxyTrust,
  stripQueryKeys,
} from '../../src/gateway/headers.js';
import { parseBody, readableKind, withoutFields } from '../../src/gateway/body.js';
// @ts-expect-error: a plain JavaScript example, without types, as an upstream would copy it.
import { keygateIdentity } from '../../examples/gateway/verify-identity.mjs';

const ID: Identity = {
  tokenId: 'tok_1',
  ownerId: 'usr_1',
  userId: 'usr_1',
  resourceId: 'res_2',
  scopeId: 'res_1',
  permissions: ['resources:read', 'resources:write'],
  requestId: 'req_1',
};

describe('signed identity headers', () => {
  const now = 1_800_000_000;
  const signed = identityHeaders('s3cret', ID, now, 'GET', '/api/v3.0/building/b-1?x=1');

  it('verify for the same method, path and secret within five minutes', () => {
    assert.deepEqual(verifyIdentity('s3cret', signed, 'GET', '/api/v3.0/building/b-1?x=1', now + 299), ID);
  });

  it('do not verify when anything differs', () => {
    assert.equal(verifyIdentity('other', signed, 'GET', '/api/v3.0/building/b-1?x=1', now), null);
    assert.equal(verifyIdentity('s3cret', signed, 'PUT', '/api/v3.0/building/b-1?x=1', now), null);
    assert.equal(verifyIdentity('s3cret', signed, 'GET', '/api/v3.0/building/b-2?x=1', now), null);
    assert.equal(verifyIdentity('s3cret', signed, 'GET', '/api/v3.0/building/b-1?x=1', now + 301), null);
    for (const name of Object.keys(signed)) {
      const tampered = { ...signed, [name]: `${signed[name]}x` };
      assert.equal(verifyIdentity('s3cret', tampered, 'GET', '/api/v3.0/building/b-1?x=1', now), null, name);
      const { [name]: _dropped, ...missing } = signed;
      assert.equal(verifyIdentity('s3cret', missing, 'GET', '/api/v3.0/building/b-1?x=1', now), null, name);
    }
  });

  it("agree with the README's example for upstreams", () => {
    const req = { method: 'GET', url: '/api/v3.0/building/b-1?x=1', headers: signed };
    assert.deepEqual(keygateIdentity(req, 's3cret', now), {
      'token-id': 'tok_1',
      'owner-id': 'usr_1',
      'user-id': 'usr_1',
      'resource-id': 'res_2',
      'scope-id': 'res_1',
      permissions: 'resources:read,resources:write',
      'request-id': 'req_1',
    });
    assert.equal(keygateIdentity({ ...req, url: '/elsewhere' }, 's3cret', now), null);
    assert.equal(keygateIdentity(req, 's3cret', now + 600), null);
    fc.assert(
      fc.property(fc.string(), fc.string(), (method, url) => {
        const a = verifyIdentity('s3cret', signed, method, url, now) !== null;
        const b = keygateIdentity({ method, url, headers: signed }, 's3cret', now) !== null;
        return a === b;
      }),
    );
  });
});

describe('forwarded headers', () => {
  const base = {
    sources: [] as [],
    remoteAddress: '10.0.0.5',
    trustedPeer: false,
    protocol: 'http',
    upstreamHost: 'upstream:9000',
  };

  it("drop hop-by-hop headers, those Connection names, keygate's credentials and forged identities", () => {
    const out = forwardRequestHeaders({
      ...base,
      sources: ['header:authorization'],
      headers: {
        host: 'api.example.com',
        connection: 'keep-alive, X-Hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        'transfer-encoding': 'chunked',
        'proxy-authorization': 'Basic x',
        upgrade: 'h2c',
        expect: '100-continue',
        'x-api-key': 'kg_x',
        'x-apikey': 'kg_y',
        authorization: 'Bearer kg_z',
        'x-keygate-token-id': 'tok_forged',
        'x-custom': 'kept',
      },
    });
    assert.deepEqual(Object.keys(out).sort(), [
      'host',
      'via',
      'x-custom',
      'x-forwarded-for',
      'x-forwarded-host',
      'x-forwarded-proto',
    ]);
    assert.equal(out.host, 'upstream:9000');
    assert.equal(out['x-forwarded-host'], 'api.example.com');
  });

  it("keep another scheme's Authorization (the upstream's own Basic or Digest)", () => {
    const out = forwardRequestHeaders({ ...base, headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    assert.equal(out.authorization, 'Basic dXNlcjpwYXNz');
  });

  it('believe X-Forwarded-* and Forwarded only from a trusted proxy', () => {
    const headers = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https', forwarded: 'for=203.0.113.7' };
    const untrusted = forwardRequestHeaders({ ...base, headers });
    assert.equal(untrusted['x-forwarded-for'], '10.0.0.5');
    assert.equal(untrusted['x-forwarded-proto'], 'http');
    assert.equal(untrusted.forwarded, undefined);
    const trusted = forwardRequestHeaders({ ...base, trustedPeer: true, headers });
    assert.equal(trusted['x-forwarded-for'], '203.0.113.7, 10.0.0.5');
    assert.equal(trusted['x-forwarded-proto'], 'https');
    assert.equal(trusted.forwarded, 'for=203.0.113.7');
  });

  it('trust CIDR ranges in IPv4 and IPv6, IPv4-mapped addresses included', () => {
    const trust = proxyTrust(['10.0.0.0/8', '2001:db8::/32', '192.0.2.1']);
    assert.ok(trust('10.1.2.3'));
    assert.ok(trust('::ffff:10.1.2.3'));
    assert.ok(trust('2001:db8::1'));
    assert.ok(trust('192.0.2.1'));
    assert.ok(!trust('192.0.2.2'));
    assert.ok(!trust('11.0.0.1'));
    assert.ok(!trust(undefined));
    assert.ok(!trust('not an address'));
    assert.ok(!proxyTrust([])('10.0.0.1'));
  });

  it('drop hop-by-hop headers from answers and add Via', () => {
    const out = forwardResponseHeaders({ connection: 'x-a', 'x-a': '1', 'transfer-encoding': 'chunked', etag: '"1"' });
    assert.deepEqual(out, { etag: '"1"', via: '1.1 keygate' });
  });
});

describe('query and body credentials', () => {
  it('leave other parameters byte for byte, in order', () => {
    assert.equal(stripQueryKeys('a=1&key=kg_x&b=%20&apiToken=kg_x&c', ['query:key', 'query:apiToken']), 'a=1&b=%20&c');
    assert.equal(stripQueryKeys('k%65y=kg_x&a=1', ['query:key']), 'a=1');
    assert.equal(stripQueryKeys('key=kg_x&a=%zz', ['query:key']), 'a=%zz');
    assert.equal(stripQueryKeys('key=x', []), 'key=x');
  });

  it('read JSON (also +json) and forms, and remove the consumed field only', () => {
    assert.equal(readableKind('application/json; charset=utf-8'), 'json');
    assert.equal(readableKind('application/vnd.api+json'), 'json');
    assert.equal(readableKind('application/x-www-form-urlencoded'), 'form');
    assert.equal(readableKind('application/octet-stream'), null);
    assert.equal(readableKind(undefined), null);
    const json = Buffer.from('{"API_Key":"kg_x","name":"n","nested":{"API_Key":"keep"}}');
    const stripped = withoutFields('json', json, parseBody('json', json), ['API_Key']);
    assert.deepEqual(JSON.parse(String(stripped)), { name: 'n', nested: { API_Key: 'keep' } });
    const form = Buffer.from('a=1&key=kg_x&b=2');
    assert.equal(String(withoutFields('form', form, parseBody('form', form), ['key'])), 'a=1&b=2');
    assert.equal(withoutFields('json', json, parseBody('json', json), []), null);
    assert.throws(() => parseBody('json', Buffer.from('{')), /not valid JSON/);
  });
});

describe('gateway settings', () => {
  it('come from the environment, with defaults', () => {
    const c = loadConfig({
      KEYGATE_GATEWAY_UPSTREAM: 'http://127.0.0.1:9000',
      KEYGATE_GATEWAY_TRUSTED_PROXIES: '10.0.0.0/8, ::1',
    });
    assert.equal(c.gateway?.port, 8081);
    assert.equal(c.gateway?.unmatched, 'refuse');
    assert.deepEqual(c.gateway?.trustedProxies, ['10.0.0.0/8', '::1']);
    assert.equal(c.gateway?.upstreams[0]?.url, 'http://127.0.0.1:9000');
    assert.equal(loadConfig({}).gateway, undefined);
  });

  it('refuse what cannot work, naming the setting', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ KEYGATE_GATEWAY_UPSTREAM: 'ftp://x' }, /KEYGATE_GATEWAY_UPSTREAM must be an http/],
      [{ KEYGATE_GATEWAY_OPENAPI: 'x.yaml' }, /needs KEYGATE_GATEWAY_UPSTREAM/],
      [{ KEYGATE_GATEWAY_UPSTREAM: 'http://x', KEYGATE_GATEWAY_UNMATCHED: 'allow' }, /refuse or authenticate/],
      [{ KEYGATE_GATEWAY_UPSTREAM: 'http://x', KEYGATE_GATEWAY_TRUSTED_PROXIES: '10.0.0.0/99' }, /CIDR/],
      [{ KEYGATE_GATEWAY_UPSTREAM: 'http://x', KEYGATE_GATEWAY_PORT: '70000' }, /KEYGATE_GATEWAY_PORT/],
    ];
    for (const [env, message] of bad)
      assert.throws(
        () => loadConfig(env),
        (e: Error) => e instanceof ConfigError && message.test(e.message),
      );
  });
});

describe('repeated JSON names', () => {
  it('are found at the root only, escapes decoded, strings skipped', async () => {
    const { repeatedRootName } = await import('../../src/gateway/body.js');
    assert.equal(repeatedRootName('{"a":1,"b":{"a":2},"c":"\\"a\\":"}'), null);
    assert.equal(repeatedRootName('{"a":1, "a" :2}'), 'a');
    assert.equal(repeatedRootName('{"a":1,"\\u0061":2}'), 'a');
    assert.equal(repeatedRootName('{"x":[{"a":1},{"a":2}]}'), null);
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => repeatedRootName(JSON.stringify(obj)) === null),
    );
  });
});
