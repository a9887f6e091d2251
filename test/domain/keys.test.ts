import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import {
  CHECKSUM_LENGTH,
  MAX_KEY_LENGTH,
  RANDOM_LENGTH,
  classifyKey,
  crc32,
  displayPrefix,
  generateKey,
  isAcceptableCustomKey,
  isWellFormedGeneratedKey,
  randomBase62,
} from '../../src/domain/keys.js';
import { newId, newSortableId } from '../../src/domain/ids.js';
import { createKeyHasher, hashesEqual } from '../../src/services/key-ring.js';

const PREFIX = 'kg_';
const NO_CUSTOM = { allowed: false, minLength: 20 };
const CUSTOM = { allowed: true, minLength: 20 };
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const isBase62 = (s: string) => [...s].every((c) => ALPHABET.includes(c));

/** An independent base62 encoder (most significant digit first, zero-padded), to rebuild checksums in the test. */
function base62(value: number, width: number): string {
  const digits: string[] = [];
  let v = value;
  for (let i = 0; i < width; i++) {
    digits.unshift(ALPHABET.charAt(v % 62));
    v = Math.floor(v / 62);
  }
  assert.equal(v, 0, 'value does not fit the width');
  return digits.join('');
}

const base62Char = fc.constantFrom(...ALPHABET);
const randomPart = fc.string({ unit: base62Char, minLength: RANDOM_LENGTH, maxLength: RANDOM_LENGTH });
/** Prefixes an operator might configure. */
const prefixArb = fc.stringMatching(/^[a-z]{1,6}_$/);
/** A fresh generated key per run: fast-check drives the prefix and how many keys we look at. */
const generatedKey = fc.tuple(prefixArb, fc.nat()).map(([prefix]) => ({ prefix, key: generateKey(prefix) }));

/** Independent oracle for a chosen key: printable ASCII (0x21–0x7e) minus `"` and `'`. */
function customOracle(key: string, prefix: string, minLength: number): boolean {
  if (key.length < minLength || key.length > 256 || key.startsWith(prefix)) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x22 || c === 0x27) return false;
  }
  return true;
}

describe('keys: constants', () => {
  it('the random part carries at least 160 bits and the checksum fits a CRC32', () => {
    assert.ok(RANDOM_LENGTH * Math.log2(62) >= 160);
    assert.ok(62 ** CHECKSUM_LENGTH > 0xffffffff);
    assert.equal(RANDOM_LENGTH + CHECKSUM_LENGTH, 36);
  });
});

describe('crc32', () => {
  it('matches the standard check values', () => {
    assert.equal(crc32('123456789'), 0xcbf43926);
    assert.equal(crc32(''), 0);
    assert.equal(crc32('a'), 0xe8b7be43);
    assert.equal(crc32('abc'), 0x352441c2);
    assert.equal(crc32('The quick brown fox jumps over the lazy dog'), 0x414fa339);
  });

  it('agrees with zlib on ASCII text and is an unsigned 32-bit number', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
        (s) => {
          const c = crc32(s);
          assert.ok(Number.isInteger(c) && c >= 0 && c <= 0xffffffff);
          assert.equal(c, zlibCrc32(s));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('randomBase62', () => {
  it('has the asked length and only base62 characters', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), (n) => {
        const s = randomBase62(n);
        assert.equal(s.length, n);
        assert.ok(isBase62(s), s);
      }),
      { numRuns: 100 },
    );
  });

  it('uses the whole alphabet (a long sample hits every character)', () => {
    const seen = new Set(randomBase62(20_000));
    assert.equal(seen.size, 62);
  });

  it('is unbiased: the first 8 characters (where a plain byte % 62 would land more often) are not favoured', () => {
    const counts = new Map<string, number>();
    for (const c of randomBase62(200_000)) counts.set(c, (counts.get(c) ?? 0) + 1);
    const mean = (chars: string) => [...chars].reduce((sum, c) => sum + (counts.get(c) ?? 0), 0) / chars.length;
    // Unbiased: ratio 1 ± ~0.01. Byte % 62 would give 5/4 = 1.25.
    const ratio = mean(ALPHABET.slice(0, 8)) / mean(ALPHABET.slice(8));
    assert.ok(ratio > 0.95 && ratio < 1.05, `ratio ${ratio}`);
  });

  it('does not repeat itself', () => {
    const many = new Set(Array.from({ length: 1000 }, () => randomBase62(RANDOM_LENGTH)));
    assert.equal(many.size, 1000);
  });

  it('backs prefixed ids', () => {
    assert.match(newId('tok'), /^tok_[0-9A-Za-z]{20}$/);
    assert.notEqual(newId('res'), newId('res'));
  });

  it('sortable ids sort by creation, within one millisecond too', () => {
    const ms = Date.parse('2026-11-24T12:00:00Z');
    const ids = [...Array.from({ length: 500 }, () => newSortableId('aud', ms)), newSortableId('aud', ms + 1)];
    assert.deepEqual([...ids].sort(), ids);
    assert.match(ids[0]!, /^aud_[0-9a-z]{15}[0-9A-Za-z]{8}$/);
  });
});

describe('generateKey / isWellFormedGeneratedKey', () => {
  it('a generated key is prefix + 36 base62 characters and classifies as generated', () => {
    fc.assert(
      fc.property(generatedKey, ({ prefix, key }) => {
        assert.equal(key.length, prefix.length + 36);
        assert.ok(key.startsWith(prefix));
        assert.ok(isBase62(key.slice(prefix.length)));
        assert.ok(isWellFormedGeneratedKey(key, prefix));
        assert.equal(classifyKey(key, prefix, NO_CUSTOM), 'generated');
        assert.equal(classifyKey(key, prefix, CUSTOM), 'generated');
      }),
      { numRuns: 200 },
    );
  });

  it('the checksum is the base62 CRC32 of the random part (round trip with an independent encoder)', () => {
    fc.assert(
      fc.property(generatedKey, ({ prefix, key }) => {
        const random = key.slice(prefix.length, prefix.length + RANDOM_LENGTH);
        assert.equal(key.slice(prefix.length + RANDOM_LENGTH), base62(crc32(random), CHECKSUM_LENGTH));
      }),
      { numRuns: 100 },
    );
    fc.assert(
      fc.property(prefixArb, randomPart, (prefix, random) => {
        const key = prefix + random + base62(zlibCrc32(random), CHECKSUM_LENGTH);
        assert.ok(isWellFormedGeneratedKey(key, prefix));
        assert.equal(classifyKey(key, prefix, NO_CUSTOM), 'generated');
      }),
      { numRuns: 300 },
    );
  });

  it('a key with a wrong checksum is refused', () => {
    fc.assert(
      fc.property(randomPart, fc.integer({ min: 1, max: 0xffffffff }), (random, delta) => {
        const wrong = (zlibCrc32(random) + delta) % 2 ** 32;
        const key = PREFIX + random + base62(wrong, CHECKSUM_LENGTH);
        assert.equal(isWellFormedGeneratedKey(key, PREFIX), false);
        assert.equal(classifyKey(key, PREFIX, NO_CUSTOM), 'malformed');
        assert.equal(classifyKey(key, PREFIX, CUSTOM), 'malformed');
      }),
      { numRuns: 200 },
    );
  });

  it('any single-character change is refused', () => {
    const replacement = fc.oneof(base62Char, fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
    fc.assert(
      fc.property(generatedKey, fc.nat(), replacement, ({ prefix, key }, at, c) => {
        const i = at % key.length;
        fc.pre(key[i] !== c);
        const changed = key.slice(0, i) + c + key.slice(i + 1);
        assert.equal(isWellFormedGeneratedKey(changed, prefix), false, `${key} → ${changed}`);
        assert.equal(classifyKey(changed, prefix, NO_CUSTOM), 'malformed', `${key} → ${changed}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('transposing two neighbouring different characters of the random part is refused', () => {
    fc.assert(
      fc.property(generatedKey, fc.nat(), ({ prefix, key }, at) => {
        const i = prefix.length + (at % (RANDOM_LENGTH - 1));
        fc.pre(key[i] !== key[i + 1]);
        const swapped = key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2);
        assert.equal(classifyKey(swapped, prefix, NO_CUSTOM), 'malformed');
      }),
      { numRuns: 300 },
    );
  });

  it('truncation or extension is refused', () => {
    fc.assert(
      fc.property(generatedKey, fc.nat(), fc.string({ minLength: 1, maxLength: 40 }), ({ prefix, key }, cut, extra) => {
        const truncated = key.slice(0, cut % key.length);
        assert.equal(classifyKey(truncated, prefix, NO_CUSTOM), 'malformed');
        assert.equal(classifyKey(key + extra, prefix, NO_CUSTOM), 'malformed');
        assert.equal(classifyKey(extra + key, prefix, NO_CUSTOM), 'malformed');
        // Chopping from the front (but keeping the prefix) also breaks it.
        assert.equal(classifyKey(prefix + key.slice(prefix.length + 1), prefix, NO_CUSTOM), 'malformed');
      }),
      { numRuns: 300 },
    );
  });

  it('is refused under a different prefix', () => {
    const key = generateKey('kg_');
    assert.equal(isWellFormedGeneratedKey(key, 'kx_'), false);
    assert.equal(classifyKey(key, 'kx_', NO_CUSTOM), 'malformed');
    // With chosen keys allowed, it may only ever count as a chosen key, never as a generated one.
    assert.notEqual(classifyKey(key, 'kx_', CUSTOM), 'generated');
  });

  it('two generated keys differ', () => {
    const keys = new Set(Array.from({ length: 500 }, () => generateKey(PREFIX)));
    assert.equal(keys.size, 500);
  });
});

describe('classifyKey on arbitrary input', () => {
  const anyString = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ minLength: 200, maxLength: 2000 }),
    prefixArb.chain((p) => fc.string({ maxLength: 60 }).map((s) => p + s)),
    fc.constant(''),
  );

  it('never throws; with chosen keys off, anything but a valid generated key is malformed', () => {
    fc.assert(
      fc.property(anyString, fc.oneof(fc.constant(PREFIX), prefixArb), (s, prefix) => {
        const shape = classifyKey(s, prefix, NO_CUSTOM);
        assert.equal(shape, isWellFormedGeneratedKey(s, prefix) ? 'generated' : 'malformed');
        assert.notEqual(shape, 'custom');
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws with chosen keys allowed and returns one of the three shapes', () => {
    fc.assert(
      fc.property(anyString, fc.integer({ min: 0, max: 300 }), (s, minLength) => {
        const shape = classifyKey(s, PREFIX, { allowed: true, minLength });
        assert.ok(['generated', 'custom', 'malformed'].includes(shape));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses very long input, whatever it is', () => {
    const long = 'A'.repeat(MAX_KEY_LENGTH + 1);
    assert.equal(classifyKey(long, PREFIX, { allowed: true, minLength: 1 }), 'malformed');
    assert.equal(classifyKey('x'.repeat(1_000_000), PREFIX, { allowed: true, minLength: 1 }), 'malformed');
    assert.equal(classifyKey(PREFIX + 'A'.repeat(100_000), PREFIX, NO_CUSTOM), 'malformed');
  });

  it('refuses the empty string and the bare prefix', () => {
    assert.equal(classifyKey('', PREFIX, { allowed: true, minLength: 0 }), 'malformed');
    assert.equal(classifyKey(PREFIX, PREFIX, { allowed: true, minLength: 0 }), 'malformed');
  });
});

describe('chosen (custom) keys', () => {
  const asciiish = fc.string({
    unit: fc.integer({ min: 0x1e, max: 0x80 }).map((c) => String.fromCharCode(c)),
    maxLength: 60,
  });
  const candidate = fc.oneof(asciiish, fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 40 }));

  it('are accepted exactly when long enough, not prefixed, printable ASCII without space or quotes', () => {
    fc.assert(
      fc.property(candidate, fc.integer({ min: 1, max: 40 }), (key, minLength) => {
        fc.pre(!key.startsWith(PREFIX));
        const expected = customOracle(key, PREFIX, minLength);
        assert.equal(isAcceptableCustomKey(key, PREFIX, minLength), expected, JSON.stringify(key));
        assert.equal(
          classifyKey(key, PREFIX, { allowed: true, minLength }),
          expected ? 'custom' : 'malformed',
          JSON.stringify(key),
        );
        assert.equal(classifyKey(key, PREFIX, { allowed: false, minLength }), 'malformed');
      }),
      { numRuns: 1000 },
    );
  });

  it('examples', () => {
    const ok = 'my-deploy-key_2024!#$%&()*+,./:;<=>?@[\\]^`{|}~';
    assert.equal(classifyKey(ok, PREFIX, CUSTOM), 'custom');
    assert.equal(classifyKey('a'.repeat(19), PREFIX, CUSTOM), 'malformed');
    assert.equal(classifyKey('a'.repeat(20), PREFIX, CUSTOM), 'custom');
    assert.equal(classifyKey('a'.repeat(256), PREFIX, { allowed: true, minLength: 20 }), 'custom');
    assert.equal(classifyKey('a'.repeat(257), PREFIX, { allowed: true, minLength: 20 }), 'malformed');
    for (const bad of [
      'has a space in it ok',
      'has"double"quotes__',
      "has'single'quotes__",
      'tab\tinside-the-key',
      'newline\ninside-key',
      'ümlaut-not-ascii-key',
      'del\x7f-is-not-printable',
    ]) {
      assert.equal(isAcceptableCustomKey(bad, PREFIX, 5), false, JSON.stringify(bad));
      assert.equal(classifyKey(bad, PREFIX, { allowed: true, minLength: 5 }), 'malformed', JSON.stringify(bad));
    }
  });

  it('may not start with the generated-key prefix (it would be judged as a generated key)', () => {
    const looksGenerated = PREFIX + 'a'.repeat(40);
    assert.equal(isAcceptableCustomKey(looksGenerated, PREFIX, 5), false);
    assert.equal(classifyKey(looksGenerated, PREFIX, CUSTOM), 'malformed');
  });
});

describe('createKeyHasher', () => {
  const keyArb = fc.oneof(
    fc.string({ minLength: 8, maxLength: 100 }),
    generatedKey.map((g) => g.key),
  );

  it('is deterministic, base64url SHA-256 sized, and never contains the key', () => {
    const plain = createKeyHasher(undefined);
    const hmac = createKeyHasher('server-secret');
    const hmac2 = createKeyHasher('server-secret');
    fc.assert(
      fc.property(keyArb, (key) => {
        for (const h of [plain(key), hmac(key)]) {
          assert.match(h, /^[A-Za-z0-9_-]{43}$/);
          assert.ok(!h.includes(key));
        }
        assert.equal(plain(key), plain(key));
        assert.equal(hmac(key), hmac2(key));
        assert.notEqual(hmac(key), plain(key));
      }),
      { numRuns: 300 },
    );
  });

  it('plain mode is SHA-256; different secrets give different hashes; different keys differ', () => {
    assert.equal(createKeyHasher(undefined)('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    assert.notEqual(createKeyHasher('s1')('same-key'), createKeyHasher('s2')('same-key'));
    assert.notEqual(createKeyHasher('s1')('key-a'), createKeyHasher('s1')('key-b'));
  });
});

describe('hashesEqual', () => {
  it('is true only for identical strings, and never throws on different lengths', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.string({ unit: 'binary', maxLength: 60 }),
        (a, b) => {
          assert.equal(hashesEqual(a, a), true);
          assert.equal(hashesEqual(a, b), a === b);
        },
      ),
      { numRuns: 500 },
    );
    const h = createKeyHasher(undefined);
    assert.equal(hashesEqual(h('x'), h('x')), true);
    assert.equal(hashesEqual(h('x'), h('y')), false);
    assert.equal(hashesEqual(h('x'), h('x').slice(1)), false);
    assert.equal(hashesEqual('', ''), true);
    // Same UTF-16 length, different byte length.
    assert.equal(hashesEqual('é', 'e'), false);
  });
});

describe('displayPrefix', () => {
  it('never reveals more than a quarter of the key, and shows only its beginning', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          generatedKey.map((g) => g.key),
        ),
        fc.oneof(fc.constant(PREFIX), prefixArb),
        (key, prefix) => {
          const shown = displayPrefix(key, prefix);
          assert.ok(shown.length <= Math.floor(key.length / 4), `${shown} of ${key}`);
          assert.ok(key.startsWith(shown));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('shows the prefix and four characters of a generated key', () => {
    const key = generateKey(PREFIX);
    assert.equal(displayPrefix(key, PREFIX), key.slice(0, PREFIX.length + 4));
    assert.equal(displayPrefix('abcdefghijklmnopqrstuvwxyz', PREFIX), 'abcd');
    assert.equal(displayPrefix('abc', PREFIX), '');
  });
});
