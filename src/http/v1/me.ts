import { Type, type Static } from 'typebox';
import { principalOf, sessionCookie } from '../authenticate.js';
import { csrfTokenFor } from '../csrf.js';
import { ExpiringQuery, type Me, errorResponses } from '../../schemas.js';
import type { FastifyTypebox } from '../types.js';
import { tokenJson, userJson } from '../views.js';
import type { Principal } from '../../services/principal.js';

/** "Who am I": a signed-in user, or a token with what it may do now. */
export function meRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  const answers = new WeakMap<Principal, Static<typeof Me>>();
  // The longest notice before expiry the server gives (KEYGATE_EXPIRY_NOTICE_DAYS), 7 days if none.
  const longestNotice = Math.max(0, ...kg.config.webhooks.expiryNoticeDays);
  const noticeDays = longestNotice > 0 ? Math.min(365, longestNotice) : 7;

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
        return Promise.all([kg.users.get(p.user.id), kg.tokens.expiring(p, noticeDays)]).then(([u, expiring]) => ({
          kind: 'user' as const,
          user: userJson(u),
          ...(cookie ? { csrfToken: csrfTokenFor(cookie) } : {}),
          expiring: expiring.map((v) => tokenJson(v)),
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

  // Lists the caller's own active tokens that expire within withinDays days, soonest first.
  app.get(
    '/me/expiring',
    {
      config: { apiGroup: 'tokens' },
      schema: {
        tags: ['session'],
        summary: 'My tokens that expire soon',
        description:
          "Your own active tokens (a token: its owner's, within its reach, as GET /tokens lists them) that expire within withinDays days, soonest first; at most 500. withinDays defaults to the longest expiry notice (7 days unless configured).",
        querystring: ExpiringQuery,
        response: {
          200: Type.Object({ withinDays: Type.Integer(), items: Type.Array(Type.Ref('Token')) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const withinDays = request.query.withinDays ?? noticeDays;
      const views = await kg.tokens.expiring(principalOf(request), withinDays);
      return { withinDays, items: views.map((v) => tokenJson(v)) };
    },
  );
}
