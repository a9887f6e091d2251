import { Type } from 'typebox';
import { principalOf } from '../authenticate.js';
import {
  IdParams,
  MemberParams,
  MemberRole,
  PageQuery,
  ResourceBulkResult,
  ResourceBulkUpsert,
  ResourceCreate,
  ResourceListQuery,
  ResourceRename,
  errorResponses,
  Nullable,
} from '../../schemas.js';
import type { FastifyTypebox } from '../types.js';
import { requestContext } from '../request-context.js';
import { fail } from '../../domain/errors.js';
import { nameCursor } from '../../domain/cursor.js';
import { page, resourceJson, resourceWithPathJson } from '../views.js';

const ResourcePage = Type.Object({ items: Type.Array(Type.Ref('Resource')), nextCursor: Nullable(Type.String()) });

/** The resource tree and its members. */
export function resourceRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  const config = { apiGroup: 'resources' };
  const tags = ['resources'];

  // Creates a resource under a parent (or a root, for administrators).
  app.post(
    '/resources',
    {
      config,
      schema: {
        tags,
        summary: 'Create a resource',
        description:
          "Needs resources:write on the parent. Top-level resources (no parentId): system administrators only. The type must be allowed under the parent's type.",
        body: ResourceCreate,
        response: { 201: Type.Ref('Resource'), ...errorResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(resourceJson(await kg.resources.create(principalOf(request), request.body, requestContext(request)))),
  );

  // Creates or updates many resources by their external ids (a platform mirroring its own), all or none.
  app.post(
    '/resources/bulk',
    {
      config,
      schema: {
        tags,
        summary: 'Create or update resources by external id, all or none',
        description:
          'Upserts 1 to 1000 resources by (type, externalId) in one transaction. Each item is authorized as POST /resources is: resources:write on its parent ' +
          '(parentId, or parentExternalId among the types allowed as parents, earlier items included); top-level ones for system administrators only. ' +
          'An existing resource is renamed when its name differs, and moved when its parent differs (needs resources:write on both parents). ' +
          'Any refusal refuses the whole batch and names the item, e.g. items[3].parentExternalId. Answers each keygate id in the order given.',
        body: ResourceBulkUpsert,
        response: { 200: ResourceBulkResult, ...errorResponses },
      },
    },
    async (request) => ({
      items: await kg.resources.bulkUpsert(principalOf(request), request.body.items, requestContext(request)),
    }),
  );

  // Lists where the caller can start (every root for administrators, else the resources it holds a role on), or with q searches its whole reach by name, or with externalId finds by external id.
  app.get(
    '/resources',
    {
      config,
      schema: {
        tags,
        summary: 'List the resources the caller can start from, search them all by name, or find one by external id',
        description:
          'Without q: where you start, by id. With q: every resource you can read whose name contains q (ignoring case), by name, each with its path; the same limit and cursor page through it. ' +
          'With externalId (and optionally type): the resources you can read that carry it; none when there are none within your reach.',
        querystring: ResourceListQuery,
        response: { 200: ResourcePage, ...errorResponses },
      },
    },
    async (request) => {
      const p = principalOf(request);
      const { q, cursor, externalId, type } = request.query;
      const limit = request.query.limit ?? 100;
      if (externalId !== undefined) {
        if (q !== undefined) fail('VALIDATION_FAILED', 'Give q or externalId, not both.', 'q');
        return {
          items: (await kg.resources.findByExternalId(p, externalId, type)).map(resourceJson),
          nextCursor: null,
        };
      }
      if (type !== undefined) fail('VALIDATION_FAILED', 'type is only used with externalId.', 'type');
      if (q === undefined) return page(await kg.resources.entryPoints(p, limit, cursor), limit, resourceJson);
      const rows = await kg.resources.search(p, q, limit, cursor);
      const paths = await kg.resources.paths(p, rows);
      return page(rows, limit, (r) => resourceWithPathJson(r, paths.get(r.id) ?? []), nameCursor);
    },
  );

  // Shows a resource.
  app.get(
    '/resources/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Show a resource, with its path',
        description:
          'Needs resources:read on it (a role on it or above). Resources outside your reach answer 404. Its path lists the ancestors you may see, top first.',
        params: IdParams,
        response: { 200: Type.Ref('Resource'), ...errorResponses },
      },
    },
    async (request) => {
      const { row, path } = await kg.resources.show(principalOf(request), request.params.id);
      return resourceWithPathJson(row, path);
    },
  );

  // Renames a resource.
  app.patch(
    '/resources/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Rename a resource',
        description: 'Needs resources:write.',
        params: IdParams,
        body: ResourceRename,
        response: { 200: Type.Ref('Resource'), ...errorResponses },
      },
    },
    async (request) =>
      resourceJson(
        await kg.resources.rename(principalOf(request), request.params.id, request.body.name, requestContext(request)),
      ),
  );

  // Deletes a resource that has no children; its memberships and tokens go with it.
  app.delete(
    '/resources/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a resource without children',
        description:
          'Needs resources:delete. Its memberships and tokens are deleted with it; its tokens stop working at once on this server, and within the cache TTL on others sharing the database.',
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await kg.resources.delete(principalOf(request), request.params.id, requestContext(request));
      return reply.code(204).send(null);
    },
  );

  // Lists a resource's direct children.
  app.get(
    '/resources/:id/children',
    {
      config,
      schema: {
        tags,
        summary: "List a resource's children",
        description: 'Needs resources:read.',
        params: IdParams,
        querystring: PageQuery,
        response: { 200: ResourcePage, ...errorResponses },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      return page(
        await kg.resources.children(principalOf(request), request.params.id, limit, request.query.cursor),
        limit,
        resourceJson,
      );
    },
  );

  // Lists people (with roles inherited from above) and tokens on a resource, as its Users tab shows them.
  app.get(
    '/resources/:id/members',
    {
      config,
      schema: {
        tags,
        summary: 'List people and tokens with their level',
        description: 'Needs members:read. People with a role on an ancestor are listed with inherited: true.',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('Member')) }), ...errorResponses },
      },
    },
    async (request) => ({ items: await kg.resources.members(principalOf(request), request.params.id) }),
  );

  // Gives a user a role on a resource (never more than the caller's own).
  app.put(
    '/resources/:id/members/:userId',
    {
      config,
      schema: {
        tags,
        summary: 'Give a user a role on the resource',
        description:
          'Needs members:manage. You cannot give, change or take a role that holds permissions you do not hold.',
        params: MemberParams,
        body: MemberRole,
        response: { 200: Type.Ref('Member'), ...errorResponses },
      },
    },
    async (request) =>
      kg.resources.setRole(
        principalOf(request),
        request.params.id,
        request.params.userId,
        request.body.role,
        requestContext(request),
      ),
  );

  // Takes a user's role on a resource away.
  app.delete(
    '/resources/:id/members/:userId',
    {
      config,
      schema: {
        tags,
        summary: "Remove a user's role on the resource",
        description: 'Needs members:manage, and at least the rights of the role removed.',
        params: MemberParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await kg.resources.removeRole(
        principalOf(request),
        request.params.id,
        request.params.userId,
        requestContext(request),
      );
      return reply.code(204).send(null);
    },
  );
}
