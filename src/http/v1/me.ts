import { Type, type Static } from 'typebox';
import { principalOf, sessionCookie } from '../authenticate.js';
import { csrfTokenFor } from '../csrf.js';
import { type Me, errorResponses } from '../../schemas.js';
import type { FastifyTypebox } from '../types.js';
import { userJson } from '../views.js';
import type { Principal } from '../../services/principal.js';

/** "Who am I": a signed-in user, or a token with what it may do now. */
export function meRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  const answers = new WeakMap<Principal, Static<typeof Me>>();

  // Tells the caller who it is: a signed-in user, or a token (with what it may do now).
  app.get(
    '/me',
    {
      schema: {
        tags: ['session'],
        summary: 'Who is calling: a user or a token',
        response: { 200: Type.Ref('Me'), ...errorResponses },
      },
    },
    // Not async: a token's answer needs no I/O, so it is sent without a promise.
    (request) => {
      const p = principalOf(request);
      if (p.kind === 'user') {
        // A console that reloads has lost the token from sign-in: it reads it here again.
        const cookie = request.auth.source === 'session' ? sessionCookie(request.headers.cookie) : undefined;
        return kg.users.get(p.user.id).then((u) => ({
          kind: 'user' as const,
          user: userJson(u),
          ...(cookie ? { csrfToken: csrfTokenFor(cookie) } : {}),
        }));
      }
      // A token principal is an unchanging object while it stays valid (Access remembers it), so
      // its answer is built once.
      let body = answers.get(p);
      if (!body) {
        body = {
          kind: 'token' as const,
          token: {
            id: p.token.id,
            name: p.name,
            ownerId: p.owner.id,
            resourceId: p.token.resourceId,
            permissions: [...kg.access.permissionsAt(p, p.home)].sort(),
            apiGroups: p.token.apiGroups as string[],
            expiresAt: p.token.expiresAt,
            impersonateUserId: p.token.impersonateUserId,
          },
        };
        answers.set(p, body);
      }
      return body;
    },
  );
}
