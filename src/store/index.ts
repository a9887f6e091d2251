import type { Kysely } from 'kysely';
import { AuditStore } from './audit.js';
import { ResourceStore } from './resources.js';
import type { Database } from './schema.js';
import { SessionStore } from './sessions.js';
import { TokenStore } from './tokens.js';
import { UserStore } from './users.js';

/** All repositories over one database. */
export interface Stores {
  db: Kysely<Database>;
  users: UserStore;
  resources: ResourceStore;
  tokens: TokenStore;
  sessions: SessionStore;
  audit: AuditStore;
}

export function createStores(db: Kysely<Database>): Stores {
  return {
    db,
    users: new UserStore(db),
    resources: new ResourceStore(db),
    tokens: new TokenStore(db),
    sessions: new SessionStore(db),
    audit: new AuditStore(db),
  };
}
