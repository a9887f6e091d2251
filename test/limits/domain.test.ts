import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  allowlistAllows,
  compileAllowlist,
  invalidAllowlistEntries,
  parseAllowlistEntry,
} from '../../src/domain/ip-allowlist.js';
import {
  effectiveRateLimit,
  formatWindow,
  parseWindow,
  rateLimitHeader,
  rateLimitPolicyHeader,
  retryAfterSeconds,
} from '../../src/domain/token-limits.js';

const allows = (entries: string[], ip: string) => allowlistAllows(compileAllowlist(entries), ip);
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const toInt = (ip: string) => ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);

describe('IP allowlists', () => {
  it('matches single IPv4 and IPv6 addresses exactly', () => {
    assert.ok(allows(['203.0.113.7'], '203.0.113.7'));
    assert.ok(!allows(['203.0.113.7'], '203.0.113.8'));
    assert.ok(allows(['2001:db8::1'], '2001:db8:0:0::1'));
    assert.ok(!allows(['2001:db8::1'], '2001:db8::2'));
  });

  it('matches CIDR ranges, IPv4 and IPv6', () => {
    assert.ok(allows(['10.0.0.0/8'], '10.255.1.2'));
    assert.ok(!allows(['10.0.0.0/8'], '11.0.0.1'));
    assert.ok(allows(['2001:db8::/32'], '2001:db8:ffff::1'));
    assert.ok(!allows(['2001:db8::/32'], '2001:db9::1'));
    assert.ok(allows(['0.0.0.0/0'], '198.51.100.1'));
    assert.ok(!allows(['0.0.0.0/0'], '2001:db8::1'), 'an IPv4 range never holds a plain IPv6 address');
  });

  it('matches IPv4-mapped IPv6 clients against IPv4 ranges, and mapped entries against IPv4 clients', () => {
    assert.ok(allows(['192.0.2.0/24'], '::ffff:192.0.2.10'));
    assert.ok(!allows(['192.0.2.0/24'], '::ffff:192.0.3.10'));
    assert.ok(allows(['::ffff:192.0.2.0/120'], '192.0.2.99'));
    assert.ok(allows(['::ffff:192.0.2.5'], '192.0.2.5'));
  });

  it('refuses entries that are not addresses or ranges, and addresses that do not parse never match', () => {
    assert.deepEqual(invalidAllowlistEntries(['10.0.0.0/8', '10.0.0.0/33', 'example.com', '1.2.3', '::1/129', '']), [
      '10.0.0.0/33',
      'example.com',
      '1.2.3',
      '::1/129',
      '',
    ]);
    assert.equal(parseAllowlistEntry('not an address'), null);
    assert.ok(!allows(['0.0.0.0/0'], 'garbage'));
    assert.ok(!allows(['0.0.0.0/0'], ''));
  });

  it('property: an IPv4 address is in a /n range exactly when its top n bits equal the range’s', () => {
    fc.assert(
      fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), (address, base, bits) => {
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        const expected = (toInt(address) & mask) >>> 0 === (toInt(base) & mask) >>> 0;
        assert.equal(allows([`${base}/${bits}`], address), expected);
        assert.equal(allows([`${base}/${bits}`], `::ffff:${address}`), expected, 'the mapped form agrees');
      }),
    );
  });

  it('property: every address is in its own /32 (or /128) and in the list that holds it among others', () => {
    const ipv6 = fc
      .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
      .map((g) => g.map((n) => n.toString(16)).join(':'));
    fc.assert(
      fc.property(fc.oneof(ipv4, ipv6), fc.array(ipv4, { maxLength: 5 }), (address, others) => {
        const own = address.includes(':') ? `${address}/128` : `${address}/32`;
        assert.ok(allows([own], address));
        assert.ok(allows([...others, address], address));
      }),
    );
  });
});

describe('rate limit rules and header fields', () => {
  it('parses windows of whole seconds up to a day, and writes them back in the largest unit', () => {
    assert.equal(parseWindow('1m'), 60_000);
    assert.equal(parseWindow('30s'), 30_000);
    assert.equal(parseWindow('1d'), 86_400_000);
    assert.equal(parseWindow('0s'), null, 'a zero window');
    assert.equal(parseWindow('2d'), null, 'longer than a day');
    assert.equal(parseWindow('1y'), null);
    assert.equal(parseWindow('-1m'), null);
    assert.equal(formatWindow(60_000), '1m');
    assert.equal(formatWindow(90_000), '90s');
    assert.equal(formatWindow(7_200_000), '2h');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86_400 }), (s) =>
        assert.equal(parseWindow(formatWindow(s * 1000)), s * 1000),
      ),
    );
  });

  it("a token's own limit wins, null falls back to its level's default (then the default), unlimited is none", () => {
    const reader = { limit: 600, windowMs: 60_000, per: 'token' as const };
    const fallback = { limit: 10, windowMs: 1000, per: 'owner' as const };
    const own = { limit: 5, windowMs: 1000, per: 'token' as const };
    const defaults = { levels: { reader }, default: fallback };
    assert.deepEqual(effectiveRateLimit(own, 'reader', defaults), own);
    assert.deepEqual(effectiveRateLimit(null, 'reader', defaults), reader);
    assert.deepEqual(effectiveRateLimit(null, 'manager', defaults), fallback);
    assert.deepEqual(effectiveRateLimit(null, null, defaults), fallback);
    assert.equal(effectiveRateLimit('unlimited', 'reader', defaults), null);
    assert.equal(effectiveRateLimit(null, 'reader', { levels: {}, default: null }), null);
  });

  it('formats RateLimit-Policy and RateLimit as structured fields, and Retry-After in whole seconds', () => {
    assert.equal(rateLimitPolicyHeader('token', 100, 60_000), '"token";q=100;w=60');
    assert.equal(rateLimitPolicyHeader('owner', 5, 1000), '"owner";q=5;w=1');
    assert.equal(rateLimitHeader('token', 42, 16_001), '"token";r=42;t=17');
    assert.equal(rateLimitHeader('owner', -1, 200), '"owner";r=0;t=1');
    assert.equal(retryAfterSeconds(0), 0);
    assert.equal(retryAfterSeconds(1), 1);
  });
});

describe('the rateLimits section of the config file', () => {
  const withFile = (content: unknown) => {
    const path = join(mkdtempSync(join(tmpdir(), 'keygate-limits-config-')), 'keygate.json');
    writeFileSync(path, JSON.stringify(content));
    return loadConfig({ KEYGATE_CONFIG: path, KEYGATE_DATA_DIR: tmpdir() });
  };

  it('reads defaults per level and for the rest; none when absent', () => {
    const config = withFile({
      rateLimits: {
        levels: { reader: { limit: 600, window: '1m' } },
        default: { limit: 10, window: '1s', per: 'owner' },
      },
    });
    assert.deepEqual(config.rateLimits, {
      levels: { reader: { limit: 600, windowMs: 60_000, per: 'token' } },
      default: { limit: 10, windowMs: 1000, per: 'owner' },
    });
    assert.deepEqual(withFile({}).rateLimits, { levels: {}, default: null });
  });

  it('refuses an unknown level, a zero or too long window, a zero limit and unknown keys, naming them', () => {
    assert.throws(
      () => withFile({ rateLimits: { levels: { boss: { limit: 1, window: '1m' } } } }),
      /rateLimits\.levels names boss/,
    );
    assert.throws(
      () => withFile({ rateLimits: { default: { limit: 1, window: '0s' } } }),
      /rateLimits\.default\.window/,
    );
    assert.throws(
      () => withFile({ rateLimits: { default: { limit: 1, window: '2d' } } }),
      /rateLimits\.default\.window/,
    );
    assert.throws(() => withFile({ rateLimits: { default: { limit: 0, window: '1m' } } }), /limit/);
    assert.throws(() => withFile({ rateLimits: { everyone: {} } }), /rateLimits/);
  });
});
