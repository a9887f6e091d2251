import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EXPIRES_IN, parseDuration, resolveExpiry } from '../../src/domain/expiry.js';
import { KeygateError, type ErrorCode } from '../../src/domain/errors.js';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const at = (ms: number) => new Date(NOW.getTime() + ms);

function expectError(fn: () => unknown, code: ErrorCode, field: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KeygateError, `not a KeygateError: ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.field, field);
    assert.equal(e.status, 422);
    return true;
  });
}

describe('resolveExpiry: presets', () => {
  const expected: Record<string, Date | null> = {
    '30d': new Date('2025-03-31T12:00:00.000Z'),
    '90d': new Date('2025-05-30T12:00:00.000Z'),
    '1y': new Date('2026-03-01T12:00:00.000Z'), // 365 days; 2025-26 has no 29 February
    '2y': new Date('2027-03-01T12:00:00.000Z'), // 730 days
    never: null,
  };
  it('every preset is covered', () => assert.deepEqual(Object.keys(expected).sort(), [...EXPIRES_IN].sort()));
  for (const preset of EXPIRES_IN) {
    it(`${preset}, no maximum`, () =>
      assert.deepEqual(resolveExpiry({ expiresIn: preset }, NOW, null), expected[preset]));
  }
  it('a year is 365 days, not a calendar year', () => {
    const leap = new Date('2024-01-01T00:00:00.000Z');
    assert.deepEqual(resolveExpiry({ expiresIn: '1y' }, leap, null), new Date('2024-12-31T00:00:00.000Z'));
  });
  it('presets within the maximum are allowed (the maximum itself included)', () => {
    assert.deepEqual(resolveExpiry({ expiresIn: '90d' }, NOW, 90 * DAY), at(90 * DAY));
    assert.deepEqual(resolveExpiry({ expiresIn: '30d' }, NOW, 90 * DAY), at(30 * DAY));
  });
});

describe('resolveExpiry: expiresAt', () => {
  it('a future time is taken as given', () => {
    assert.deepEqual(resolveExpiry({ expiresAt: '2025-06-01T00:00:00Z' }, NOW, null), new Date('2025-06-01T00:00:00Z'));
    assert.deepEqual(resolveExpiry({ expiresAt: '2025-03-01T12:00:00.001Z' }, NOW, null), at(1));
    assert.deepEqual(
      resolveExpiry({ expiresAt: '2025-06-01T02:00:00+02:00' }, NOW, null),
      new Date('2025-06-01T00:00:00Z'),
    );
  });
  it('null means never', () => assert.equal(resolveExpiry({ expiresAt: null }, NOW, null), null));
  it('a past time, or now itself, is refused', () => {
    expectError(() => resolveExpiry({ expiresAt: '2020-01-01T00:00:00Z' }, NOW, null), 'INVALID_EXPIRY', 'expiresAt');
    expectError(() => resolveExpiry({ expiresAt: NOW.toISOString() }, NOW, null), 'INVALID_EXPIRY', 'expiresAt');
  });
  it('something that is not a time is refused', () => {
    for (const bad of ['', 'tomorrow', 'not a date', '2025-13-45T00:00:00Z', 'NaN']) {
      expectError(() => resolveExpiry({ expiresAt: bad }, NOW, null), 'INVALID_EXPIRY', 'expiresAt');
    }
  });
  it('never returns an invalid Date, whatever the string', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          const d = resolveExpiry({ expiresAt: s }, NOW, null);
          assert.ok(d instanceof Date && d.getTime() > NOW.getTime());
        } catch (e) {
          assert.ok(e instanceof KeygateError && e.code === 'INVALID_EXPIRY');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('resolveExpiry: bad requests', () => {
  it('both expiresIn and expiresAt → INVALID_EXPIRY on expiresIn', () => {
    expectError(
      () => resolveExpiry({ expiresIn: '30d', expiresAt: '2025-06-01T00:00:00Z' }, NOW, null),
      'INVALID_EXPIRY',
      'expiresIn',
    );
    expectError(() => resolveExpiry({ expiresIn: 'never', expiresAt: null }, NOW, null), 'INVALID_EXPIRY', 'expiresIn');
  });
  it('an unknown preset → INVALID_EXPIRY on expiresIn', () => {
    for (const bad of [
      '',
      '7d',
      '30D',
      'forever',
      ' 30d',
      'toString',
      'constructor',
      '__proto__',
      'valueOf',
      'hasOwnProperty',
    ]) {
      expectError(() => resolveExpiry({ expiresIn: bad }, NOW, null), 'INVALID_EXPIRY', 'expiresIn');
    }
  });
  it('any expiresIn string either resolves to a preset or is refused, never an invalid Date', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom(...EXPIRES_IN, 'toString', '__proto__', 'constructor')),
        (s) => {
          try {
            const d = resolveExpiry({ expiresIn: s }, NOW, null);
            assert.ok((EXPIRES_IN as readonly string[]).includes(s));
            assert.ok(d === null || !Number.isNaN(d.getTime()));
          } catch (e) {
            assert.ok(e instanceof KeygateError && e.code === 'INVALID_EXPIRY', String(e));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('resolveExpiry: maximum lifetime', () => {
  const MAX = 90 * DAY;
  it('nothing asked → the maximum; or never when there is no maximum', () => {
    assert.deepEqual(resolveExpiry({}, NOW, MAX), at(MAX));
    assert.deepEqual(resolveExpiry({ expiresIn: undefined, expiresAt: undefined }, NOW, MAX), at(MAX));
    assert.equal(resolveExpiry({}, NOW, null), null);
  });
  it('a preset beyond the maximum → EXPIRY_TOO_LONG on expiresIn', () => {
    expectError(() => resolveExpiry({ expiresIn: '1y' }, NOW, MAX), 'EXPIRY_TOO_LONG', 'expiresIn');
    expectError(() => resolveExpiry({ expiresIn: '2y' }, NOW, MAX), 'EXPIRY_TOO_LONG', 'expiresIn');
  });
  it('never, with a maximum → EXPIRY_TOO_LONG on the field that asked', () => {
    expectError(() => resolveExpiry({ expiresIn: 'never' }, NOW, MAX), 'EXPIRY_TOO_LONG', 'expiresIn');
    expectError(() => resolveExpiry({ expiresAt: null }, NOW, MAX), 'EXPIRY_TOO_LONG', 'expiresAt');
  });
  it('an expiresAt beyond the maximum → EXPIRY_TOO_LONG on expiresAt; up to it is fine', () => {
    expectError(
      () => resolveExpiry({ expiresAt: at(MAX + 1).toISOString() }, NOW, MAX),
      'EXPIRY_TOO_LONG',
      'expiresAt',
    );
    assert.deepEqual(resolveExpiry({ expiresAt: at(MAX).toISOString() }, NOW, MAX), at(MAX));
  });
  it('the result never exceeds the maximum (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 * DAY }),
        fc.integer({ min: -10 * DAY, max: 1000 * DAY }),
        (max, offset) => {
          try {
            const d = resolveExpiry({ expiresAt: at(offset).toISOString() }, NOW, max);
            assert.ok(d !== null && d.getTime() > NOW.getTime() && d.getTime() <= NOW.getTime() + max);
          } catch (e) {
            assert.ok(e instanceof KeygateError);
            assert.equal(e.code, offset <= 0 ? 'INVALID_EXPIRY' : 'EXPIRY_TOO_LONG');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('parseDuration', () => {
  it('parses each unit', () => {
    assert.equal(parseDuration('45s'), 45_000);
    assert.equal(parseDuration('15m'), 15 * 60_000);
    assert.equal(parseDuration('12h'), 12 * 3_600_000);
    assert.equal(parseDuration('30d'), 30 * DAY);
    assert.equal(parseDuration('1y'), 365 * DAY);
    assert.equal(parseDuration('0d'), 0);
    assert.equal(parseDuration(' 7d '), 7 * DAY);
    assert.equal(parseDuration('999999s'), 999_999_000);
  });
  it('refuses anything else', () => {
    for (const bad of [
      '',
      'd',
      '30',
      '30 d',
      '-1d',
      '1.5h',
      '30D',
      '1w',
      '1mo',
      '1234567s',
      '1e3s',
      'toString',
      '30dd',
      '1001y',
      '10000y',
      '999999y',
    ]) {
      assert.equal(parseDuration(bad), null, bad);
    }
  });
  it('accepts up to 1,000 years, so that now + duration stays a valid Date with a 4-digit year', () => {
    assert.equal(parseDuration('1000y'), 1_000 * 365 * DAY);
    assert.equal(parseDuration(`${1000 * 365}d`), 1_000 * 365 * DAY);
    assert.equal(parseDuration(`${1000 * 365 + 1}d`), null);
    assert.match(new Date(NOW.getTime() + parseDuration('1000y')!).toISOString(), /^\d{4}-/);
    // With the largest allowed maximum lifetime, "nothing asked" still resolves to a usable time.
    assert.match(resolveExpiry({}, NOW, parseDuration('1000y'))!.toISOString(), /^\d{4}-/);
  });
  it('never throws and returns a non-negative integer or null, small enough to add to a Date', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.tuple(fc.nat({ max: 999_999 }), fc.constantFrom('s', 'm', 'h', 'd', 'y')).map(([n, u]) => `${n}${u}`),
        ),
        (s) => {
          const v = parseDuration(s);
          assert.ok(v === null || (Number.isSafeInteger(v) && v >= 0));
          if (v !== null) assert.match(new Date(NOW.getTime() + v).toISOString(), /^\d{4}-/, s);
        },
      ),
      { numRuns: 300 },
    );
  });
});
