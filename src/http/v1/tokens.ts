import { Type } from 'typebox';
import { principalOf } from '../authenticate.js';
import {
  IdParams,
  TokenCreate,
  TokenListQuery,
  TokenPatch,
  errorResponses,
  Nullable,
  TokenRoll,
  TokenUsage,
  TokenIds,
  BulkResults,
} from '../../schemas.js';
import type { FastifyTypebox } from '../types.js';
import { requestContext } from '../request-context.js';
import { page, tokenJson } from '../views.js';
import type { TokenView } from '../../services/tokens.js';

const TokenPage = Type.Object({ items: Type.Array(Type.Ref('Token')), nextCursor: Nullable(Type.String()) });
const ResourceTokenQuery = Type.Omit(TokenListQuery, ['owner', 'resourceId']);

function tokenPage(views: TokenView[], limit: number) {
  return page(
    views,
    limit,
    (v) => tokenJson(v),
    (v) => v.row.id,
  );
}

/** API tokens: issue, list, edit, activate/deactivate, roll, reveal, delete. */
export function tokenRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  const config = { apiGroup: 'tokens' };
  const tags = ['tokens'];

  // Adds a token to a resource; the response holds the key, once.
  app.post(
    '/resources/:id/tokens',
    {
      config,
      schema: {
        tags,
        summary: 'Add an API token to a resource (the key is in this response only)',
        description:
          'Needs tokens:create on the resource. The token cannot hold permissions you do not hold there; impersonate and key are for system administrators.',
        params: IdParams,
        body: TokenCreate,
        response: { 201: Type.Ref('TokenWithKey'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { view, key } = await kg.tokens.create(
        principalOf(request),
        request.params.id,
        request.body,
        requestContext(request),
      );
      return reply.code(201).send({ ...tokenJson(view), key });
    },
  );

  // Lists a resource's tokens: all with tokens:read there, else the caller's own.
  app.get(
    '/resources/:id/tokens',
    {
      config,
      schema: {
        tags,
        summary: "List a resource's tokens",
        description: 'Every token on it with tokens:read (or tokens:manage); otherwise only your own.',
        params: IdParams,
        querystring: ResourceTokenQuery,
        response: { 200: TokenPage, ...errorResponses },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      return tokenPage(
        await kg.tokens.listForResource(principalOf(request), request.params.id, { ...request.query, limit }),
        limit,
      );
    },
  );

  // Creates a system token, attached to no resource (administrators only).
  app.post(
    '/tokens',
    {
      config,
      schema: {
        tags,
        summary: 'Create a system token attached to no resource (administrators)',
        body: TokenCreate,
        response: { 201: Type.Ref('TokenWithKey'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { view, key } = await kg.tokens.create(principalOf(request), null, request.body, requestContext(request));
      return reply.code(201).send({ ...tokenJson(view), key });
    },
  );

  // Lists the caller's tokens; administrators may name any owner, or * for all.
  app.get(
    '/tokens',
    {
      config,
      schema: {
        tags,
        summary: "List my tokens (administrators: any owner's, or all)",
        querystring: TokenListQuery,
        response: { 200: TokenPage, ...errorResponses },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const { views, nextCursor } = await kg.tokens.list(principalOf(request), { ...request.query, limit });
      return { items: views.map((v) => tokenJson(v)), nextCursor };
    },
  );

  // Shows a token (never its key).
  app.get(
    '/tokens/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Show a token',
        description: 'Its owner, or anyone with tokens:read or tokens:manage on its resource.',
        params: IdParams,
        response: { 200: Type.Ref('Token'), ...errorResponses },
      },
    },
    async (request) => tokenJson(await kg.tokens.get(principalOf(request), request.params.id)),
  );

  // Edits a token; its rights stay within the editor's own.
  app.patch(
    '/tokens/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Edit a token',
        description:
          "Its owner, or anyone with tokens:manage on its resource; new rights stay within the editor's own.",
        params: IdParams,
        body: TokenPatch,
        response: { 200: Type.Ref('Token'), ...errorResponses },
      },
    },
    async (request) =>
      tokenJson(await kg.tokens.update(principalOf(request), request.params.id, request.body, requestContext(request))),
  );

  // Deletes a token; its key stops working at once here (within the cache TTL on other servers).
  app.delete(
    '/tokens/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a token',
        description: 'Its owner, or anyone with tokens:manage on its resource.',
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses },
      },
    },
    async (request, reply) => {
      await kg.tokens.delete(principalOf(request), request.params.id, requestContext(request));
      return reply.code(204).send(null);
    },
  );

  for (const [action, active] of [
    ['activate', true],
    ['deactivate', false],
  ] as const) {
    // Switches a token on or off.
    app.post(
      `/tokens/:id/${action}`,
      {
        config,
        schema: {
          tags,
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a token`,
          params: IdParams,
          response: { 200: Type.Ref('Token'), ...errorResponses },
        },
      },
      async (request) =>
        tokenJson(await kg.tokens.setActive(principalOf(request), request.params.id, active, requestContext(request))),
    );
  }

  // Switches many tokens off at once, each as its own deactivate would (a static path: no clash with /tokens/:id).
  app.post(
    '/tokens/deactivate',
    {
      config,
      schema: {
        tags,
        summary: 'Deactivate many tokens',
        description:
          'Each token is checked and audited as POST /tokens/{id}/deactivate would; one refused does not stop the others. Each result says ok, or the error code that request would have answered (NOT_FOUND for a token out of your reach, as for one that does not exist).',
        body: TokenIds,
        response: { 200: BulkResults, ...errorResponses },
      },
    },
    async (request) => ({
      results: await kg.tokens.deactivateMany(principalOf(request), request.body.ids, requestContext(request)),
    }),
  );

  // Gives a token a new key; the old key may keep working for a grace period.
  app.post(
    '/tokens/:id/roll',
    {
      config,
      schema: {
        tags,
        summary: 'Roll a token: new key, old key valid for graceSeconds (default 0)',
        description: 'Its owner only: the new key acts as the owner.',
        params: IdParams,
        body: Type.Optional(TokenRoll),
        response: { 200: Type.Ref('TokenWithKey'), ...errorResponses },
      },
      // The body is optional (POST …/roll with none means grace 0); an absent body is validated as {}.
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const { view, key } = await kg.tokens.roll(
        principalOf(request),
        request.params.id,
        request.body?.graceSeconds ?? 0,
        requestContext(request),
      );
      return { ...tokenJson(view), key };
    },
  );

  // Shows a recoverable key again, to its owner (audited).
  app.get(
    '/tokens/:id/key',
    {
      config,
      schema: {
        tags,
        summary: 'Reveal a recoverable key (owner only; audited)',
        description:
          'Only when the server stores keys encrypted (KEYGATE_RECOVERABLE_KEYS); otherwise 404 KEY_NOT_RECOVERABLE.',
        params: IdParams,
        response: { 200: Type.Object({ key: Type.String() }), ...errorResponses },
      },
    },
    async (request) => ({
      key: await kg.tokens.reveal(principalOf(request), request.params.id, requestContext(request)),
    }),
  );

  // A token's last use and its counts per hour (48) and per day (90), for a sparkline and a chart.
  app.get(
    '/tokens/:id/usage',
    {
      config,
      schema: {
        tags,
        summary: "A token's usage: last use, and requests, refusals and errors per hour and per day",
        description:
          'Whoever may see the token. Counts come from an aggregate kept as the access log is written (within its flush interval), not from the log itself. A refusal is a key refused with 401, 403 or 429; an error is any other 4xx or 5xx answer.',
        params: IdParams,
        response: { 200: TokenUsage, ...errorResponses },
      },
    },
    async (request) => kg.usage.forToken(principalOf(request), request.params.id),
  );
}
