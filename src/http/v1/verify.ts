import { fail } from '../../domain/errors.js';
import type { KeyVerdict } from '../../services/access.js';
import { principalOf } from '../authenticate.js';
import { VerifyRequest, errorResponses } from '../schemas.js';
import type { FastifyTypebox } from '../types.js';
import { Type } from 'typebox';

/** Key verification for other services. */
export function verifyRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  const model = kg.config.model;

  // Judges a key for another service: valid or not, why, and what the token may do.
  app.post(
    '/verify',
    {
      config: { apiGroup: 'verify' },
      schema: {
        tags: ['verify'],
        summary: 'Verify a key and, optionally, its right to a permission on a resource through an API group',
        description:
          'The caller authenticates with its own token, which needs keys:verify on the resource of the token being verified. Tokens outside its reach are answered as NOT_FOUND. The answer never holds the key or its hash.',
        body: VerifyRequest,
        response: { 200: Type.Ref('VerifyResponse'), ...errorResponses },
      },
    },
    // Not async: with a warm cache the whole answer is computed without a promise.
    (request) => {
      const caller = principalOf(request);
      if (caller.kind !== 'token' || !kg.access.permissionsAt(caller, caller.home).has('keys:verify')) {
        fail('INSUFFICIENT_PERMISSIONS', 'Verifying keys needs a token with the keys:verify permission.');
      }
      const { key, resourceId, permission, apiGroup } = request.body;
      if (permission !== undefined && !Object.hasOwn(model.permissions, permission))
        fail('UNKNOWN_PERMISSION', `Unknown permission ${permission}.`, 'permission');
      if (apiGroup !== undefined && !Object.hasOwn(model.apiGroups, apiGroup))
        fail('UNKNOWN_API_GROUP', `Unknown API group ${apiGroup}.`, 'apiGroup');
      const answer = (verdict: KeyVerdict) => {
        if (verdict.code === 'MALFORMED' || verdict.code === 'NOT_FOUND') return { valid: false, code: verdict.code };
        // The verifier sees only tokens where it holds keys:verify itself; others do not exist for it.
        const home = verdict.principal.kind === 'token' ? verdict.principal.home : [];
        if (!kg.access.permissionsAt(caller, home).has('keys:verify'))
          return { valid: false, code: 'NOT_FOUND' as const };
        const t = verdict.token;
        return {
          valid: verdict.code === 'VALID',
          code: verdict.code,
          token: {
            id: t.facts.id,
            name: t.row.name,
            ownerId: t.facts.ownerId,
            resourceId: t.facts.resourceId,
            permissions: verdict.permissions as string[],
            apiGroups: t.facts.apiGroups as string[],
            expiresAt: t.facts.expiresAt,
            impersonateUserId: t.facts.impersonateUserId,
            logging: t.row.logging,
          },
        };
      };
      const verdict = kg.access.evaluateKey(key, { resourceId, permission, apiGroup });
      return verdict instanceof Promise ? verdict.then(answer) : answer(verdict);
    },
  );
}
