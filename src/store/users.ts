import type { Kysely, Selectable } from 'kysely';
import type { Database, UsersTable } from './schema.js';
import { normalizeEmail } from '../domain/email.js';
import { containsIgnoringCase } from './text-search.js';

export type UserRow = Selectable<UsersTable>;

/** Users: the people who sign in, by id or email. */
export class UserStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts a user row as given. */
  async insert(row: UserRow): Promise<void> {
    await this.db.insertInto('users').values(row).execute();
  }

  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Looks a user up by email, case-insensitively (emails are stored lower-cased). */
  findByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
  }

  /** Users in id order, after `cursor`; with `text`, only those whose email or name contains it (ignoring case). */
  list(limit: number, cursor?: string, text?: string): Promise<UserRow[]> {
    let q = this.db.selectFrom('users').selectAll().orderBy('id').limit(limit);
    if (cursor) q = q.where('id', '>', cursor);
    if (text !== undefined)
      q = q.where((eb) => eb.or([containsIgnoringCase('email', text), containsIgnoringCase('name', text)]));
    return q.execute();
  }

  async update(id: string, patch: Partial<Omit<UserRow, 'id' | 'created_at'>>): Promise<void> {
    await this.db.updateTable('users').set(patch).where('id', '=', id).execute();
  }

  /** Active administrators: a deactivated one cannot sign in, so it does not count toward "not the last". */
  async countAdmins(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('system_role', '=', 'admin')
      .where('active', '=', 1)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
