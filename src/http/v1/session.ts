import { Type } from 'typebox';
import { fail } from '../../domain/errors.js';
import type { FastifyReply } from 'fastify';
import type { FastifyTypebox } from '../types.js';
import { SESSION_COOKIE, sessionCookie } from '../authenticate.js';
import { csrfTokenFor, refuseCrossSite, requireCsrf } from '../csrf.js';
import { errorResponses } from '../../schemas.js';
import { userJson } from '../views.js';
import { normalizeEmail } from '../../domain/email.js';
import { requestContext } from '../request-context.js';

/**
 * Refuses a password guess (RATE_LIMITED, with Retry-After) while the account or the address is in
 * its back-off; otherwise counts it as a failure until `succeeded` is called.
 */
export async function throttlePasswordGuess(
  app: FastifyTypebox,
  reply: FastifyReply,
  account: string,
  address: string,
  what: string,
): Promise<void> {
  const wait = await app.signInThrottle.attempt(account, address);
  if (wait === 0) return;
  app.keygate.metrics.limited.inc({ kind: 'sign_in' });
  reply.header('retry-after', String(wait));
  fail('RATE_LIMITED', `Too many failed ${what}; try again in ${wait} s.`);
}

/** Sign-in and sign-out: the only routes that set cookies. */
export function sessionRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;

  // Signs in with email and password and sets the console's session cookie.
  app.post(
    '/session',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['session'],
        summary: 'Sign in: sets the session cookie',
        body: Type.Object(
          {
            email: Type.String({ minLength: 3, maxLength: 320 }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            user: Type.Ref('User'),
            expiresAt: Type.String({ format: 'date-time' }),
            csrfToken: Type.String({ description: 'Send it as X-CSRF-Token with every change made with the session.' }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      // Another site must not sign a browser in to an account of its choosing (login CSRF).
      refuseCrossSite(request);
      const { email, password } = request.body;
      // Counted by the address as stored, so changing its case or spacing gives no fresh guesses.
      const account = normalizeEmail(email);
      // Refused before the password is checked: a guess made during the back-off learns nothing.
      await throttlePasswordGuess(app, reply, account, request.ip, 'sign-ins');
      const { user, cookie, expiresAt } = await kg.users.signIn(email, password, requestContext(request));
      await app.signInThrottle.succeeded(account, request.ip);
      reply.setCookie(SESSION_COOKIE, cookie, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        // Secure when configured, and whenever the request came over TLS (X-Forwarded-Proto counts only
        // from a trusted proxy: KEYGATE_TRUSTED_PROXIES or KEYGATE_TRUST_PROXY).
        secure: kg.config.secureCookies || request.protocol === 'https',
        expires: expiresAt,
      });
      return { user: userJson(user), expiresAt: expiresAt.toISOString(), csrfToken: csrfTokenFor(cookie) };
    },
  );

  // Signs out: ends the session and clears the cookie.
  app.delete(
    '/session',
    {
      config: { auth: 'none' },
      schema: { tags: ['session'], summary: 'Sign out', response: { 204: Type.Null(), ...errorResponses } },
    },
    async (request, reply) => {
      const cookie = sessionCookie(request.headers.cookie);
      if (cookie) {
        requireCsrf(request, cookie);
        await kg.users.signOut(cookie, requestContext(request));
      }
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  );
}
