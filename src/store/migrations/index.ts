import type { Migration } from 'kysely';
import * as m0001 from './0001_initial.js';
import * as m0002 from './0002_token_deactivated_by.js';
import * as m0003 from './0003_access_log.js';
import * as m0004 from './0004_token_usage.js';
import * as m0005 from './0005_webhooks.js';
import * as m0006 from './0006_resource_external_ids.js';
import * as m0007 from './0007_token_limits.js';

/** Every migration, by sortable name. Listed in code (not read from disk) so the built and the source tree run the same set. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_token_deactivated_by': m0002,
  '0003_access_log': m0003,
  '0004_token_usage': m0004,
  '0005_webhooks': m0005,
  '0006_resource_external_ids': m0006,
  '0007_token_limits': m0007,
};
