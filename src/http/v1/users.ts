import { Type } from 'typebox';
import { principalOf } from '../authenticate.js';
import { IdParams, UserCreate, UserListQuery, UserPatch, errorResponses, Nullable } from '../../schemas.js';
import type { FastifyTypebox } from '../types.js';
import { page, userJson } from '../views.js';
import { throttlePasswordGuess } from './session.js';
import { requestContext } from '../request-context.js';

/** People: administrators create and manage them; everyone may change their own name and password (the service decides who may do what). */
export function userRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  const config = { apiGroup: 'native' };

  // Creates a user (administrators only).
  app.post(
    '/users',
    {
      config,
      schema: {
        tags: ['users'],
        summary: 'Create a user (administrators)',
        body: UserCreate,
        response: { 201: Type.Ref('User'), ...errorResponses },
      },
    },
    async (request, reply) => {
      return reply
        .code(201)
        .send(userJson(await kg.users.create(request.body, principalOf(request), requestContext(request))));
    },
  );

  // Lists users, or those whose email or name contains q (administrators only).
  app.get(
    '/users',
    {
      config,
      schema: {
        tags: ['users'],
        summary: 'List or search users (administrators)',
        querystring: UserListQuery,
        response: {
          200: Type.Object({ items: Type.Array(Type.Ref('User')), nextCursor: Nullable(Type.String()) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      return page(
        await kg.users.list(principalOf(request), limit, request.query.cursor, request.query.q),
        limit,
        userJson,
      );
    },
  );

  // Shows a user: oneself, or anyone for administrators.
  app.get(
    '/users/:id',
    {
      config,
      schema: {
        tags: ['users'],
        summary: 'Show a user',
        params: IdParams,
        response: { 200: Type.Ref('User'), ...errorResponses },
      },
    },
    async (request) => {
      return userJson(await kg.users.show(principalOf(request), request.params.id));
    },
  );

  // Changes a user. Administrators may (de)activate and change roles; people may change their own name and password.
  app.patch(
    '/users/:id',
    {
      config,
      schema: {
        tags: ['users'],
        summary: 'Change a user',
        params: IdParams,
        body: UserPatch,
        response: { 200: Type.Ref('User'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const actor = principalOf(request);
      // Guessing the current password with a borrowed session or token is slowed like sign-in is,
      // counted per user (by id, as no address is at hand) and per client address.
      const guess = request.body.currentPassword !== undefined ? `current-password:${request.params.id}` : null;
      if (guess !== null) await throttlePasswordGuess(app, reply, guess, request.ip, 'password checks');
      const row = await kg.users.update(request.params.id, request.body, actor, requestContext(request));
      if (guess !== null) await app.signInThrottle.succeeded(guess, request.ip);
      return userJson(row);
    },
  );
}
