import { randomBase62 } from './keys.js';

/** Prefixed public ids (`tok_…`, `res_…`) make logs and support tickets readable. */
export type IdKind = 'tok' | 'res' | 'usr' | 'aud';

/** A new random id of the given kind. */
export function newId(kind: IdKind): string {
  return `${kind}_${randomBase62(20)}`;
}
