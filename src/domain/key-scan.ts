import { CHECKSUM_LENGTH, RANDOM_LENGTH, displayPrefix, isWellFormedGeneratedKey } from './keys.js';

/** One key found in a text: where it starts (1-based line and column) and the part safe to show. */
export interface KeyFind {
  line: number;
  column: number;
  prefix: string;
}

/**
 * Finds the generated keys in a text, the way secret scanners do: every `<prefix>` followed by
 * enough base62 characters is a candidate, and only candidates whose checksum verifies are
 * reported, so random look-alikes are not. No word boundaries are required: a key glued to other
 * text is still a leaked key, and the checksum keeps the false positives at about 1 in 2^32.
 * The result never holds the key itself, only its display prefix.
 */
export function findKeys(text: string, prefix: string): KeyFind[] {
  if (prefix === '') return [];
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const candidate = new RegExp(`${escaped}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}`, 'g');
  const finds: KeyFind[] = [];
  // Lines are counted incrementally between matches, which arrive in order: one pass over the text.
  let line = 1;
  let lineStart = 0;
  let counted = 0;
  for (let m = candidate.exec(text); m !== null; m = candidate.exec(text)) {
    if (!isWellFormedGeneratedKey(m[0], prefix)) {
      // A failed candidate may hide a real key starting inside it (only when the prefix is base62).
      candidate.lastIndex = m.index + 1;
      continue;
    }
    for (let i = text.indexOf('\n', counted); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    counted = m.index;
    finds.push({ line, column: m.index - lineStart + 1, prefix: displayPrefix(m[0], prefix) });
  }
  return finds;
}
