import type { Kysely } from 'kysely';
import type { Change } from '../domain/change.js';
import { AccessLogStore } from './access-log.js';
import { AuditStore, type AuditRow } from './audit.js';
import { ResourceStore } from './resources.js';
import type { Database } from './schema.js';
import { SessionStore } from './sessions.js';
import { TokenStore } from './tokens.js';
import { unitOfWork } from './transaction.js';
import { UserStore } from './users.js';

/** Where committed changes go: the change feed, and the audit records for whoever reacts to them (webhooks). */
export interface ChangeSink {
  publish(changes: readonly Change[]): void;
  /** Runs inside the transaction just before it commits, when it changed something (the PostgreSQL channel's NOTIFY). */
  beforeCommit?: ((trx: Kysely<Database>, changes: readonly Change[]) => Promise<void>) | undefined;
  /** Audit records that are now durable, in the order they were written. */
  audited?(rows: readonly AuditRow[]): void;
}

/** All repositories over one database. */
export interface Stores {
  db: Kysely<Database>;
  users: UserStore;
  resources: ResourceStore;
  tokens: TokenStore;
  sessions: SessionStore;
  audit: AuditStore;
  accessLog: AccessLogStore;
  /**
   * Runs `fn` with stores bound to one transaction: a change and its audit record are written
   * together or not at all. The changes `fn` adds to `tx.changes` are published once, after the
   * commit; a rollback drops them. Inside a transaction already, it joins it (and its changes).
   * A write that refers to a row deleted meanwhile fails as NOT_FOUND.
   */
  transaction<T>(fn: (tx: TransactionStores) => Promise<T>): Promise<T>;
}

/** Stores bound to one transaction, with the changes to publish when it commits. */
export interface TransactionStores extends Stores {
  readonly changes: Change[];
  /** Audit records written in this transaction, told to the sink after the commit. */
  readonly audited: AuditRow[];
}

const NOWHERE: ChangeSink = { publish: () => {} };

/** Repositories over `db`; committed transactions' changes are published to `sink`. */
export function createStores(db: Kysely<Database>, sink: ChangeSink = NOWHERE): Stores {
  return {
    ...repositories(db, (row) => sink.audited?.([row])),
    async transaction(fn) {
      const changes: Change[] = [];
      const audited: AuditRow[] = [];
      const result = await unitOfWork(db, async (trx) => {
        const value = await fn(bound(trx, changes, audited));
        if (changes.length > 0 && sink.beforeCommit) await sink.beforeCommit(trx, changes);
        return value;
      });
      // Only here has the transaction committed; were it to roll back, the unit of work threw.
      sink.publish(changes);
      if (audited.length > 0) sink.audited?.(audited);
      return result;
    },
  };
}

function repositories(db: Kysely<Database>, audited: (row: AuditRow) => void): Omit<Stores, 'transaction'> {
  return {
    db,
    users: new UserStore(db),
    resources: new ResourceStore(db),
    tokens: new TokenStore(db),
    sessions: new SessionStore(db),
    audit: new AuditStore(db, audited),
    accessLog: new AccessLogStore(db),
  };
}

/** Stores inside a transaction: a nested transaction joins it, adding to the same changes and records. */
function bound(trx: Kysely<Database>, changes: Change[], audited: AuditRow[]): TransactionStores {
  const tx: TransactionStores = {
    ...repositories(trx, (row) => audited.push(row)),
    changes,
    audited,
    transaction: (fn) => fn(tx),
  };
  return tx;
}
