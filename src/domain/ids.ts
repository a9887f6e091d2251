import { randomBase62 } from './keys.js';

/** Prefixed public ids (`tok_…`, `res_…`) make logs and support tickets readable. */
export type IdKind = 'tok' | 'res' | 'usr' | 'aud' | 'acc';

/** A new random id of the given kind. */
export function newId(kind: IdKind): string {
  return `${kind}_${randomBase62(20)}`;
}

let sequence = 0;
/**
 * Drawn once per process: with the sequence it keeps ids of several processes apart. Such ids need
 * to be unique, not unguessable (reading a record is authorized), and a CSPRNG draw per access-log
 * record showed in the gateway's profile.
 */
const processPart = randomBase62(8);

/**
 * A new id that sorts by creation: milliseconds, then a per-process sequence, then the process's
 * random part. For records read back in order (the audit trail), where two in one millisecond must keep theirs.
 */
export function newSortableId(kind: IdKind, nowMs: number): string {
  sequence = (sequence + 1) % 36 ** 6;
  return `${kind}_${nowMs.toString(36).padStart(9, '0')}${sequence.toString(36).padStart(6, '0')}${processPart}`;
}
