import { sql, type Kysely, type Selectable, type SqlBool } from 'kysely';
import type { NamePosition } from '../domain/cursor.js';
import type { Database, MembershipsTable, ResourcesTable } from './schema.js';
import { containsIgnoringCase } from './text-search.js';

export type ResourceRow = Selectable<ResourcesTable>;
export type MembershipRow = Selectable<MembershipsTable>;

/** Resources (the tree) and memberships (user × resource → role). */
export class ResourceStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: ResourceRow): Promise<void> {
    await this.db.insertInto('resources').values(row).execute();
  }

  findById(id: string): Promise<ResourceRow | undefined> {
    return this.db.selectFrom('resources').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Resources carrying this external id (of one of `types`, when given), by type. */
  findByExternalId(externalId: string, types?: readonly string[]): Promise<ResourceRow[]> {
    if (types !== undefined && types.length === 0) return Promise.resolve([]);
    let q = this.db.selectFrom('resources').selectAll().where('external_id', '=', externalId).orderBy('type');
    if (types !== undefined) q = q.where('type', 'in', types);
    return q.execute();
  }

  /**
   * In one round trip: the resource whose keygate id is `ref`, and those carrying `ref` as their
   * external id (of one of `types`, when given). Both halves use an index.
   */
  findByIdOrExternalId(ref: string, types?: readonly string[]): Promise<ResourceRow[]> {
    let byExternalId = this.db.selectFrom('resources').selectAll().where('external_id', '=', ref);
    if (types !== undefined) byExternalId = byExternalId.where('type', 'in', types.length > 0 ? types : ['']);
    return this.db.selectFrom('resources').selectAll().where('id', '=', ref).unionAll(byExternalId).execute();
  }

  /** Resources carrying any of these external ids, whatever their type. */
  async findByExternalIds(externalIds: readonly string[]): Promise<ResourceRow[]> {
    const out: ResourceRow[] = [];
    // In slices, so no dialect's limit on bound parameters is reached.
    for (let i = 0; i < externalIds.length; i += 500) {
      const slice = externalIds.slice(i, i + 500);
      out.push(...(await this.db.selectFrom('resources').selectAll().where('external_id', 'in', slice).execute()));
    }
    return out;
  }

  /** Direct children of a resource (or the roots, for `null`), by name. */
  children(parentId: string | null, limit: number, cursor?: string): Promise<ResourceRow[]> {
    let q = this.db.selectFrom('resources').selectAll().orderBy('id').limit(limit);
    q = parentId === null ? q.where('parent_id', 'is', null) : q.where('parent_id', '=', parentId);
    if (cursor) q = q.where('id', '>', cursor);
    return q.execute();
  }

  /**
   * Resources whose name contains `text` (ignoring case), by name then id, after `after`: within
   * the subtrees of `roots` (the roots themselves included), or everywhere for `null`.
   */
  search(roots: readonly string[] | null, text: string, limit: number, after?: NamePosition): Promise<ResourceRow[]> {
    if (roots !== null && roots.length === 0) return Promise.resolve([]);
    let q = this.db
      .selectFrom('resources')
      .selectAll()
      .where(containsIgnoringCase('name', text))
      .orderBy('name')
      .orderBy('id')
      .limit(limit);
    if (after) q = q.where(sql<SqlBool>`(name, id) > (${after.name}, ${after.id})`);
    // `union`, not `union all`: overlapping subtrees (a role on a resource and on one below it) are walked once.
    if (roots !== null)
      q = q.where(
        sql<SqlBool>`id in (with recursive sub(id) as (select cast(a.id as text) from resources a where a.id in (${sql.join(roots)}) union select cast(r.id as text) from resources r join sub on r.parent_id = sub.id) select id from sub)`,
      );
    return q.execute();
  }

  findMany(ids: readonly string[]): Promise<ResourceRow[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('resources').selectAll().where('id', 'in', ids).execute();
  }

  async hasChildren(id: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('resources')
      .select('id')
      .where('parent_id', '=', id)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async rename(id: string, name: string, now: string): Promise<void> {
    await this.db.updateTable('resources').set({ name, updated_at: now }).where('id', '=', id).execute();
  }

  /** Renames and/or moves a resource. */
  async update(id: string, fields: { name: string; parent_id: string | null }, now: string): Promise<void> {
    await this.db
      .updateTable('resources')
      .set({ name: fields.name, parent_id: fields.parent_id, updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /** Deletes a childless resource; its memberships and tokens go with it (foreign keys cascade). */
  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('resources').where('id', '=', id).execute();
  }

  /** Sets (or replaces) a user's role on a resource. */
  async setMembership(resourceId: string, userId: string, role: string, now: string): Promise<void> {
    await this.db
      .insertInto('memberships')
      .values({ resource_id: resourceId, user_id: userId, role, created_at: now })
      .onConflict((oc) => oc.columns(['resource_id', 'user_id']).doUpdateSet({ role }))
      .execute();
  }

  async removeMembership(resourceId: string, userId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('memberships')
      .where('resource_id', '=', resourceId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  membersOf(resourceId: string): Promise<(MembershipRow & { email: string; name: string })[]> {
    return this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select([
        'memberships.resource_id',
        'memberships.user_id',
        'memberships.role',
        'memberships.created_at',
        'users.email',
        'users.name',
      ])
      .where('memberships.resource_id', '=', resourceId)
      .orderBy('users.email')
      .execute();
  }

  /** Every role a user holds, by resource id. */
  async rolesOf(userId: string): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('memberships')
      .select(['resource_id', 'role'])
      .where('user_id', '=', userId)
      .execute();
    return new Map(rows.map((r) => [r.resource_id, r.role]));
  }
}
