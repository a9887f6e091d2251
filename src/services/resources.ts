import { readNameCursor } from '../domain/cursor.js';
import { KeygateError, fail } from '../domain/errors.js';
import type { Ancestry } from '../domain/policy.js';
import { validate } from '../domain/validate.js';
import {
  MemberParams,
  MemberRole,
  ResourceBulkUpsert,
  ResourceCreate,
  ResourceListQuery,
  ResourceRename,
  type ResourceBulkInput,
} from '../schemas.js';
import { newId } from '../domain/ids.js';
import { levelCovering, levelPermissions, mayPlace, type AccessModel } from '../domain/model.js';
import type { Stores } from '../store/index.js';
import type { ResourceRow, ResourceStore } from '../store/resources.js';
import { isUniqueViolation } from '../store/transaction.js';
import type { Access } from './access.js';
import { fieldChanges, type AuditTrail, type Origin } from './audit.js';
import { actingUser, isSystemAdmin, type Principal } from './principal.js';
import type { UserService } from './users.js';

export interface Member {
  kind: 'user' | 'token';
  id: string;
  name: string;
  email: string | null;
  role: string | null;
  /** Where the role is held: this resource, or an ancestor it is inherited from. */
  resourceId: string;
  inherited: boolean;
  active: boolean | null;
  expiresAt: string | null;
  ownerId: string | null;
}

/** An ancestor of a resource as its path shows it. */
export interface PathStep {
  id: string;
  type: string;
  name: string;
}

/** What bulkUpsert did with one item. */
export interface BulkUpsertOutcome {
  externalId: string;
  type: string;
  id: string;
  status: 'created' | 'updated' | 'unchanged';
}

/** One item of a bulk upsert once it is resolved and authorized: what to write. */
interface BulkPlan {
  index: number;
  item: ResourceBulkInput;
  id: string;
  name: string;
  parentId: string | null;
  status: BulkUpsertOutcome['status'];
}

const OUT_OF_REACH = 'There is no such resource, or it is outside your reach.';
/** The field of a bulk item at fault, as the refusal names it. */
const itemField = (index: number, field: string) => `items[${index}].${field}`;

/** The resource tree and who holds which role where. */
export class ResourceService {
  constructor(
    private readonly model: AccessModel,
    private readonly stores: Stores,
    private readonly access: Access,
    private readonly users: UserService,
    private readonly audit: AuditTrail,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Creates a resource under a parent the caller may write to (roots: administrators only). */
  async create(
    p: Principal,
    input: { type: string; name: string; parentId?: string | null | undefined; externalId?: string | null | undefined },
    origin: Origin,
  ): Promise<ResourceRow> {
    validate(ResourceCreate, input);
    if (!Object.hasOwn(this.model.resourceTypes, input.type))
      fail(
        'UNKNOWN_RESOURCE_TYPE',
        `Unknown resource type ${input.type}; known: ${Object.keys(this.model.resourceTypes).join(', ')}.`,
        'type',
      );
    let parentType: string | null = null;
    if (input.parentId) {
      await this.access.require(p, input.parentId, 'resources:write');
      parentType =
        (await this.stores.resources.findById(input.parentId))?.type ??
        fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.', 'parentId');
    } else if (!isSystemAdmin(p) || (p.kind === 'token' && p.token.resourceId !== null)) {
      fail('FORBIDDEN', 'Only administrators create top-level resources.', 'parentId');
    }
    if (!mayPlace(this.model, input.type, parentType)) {
      fail(
        'INVALID_PARENT',
        parentType === null
          ? `A ${input.type} needs a parent.`
          : `A ${input.type} cannot be placed under a ${parentType}.`,
        'parentId',
      );
    }
    const now = this.clock().toISOString();
    // `||`, not `??`: an empty parentId means no parent (a root), not a parent whose id is "".
    const row: ResourceRow = {
      id: newId('res'),
      type: input.type,
      name: input.name.trim(),
      parent_id: input.parentId || null,
      created_at: now,
      updated_at: now,
      external_id: input.externalId ?? null,
    };
    try {
      await this.stores.transaction(async (tx) => {
        await tx.resources.insert(row);
        tx.changes.push({ kind: 'resource', id: row.id });
        await this.recordCreate(p, row, origin, tx.audit);
      });
    } catch (err) {
      if (isUniqueViolation(err)) fail('CONFLICT', `A ${row.type} with this externalId exists already.`, 'externalId');
      throw err;
    }
    return row;
  }

  private recordCreate(p: Principal, row: ResourceRow, origin: Origin, audit: Stores['audit']) {
    return this.audit.record(
      p,
      {
        action: 'resource.create',
        targetType: 'resource',
        targetId: row.id,
        resourceId: row.id,
        details: { after: resourceSnapshot(row) },
        origin,
      },
      audit,
    );
  }

  /**
   * The keygate id a reference names, for the gateway's route targets; no authorization (the
   * caller checks the reach of what it gets). A keygate id of an existing resource (of `type`, when
   * given) names that resource; otherwise the reference is an external id: the resource of `type`
   * with it, or, without a type, the one resource carrying it (null when several types share it).
   */
  async resolveRef(ref: string, type?: string): Promise<string | null> {
    if (ref === '') return null;
    const rows = await this.stores.resources.findByIdOrExternalId(ref, type === undefined ? undefined : [type]);
    const byId = rows.find((r) => r.id === ref);
    if (byId !== undefined && (type === undefined || byId.type === type)) return byId.id;
    const found = new Set(rows.filter((r) => r.external_id === ref && r.id !== ref).map((r) => r.id));
    return found.size === 1 ? [...found][0]! : null;
  }

  /** The resources carrying an external id (of `type`, when given) that the caller may read; others are not hinted at. */
  async findByExternalId(p: Principal, externalId: string, type?: string): Promise<ResourceRow[]> {
    const rows = await this.stores.resources.findByExternalId(externalId, type === undefined ? undefined : [type]);
    const out: ResourceRow[] = [];
    for (const row of rows) if ((await this.readableAncestry(p, row.id)) !== null) out.push(row);
    return out;
  }

  /**
   * Creates or updates resources by (type, externalId), in one transaction: all or none. Each item
   * is authorized as create() authorizes it (resources:write at its parent; roots for system
   * administrators only); an existing one is renamed when its name differs, and moved when its
   * parent differs, if the caller may write at both parents and the move makes no cycle. A parent
   * named by external id is looked for among the types the model allows as parents, earlier items
   * of the batch included. Outcomes come in input order.
   */
  async bulkUpsert(p: Principal, items: readonly ResourceBulkInput[], origin: Origin): Promise<BulkUpsertOutcome[]> {
    validate(ResourceBulkUpsert, { items });
    const positions = new Map<string, number>();
    for (const [i, item] of items.entries()) {
      if (!Object.hasOwn(this.model.resourceTypes, item.type))
        fail('UNKNOWN_RESOURCE_TYPE', `Unknown resource type ${item.type}.`, itemField(i, 'type'));
      if (item.parentId != null && item.parentExternalId != null)
        fail('VALIDATION_FAILED', 'Give parentId or parentExternalId, not both.', itemField(i, 'parentExternalId'));
      const key = typedKey(item.type, item.externalId);
      const earlier = positions.get(key);
      if (earlier !== undefined)
        fail('CONFLICT', `items[${earlier}] has the same type and externalId.`, itemField(i, 'externalId'));
      positions.set(key, i);
    }

    const existing = new Map<string, ResourceRow>();
    for (const row of await this.stores.resources.findByExternalIds([...new Set(items.map((x) => x.externalId))]))
      if (row.external_id !== null) existing.set(typedKey(row.type, row.external_id), row);
    const tree = new PlannedTree(this.access, this.stores.resources);
    const plans: BulkPlan[] = [];
    for (const [index, item] of items.entries()) {
      plans.push(await this.planItem(p, index, item, existing.get(typedKey(item.type, item.externalId)), plans, tree));
    }

    const now = this.clock().toISOString();
    try {
      await this.stores.transaction(async (tx) => {
        for (const plan of plans) {
          if (plan.status === 'unchanged') continue;
          if (plan.status === 'created') {
            const row: ResourceRow = {
              id: plan.id,
              type: plan.item.type,
              name: plan.name,
              parent_id: plan.parentId,
              created_at: now,
              updated_at: now,
              external_id: plan.item.externalId,
            };
            await tx.resources.insert(row);
            tx.changes.push({ kind: 'resource', id: row.id });
            await this.recordCreate(p, row, origin, tx.audit);
            continue;
          }
          // Another process may have deleted it since it was read.
          const before =
            (await tx.resources.findById(plan.id)) ??
            fail('NOT_FOUND', OUT_OF_REACH, itemField(plan.index, 'externalId'));
          const after = { ...before, name: plan.name, parent_id: plan.parentId };
          await tx.resources.update(plan.id, { name: after.name, parent_id: after.parent_id }, now);
          tx.changes.push({ kind: 'resource', id: plan.id });
          await this.audit.record(
            p,
            {
              action: 'resource.update',
              targetType: 'resource',
              targetId: plan.id,
              resourceId: plan.id,
              details: { changes: fieldChanges(resourceSnapshot(before), resourceSnapshot(after)) },
              origin,
            },
            tx.audit,
          );
        }
      });
    } catch (err) {
      if (isUniqueViolation(err))
        fail('CONFLICT', 'Another request wrote resources with these external ids meanwhile; send the batch again.');
      throw err;
    }
    return plans.map((x) => ({ externalId: x.item.externalId, type: x.item.type, id: x.id, status: x.status }));
  }

  /** Resolves and authorizes one bulk item against the tree as the earlier items leave it. */
  private async planItem(
    p: Principal,
    index: number,
    item: ResourceBulkInput,
    current: ResourceRow | undefined,
    earlier: readonly BulkPlan[],
    tree: PlannedTree,
  ): Promise<BulkPlan> {
    const parentField = itemField(index, item.parentExternalId != null ? 'parentExternalId' : 'parentId');
    // An existing resource outside the caller's reach is refused as a missing one would be.
    if (current !== undefined && this.access.permissionsAt(p, await tree.ancestry(current.id)).size === 0)
      fail('NOT_FOUND', OUT_OF_REACH, itemField(index, 'externalId'));

    const parent = await this.bulkParent(p, index, item, earlier, tree);
    await this.requireWriteAt(p, parent?.id ?? null, tree, parentField);
    if (!mayPlace(this.model, item.type, parent?.type ?? null))
      fail(
        'INVALID_PARENT',
        parent === null ? `A ${item.type} needs a parent.` : `A ${item.type} cannot be placed under a ${parent.type}.`,
        parentField,
      );
    const parentId = parent?.id ?? null;
    const name = item.name.trim();
    if (current === undefined) {
      const id = newId('res');
      tree.place(id, parentId);
      return { index, item, id, name, parentId, status: 'created' };
    }
    if (current.parent_id !== parentId) {
      await this.requireWriteAt(p, current.parent_id, tree, parentField);
      if (parentId !== null && (await tree.ancestry(parentId)).includes(current.id))
        fail('INVALID_PARENT', `A ${item.type} cannot be placed under itself or under what it holds.`, parentField);
      tree.place(current.id, parentId);
    }
    const changed = current.parent_id !== parentId || current.name !== name;
    return { index, item, id: current.id, name, parentId, status: changed ? 'updated' : 'unchanged' };
  }

  /** The parent a bulk item names (null: none), found within the caller's reach. */
  private async bulkParent(
    p: Principal,
    index: number,
    item: ResourceBulkInput,
    earlier: readonly BulkPlan[],
    tree: PlannedTree,
  ): Promise<{ id: string; type: string } | null> {
    if (item.parentId != null) {
      const field = itemField(index, 'parentId');
      const row = (await tree.row(item.parentId)) ?? fail('NOT_FOUND', OUT_OF_REACH, field);
      if (this.access.permissionsAt(p, await tree.ancestry(row.id)).size === 0) fail('NOT_FOUND', OUT_OF_REACH, field);
      return { id: row.id, type: row.type };
    }
    const ref = item.parentExternalId;
    if (ref == null) return null;
    const field = itemField(index, 'parentExternalId');
    const types = this.model.resourceTypes[item.type]!.parents.filter((t): t is string => t !== null);
    if (types.length === 0) fail('INVALID_PARENT', `A ${item.type} has no parent.`, field);
    const found = new Map<string, string>();
    for (const plan of earlier)
      if (plan.item.externalId === ref && types.includes(plan.item.type)) found.set(plan.item.type, plan.id);
    for (const row of await tree.withExternalId(ref, types)) {
      if (found.has(row.type)) continue;
      if (this.access.permissionsAt(p, await tree.ancestry(row.id)).size > 0) found.set(row.type, row.id);
    }
    if (found.size === 0) fail('NOT_FOUND', OUT_OF_REACH, field);
    if (found.size > 1)
      fail(
        'VALIDATION_FAILED',
        `parentExternalId names a ${[...found.keys()].join(' and a ')}; give parentId instead.`,
        field,
      );
    const [type, id] = [...found][0]!;
    return { id, type };
  }

  /** Requires resources:write at a parent as the tree will be (null: a root, for system administrators only). */
  private async requireWriteAt(p: Principal, parentId: string | null, tree: PlannedTree, field: string): Promise<void> {
    if (parentId === null) {
      if (!isSystemAdmin(p) || (p.kind === 'token' && p.token.resourceId !== null))
        fail('FORBIDDEN', 'Only administrators place resources at the top.', field);
      return;
    }
    const held = this.access.permissionsAt(p, await tree.ancestry(parentId));
    if (held.size === 0) fail('NOT_FOUND', OUT_OF_REACH, field);
    if (!held.has('resources:write'))
      fail('INSUFFICIENT_PERMISSIONS', 'This needs the resources:write permission on the parent.', field);
  }

  /** A resource the caller may read. */
  async get(p: Principal, id: string): Promise<ResourceRow> {
    await this.access.require(p, id, 'resources:read');
    return (
      (await this.stores.resources.findById(id)) ??
      fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.')
    );
  }

  async children(p: Principal, id: string, limit: number, cursor?: string): Promise<ResourceRow[]> {
    await this.access.require(p, id, 'resources:read');
    return this.stores.resources.children(id, limit, cursor);
  }

  /** The top of what the caller can see: every root for administrators, else the resources it holds a role on (or a token's own resource). */
  async entryPoints(p: Principal, limit: number, cursor?: string): Promise<ResourceRow[]> {
    if (p.kind === 'token' && p.token.resourceId !== null) {
      return this.access.permissionsAt(p, p.home).has('resources:read')
        ? this.stores.resources.findMany([p.token.resourceId])
        : [];
    }
    if (isSystemAdmin(p)) return this.stores.resources.children(null, limit, cursor);
    const user = p.kind === 'user' ? p.user : (p.impersonated ?? p.owner);
    const ids = [...user.roles.keys()]
      .sort()
      .filter((id) => !cursor || id > cursor)
      .slice(0, limit);
    return this.stores.resources.findMany(ids);
  }

  /**
   * Resources whose name contains `q` (ignoring case), by name: those the caller may read as get()
   * decides, looked for only where its reach can start (everywhere for administrators; a token's
   * subtree; else below the resources the acting user holds a role on, as entryPoints() lists them).
   * Each row found there is still checked as get() checks it, so a search never shows more than
   * get() would. `cursor` is the nextCursor of the previous page (see domain/cursor.ts).
   */
  async search(p: Principal, q: string, limit: number, cursor?: string): Promise<ResourceRow[]> {
    validate(ResourceListQuery, { q, limit, cursor });
    let after = cursor === undefined ? undefined : readNameCursor(cursor);
    if (after === null) fail('VALIDATION_FAILED', 'cursor is not the nextCursor of a search.', 'cursor');
    const roots = isSystemAdmin(p)
      ? null
      : p.kind === 'token' && p.token.resourceId !== null
        ? [p.token.resourceId]
        : [...actingUser(p).roles.keys()];
    const found: ResourceRow[] = [];
    // Rows the check refuses (a role whose level cannot read) leave gaps: read on until the page is full.
    for (;;) {
      const batch = await this.stores.resources.search(roots, q, limit, after);
      for (const row of batch) {
        if ((await this.readableAncestry(p, row.id)) !== null) found.push(row);
        if (found.length === limit) return found;
      }
      const last = batch[batch.length - 1];
      if (batch.length < limit || last === undefined) return found;
      after = { name: last.name, id: last.id };
    }
  }

  /**
   * Each resource's path: its ancestors from the top down to its parent, leaving out any the
   * caller may not read (so for someone whose reach starts below the root, it starts there).
   */
  async paths(p: Principal, rows: readonly ResourceRow[]): Promise<Map<string, PathStep[]>> {
    const visible = new Map<string, string[]>();
    for (const row of rows) {
      const ancestry = (await this.readableAncestry(p, row.id)) ?? [];
      const ids: string[] = [];
      // ancestry[0] is the resource itself and the root comes last; ancestry.slice(i) is ancestry[i]'s own.
      for (let i = ancestry.length - 1; i >= 1; i--) {
        if (this.access.permissionsAt(p, ancestry.slice(i)).has('resources:read')) ids.push(ancestry[i]!);
      }
      visible.set(row.id, ids);
    }
    const byId = new Map(
      (await this.stores.resources.findMany([...new Set([...visible.values()].flat())])).map((r) => [r.id, r]),
    );
    const out = new Map<string, PathStep[]>();
    for (const [id, ids] of visible) {
      out.set(
        id,
        ids.flatMap((a) => {
          const r = byId.get(a);
          return r ? [{ id: r.id, type: r.type, name: r.name }] : [];
        }),
      );
    }
    return out;
  }

  /** A resource the caller may read, with its path. */
  async show(p: Principal, id: string): Promise<{ row: ResourceRow; path: PathStep[] }> {
    const row = await this.get(p, id);
    return { row, path: (await this.paths(p, [row])).get(row.id) ?? [] };
  }

  /** The ancestry of a resource the caller may read (as get() decides); null when it may not, or it is gone. */
  private async readableAncestry(p: Principal, id: string): Promise<Ancestry | null> {
    let ancestry: Ancestry;
    try {
      ancestry = await this.access.ancestryOf(id);
    } catch (err) {
      if (err instanceof KeygateError && err.code === 'NOT_FOUND') return null;
      throw err;
    }
    return this.access.permissionsAt(p, ancestry).has('resources:read') ? ancestry : null;
  }

  async rename(p: Principal, id: string, name: string, origin: Origin): Promise<ResourceRow> {
    validate(ResourceRename, { name });
    await this.access.require(p, id, 'resources:write');
    await this.stores.transaction(async (tx) => {
      // Another process may have deleted it since the cached tree said it exists.
      const before =
        (await tx.resources.findById(id)) ??
        fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.');
      const after = { ...before, name: name.trim() };
      await tx.resources.rename(id, after.name, this.clock().toISOString());
      tx.changes.push({ kind: 'resource', id });
      await this.audit.record(
        p,
        {
          action: 'resource.update',
          targetType: 'resource',
          targetId: id,
          resourceId: id,
          details: { changes: fieldChanges(resourceSnapshot(before), resourceSnapshot(after)) },
          origin,
        },
        tx.audit,
      );
    });
    return (
      (await this.stores.resources.findById(id)) ??
      fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.')
    );
  }

  /** Deletes a resource without children; its memberships and tokens go with it. */
  async delete(p: Principal, id: string, origin: Origin): Promise<void> {
    const { ancestry } = await this.access.require(p, id, 'resources:delete');
    if (p.kind === 'token' && p.token.resourceId === id)
      fail('FORBIDDEN', 'A token cannot delete the resource it is attached to.');
    if (await this.stores.resources.hasChildren(id)) fail('RESOURCE_NOT_EMPTY');
    await this.stores.transaction(async (tx) => {
      // Another process may have deleted it since the cached tree said it exists.
      const before =
        (await tx.resources.findById(id)) ??
        fail('NOT_FOUND', 'There is no such resource, or it is outside your reach.');
      const tokens = await tx.tokens.list({ resourceId: id, now: this.clock().toISOString(), limit: 1_000_000 });
      const members = await tx.resources.membersOf(id);
      for (const t of tokens) {
        await tx.tokens.delete(t.id);
        tx.changes.push({ kind: 'token', id: t.id }, { kind: 'keys', tokenId: t.id });
      }
      await tx.resources.delete(id);
      tx.changes.push({ kind: 'resource', id });
      for (const m of members) tx.changes.push({ kind: 'membership', userId: m.user_id, resourceId: id });
      await this.audit.record(
        p,
        {
          action: 'resource.delete',
          targetType: 'resource',
          targetId: id,
          resourceId: ancestry[1] ?? null,
          details: {
            before: resourceSnapshot(before),
            tokensDeleted: tokens.length,
            // Its tokens go with it without records of their own: whoever reacts to deletions reads them here.
            tokenIds: tokens.map((t) => t.id),
            memberIds: members.map((m) => m.user_id),
          },
          origin,
        },
        tx.audit,
      );
    });
  }

  /** People (with inherited roles) and tokens attached to the resource, as its Users tab shows them. */
  async members(p: Principal, id: string): Promise<Member[]> {
    const { ancestry } = await this.access.require(p, id, 'members:read');
    const out: Member[] = [];
    const seen = new Set<string>();
    for (const resourceId of ancestry) {
      for (const m of await this.stores.resources.membersOf(resourceId)) {
        if (seen.has(m.user_id)) continue;
        seen.add(m.user_id);
        out.push({
          kind: 'user',
          id: m.user_id,
          name: m.name,
          email: m.email,
          role: m.role,
          resourceId,
          inherited: resourceId !== id,
          active: null,
          expiresAt: null,
          ownerId: null,
        });
      }
    }
    const tokens = await this.stores.tokens.list({ resourceId: id, now: this.clock().toISOString(), limit: 10_000 });
    for (const t of tokens) {
      const role = t.level ?? levelCovering(this.model, JSON.parse(t.permissions) as string[]);
      out.push({
        kind: 'token',
        id: t.id,
        name: t.name,
        email: null,
        role,
        resourceId: id,
        inherited: false,
        active: t.active === 1,
        expiresAt: t.expires_at,
        ownerId: t.owner_id,
      });
    }
    return out;
  }

  /** Gives a user a role on the resource; never a role with more rights than the caller's own. */
  async setRole(p: Principal, id: string, userRef: string, role: string, origin: Origin): Promise<Member> {
    validate(MemberParams, { id, userId: userRef });
    validate(MemberRole, { role });
    const { held, ancestry } = await this.access.require(p, id, 'members:manage');
    if (!Object.hasOwn(this.model.levels, role))
      fail('UNKNOWN_LEVEL', `Unknown role ${role}; known: ${Object.keys(this.model.levels).join(', ')}.`, 'role');
    const excess = levelPermissions(this.model, role).filter((perm) => !held.has(perm));
    if (excess.length > 0)
      fail('ROLE_ESCALATION', `You cannot give ${role}: it holds ${excess.join(', ')}, which you do not.`, 'role');
    const user = await this.reachableUser(p, userRef, ancestry);
    await this.refuseIfOutranked(held, id, user.id, 'change');
    await this.stores.transaction(async (tx) => {
      const previous = (await tx.resources.rolesOf(user.id)).get(id);
      await tx.resources.setMembership(id, user.id, role, this.clock().toISOString());
      tx.changes.push({ kind: 'membership', userId: user.id, resourceId: id });
      await this.audit.record(
        p,
        {
          action: previous === undefined ? 'membership.add' : 'membership.update',
          targetType: 'membership',
          targetId: `${id}:${user.id}`,
          resourceId: id,
          details:
            previous === undefined
              ? { userId: user.id, email: user.email, role }
              : { userId: user.id, email: user.email, role, changes: fieldChanges({ role: previous }, { role }) },
          origin,
        },
        tx.audit,
      );
    });
    return {
      kind: 'user',
      id: user.id,
      name: user.name,
      email: user.email,
      role,
      resourceId: id,
      inherited: false,
      active: null,
      expiresAt: null,
      ownerId: null,
    };
  }

  /**
   * The user a role is given to. Ids are unguessable, so an id finds anyone; an email address finds
   * only someone already a member here (directly or above) unless the caller is a system
   * administrator. Any other address, whether a user has it or not, gets the same UNKNOWN_USER, so
   * a resource administrator cannot learn which addresses belong to users outside their reach.
   */
  private async reachableUser(p: Principal, userRef: string, ancestry: readonly string[]) {
    const unknown = () => fail('UNKNOWN_USER', `There is no user ${userRef} you can add here.`, 'userId');
    const user = await this.users.find(userRef);
    if (!userRef.includes('@') || isSystemAdmin(p)) return user ?? unknown();
    // Every ancestor is read whether or not the address belongs to anyone, so the time taken does
    // not tell the two apart either.
    let reachable = false;
    for (const resourceId of ancestry) {
      const members = await this.stores.resources.membersOf(resourceId);
      if (user !== undefined && members.some((m) => m.user_id === user.id)) reachable = true;
    }
    return reachable && user !== undefined ? user : unknown();
  }

  async removeRole(p: Principal, id: string, userRef: string, origin: Origin): Promise<void> {
    validate(MemberParams, { id, userId: userRef });
    const { held } = await this.access.require(p, id, 'members:manage');
    const user = (await this.users.find(userRef)) ?? fail('NOT_FOUND', 'That user is not a member here.');
    await this.refuseIfOutranked(held, id, user.id, 'remove');
    await this.stores.transaction(async (tx) => {
      const previous = (await tx.resources.rolesOf(user.id)).get(id);
      if (!(await tx.resources.removeMembership(id, user.id))) fail('NOT_FOUND', 'That user is not a member here.');
      tx.changes.push({ kind: 'membership', userId: user.id, resourceId: id });
      await this.audit.record(
        p,
        {
          action: 'membership.remove',
          targetType: 'membership',
          targetId: `${id}:${user.id}`,
          resourceId: id,
          details: { userId: user.id, email: user.email, role: previous ?? null },
          origin,
        },
        tx.audit,
      );
    });
  }

  /** A member whose role here holds rights the caller lacks can be neither changed nor removed by it (a manager cannot demote an administrator). */
  private async refuseIfOutranked(
    held: ReadonlySet<string>,
    id: string,
    userId: string,
    verb: 'change' | 'remove',
  ): Promise<void> {
    const existing = (await this.stores.resources.rolesOf(userId)).get(id);
    if (existing === undefined) return;
    const lacking = levelPermissions(this.model, existing).filter((perm) => !held.has(perm));
    if (lacking.length > 0)
      fail(
        'ROLE_ESCALATION',
        `You cannot ${verb} this member's ${existing} role: it holds ${lacking.join(', ')}, which you do not.`,
        'role',
      );
  }
}

/** A resource as the audit trail shows it before and after a change. */
function resourceSnapshot(row: ResourceRow): Record<string, unknown> {
  return { type: row.type, name: row.name, parentId: row.parent_id, externalId: row.external_id };
}

/** A resource's identity among external ids: its type and its external id. */
function typedKey(type: string, externalId: string): string {
  return `${type}\u0000${externalId}`;
}

/**
 * The tree as a bulk upsert leaves it so far: committed ancestries (from the access cache) with
 * the batch's new and moved resources laid over them, so each item is authorized where it will be.
 */
class PlannedTree {
  /** Parent by id, for resources the batch creates or moves. */
  private readonly placed = new Map<string, string | null>();
  // A batch names the same few parents over and over: each is read once.
  private readonly rows = new Map<string, Promise<ResourceRow | undefined>>();
  private readonly byExternalId = new Map<string, Promise<ResourceRow[]>>();

  constructor(
    private readonly access: Access,
    private readonly store: ResourceStore,
  ) {}

  /** A committed resource (as it was before the batch). */
  row(id: string): Promise<ResourceRow | undefined> {
    const known = this.rows.get(id);
    if (known !== undefined) return known;
    const found = this.store.findById(id);
    this.rows.set(id, found);
    return found;
  }

  /** Committed resources of one of `types` carrying an external id. */
  withExternalId(externalId: string, types: readonly string[]): Promise<ResourceRow[]> {
    const key = `${types.join(',')}\u0000${externalId}`;
    const known = this.byExternalId.get(key);
    if (known !== undefined) return known;
    const found = this.store.findByExternalId(externalId, types);
    this.byExternalId.set(key, found);
    return found;
  }

  place(id: string, parentId: string | null): void {
    this.placed.set(id, parentId);
  }

  /** Ids from the resource up to its root; NOT_FOUND when it does not exist. */
  async ancestry(id: string): Promise<string[]> {
    const out: string[] = [];
    let next: string | null = id;
    while (next !== null) {
      if (this.placed.has(next)) {
        out.push(next);
        next = this.placed.get(next) ?? null;
        continue;
      }
      const committed = await this.access.ancestryOf(next);
      next = null;
      for (const step of committed) {
        // A moved ancestor: the rest of the way up is where the batch puts it.
        if (this.placed.has(step)) {
          next = step;
          break;
        }
        out.push(step);
      }
    }
    return out;
  }
}
