import { randomBase62 } from './keys.js';

/** Prefixed public ids (`tok_…`, `res_…`) make logs and support tickets readable. */
export type IdKind = 'tok' | 'res' | 'usr' | 'aud' | 'acc';

/** A new random id of the given kind. */
export function newId(kind: IdKind): string {
  return `${kind}_${randomBase62(20)}`;
}

let sequence = 0;

/**
 * A new id that sorts by creation: milliseconds, then a per-process sequence, then randomness.
 * For records read back in order (the audit trail), where two in one millisecond must keep theirs.
 */
export function newSortableId(kind: IdKind, nowMs: number): string {
  sequence = (sequence + 1) % 36 ** 6;
  return `${kind}_${nowMs.toString(36).padStart(9, '0')}${sequence.toString(36).padStart(6, '0')}${randomBase62(8)}`;
}
