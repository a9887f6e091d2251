import type { Kysely } from 'kysely';
import { AuditStore } from './audit.js';
import { ResourceStore } from './resources.js';
import type { Database } from './schema.js';
import { SessionStore } from './sessions.js';
import { TokenStore } from './tokens.js';
import { inTransaction } from './transaction.js';
import { UserStore } from './users.js';

/** All repositories over one database. */
export interface Stores {
  db: Kysely<Database>;
  users: UserStore;
  resources: ResourceStore;
  tokens: TokenStore;
  sessions: SessionStore;
  audit: AuditStore;
  /**
   * Runs `fn` with stores bound to one transaction: a change and its audit record are written
   * together or not at all. Inside a transaction already, it joins it.
   */
  transaction<T>(fn: (tx: Stores) => Promise<T>): Promise<T>;
}

export function createStores(db: Kysely<Database>): Stores {
  return {
    db,
    transaction: (fn) => inTransaction(db, (trx) => fn(createStores(trx))),
    users: new UserStore(db),
    resources: new ResourceStore(db),
    tokens: new TokenStore(db),
    sessions: new SessionStore(db),
    audit: new AuditStore(db),
  };
}
