import { describe, expect, it } from 'vitest';
import { makeFormat } from '../src/format';
import { resources } from '../src/i18n';

const NOW = Date.parse('2026-06-15T12:00:00Z');

describe('makeFormat', () => {
  it('says relative times in the language shown', () => {
    const en = makeFormat('en', () => NOW);
    const nl = makeFormat('nl', () => NOW);
    expect(en.relative('2026-06-18T12:00:00Z')).toBe('in 3 days');
    expect(nl.relative('2026-06-18T12:00:00Z')).toBe('over 3 dagen');
    expect(en.relative('2026-06-15T10:00:00Z')).toBe('2 hours ago');
    expect(nl.relative('2026-06-15T10:00:00Z')).toBe('2 uur geleden');
  });

  it('formats numbers and dates by the language', () => {
    expect(makeFormat('en').number(1234567)).toBe('1,234,567');
    expect(makeFormat('nl').number(1234567)).toBe('1.234.567');
    expect(makeFormat('nl').date('2026-03-05T12:00:00Z')).toMatch(/5 mrt 2026/);
  });
});

describe('translations', () => {
  /** Every key path of a nested translation object. */
  const keys = (o: object, prefix = ''): string[] =>
    Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' && v ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));

  it('has every English string in every other language, and nothing English lacks', () => {
    const english = keys(resources.en!.translation).sort();
    for (const [code, { translation }] of Object.entries(resources)) {
      expect(keys(translation).sort(), `keys of ${code}`).toEqual(english);
    }
  });
});
