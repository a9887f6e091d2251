import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';

/** Every migration, by sortable name. Listed in code (not read from disk) so the built and the source tree run the same set. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
};
