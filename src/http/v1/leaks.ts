import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { fail } from '../../domain/errors.js';
import { MAX_KEY_LENGTH } from '../../domain/keys.js';
import { errorResponses } from '../../schemas.js';
import { requestContext } from '../request-context.js';
import type { FastifyTypebox } from '../types.js';

/** Reports a limit may count per address before it answers 429. */
const REPORTS_PER_MINUTE = 10;
/**
 * Unsigned or wrongly signed GitHub reports an address may send in a minute before the endpoint answers
 * 429 without reading the body: GitHub's own reports are signed and never counted, so it is never held up.
 */
const BAD_SIGNATURES_PER_MINUTE = 20;

const RevokeBody = Type.Object(
  { key: Type.String({ minLength: 1, maxLength: MAX_KEY_LENGTH, description: 'The leaked key.' }) },
  { additionalProperties: false },
);

const Received = Type.Object({ status: Type.Literal('received') });

/** One secret GitHub found, as its secret-scanning partner program sends it. */
const GithubMatch = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 4096 }),
  type: Type.String({ maxLength: 200 }),
  url: Type.Optional(Type.String({ maxLength: 4096 })),
  source: Type.Optional(Type.String({ maxLength: 200 })),
});

const GithubVerdict = Type.Object({
  token_raw: Type.String(),
  token_type: Type.String(),
  label: Type.Union([Type.Literal('true_positive'), Type.Literal('false_positive')]),
});

/** The exact bytes GitHub signed, kept by this scope's JSON parser for the signature check. */
const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/** Leaked keys: anyone may report one; GitHub's secret scanning reports what it finds. Both switch the token off. */
export function leakRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  const reports = kg.limiters.create({ keyPrefix: 'leak-report', points: REPORTS_PER_MINUTE, durationSec: 60 });
  const badSignatures = kg.limiters.create({
    keyPrefix: 'github-scan-bad-signature',
    points: BAD_SIGNATURES_PER_MINUTE,
    durationSec: 60,
  });
  /** Refuses with 429 RATE_LIMITED and Retry-After. */
  const tooMany = (reply: FastifyReply, resetMs: number, what: string): never => {
    kg.metrics.limited.inc({ kind: 'leak_report' });
    const wait = Math.max(1, Math.ceil(resetMs / 1000));
    reply.header('retry-after', String(wait));
    return fail('RATE_LIMITED', `Too many ${what} from this address; try again in ${wait} s.`);
  };

  // Public: whoever finds a key reports it here, and its token is switched off. The answer never says whether it existed.
  app.post(
    '/revoke',
    {
      config: { auth: 'none', bodyHoldsKeys: true },
      schema: {
        tags: ['leaks'],
        summary: 'Report a leaked key: its token is deactivated',
        description: `Public (no credentials). When the key is a live key of an active token, the token is deactivated as keygate itself (audited as revoked for a leak, by "leak report", with the reporter's address) and its owner's webhooks hear token.deactivated; the owner alone cannot switch it back on. The answer is the same 202 whether or not the key existed or was still active; text that cannot be a key of this server (a failed checksum) is 400. At most ${REPORTS_PER_MINUTE} reports a minute per address (429 RATE_LIMITED with Retry-After). The key is neither logged nor stored.`,
        body: RevokeBody,
        response: { 202: Received, ...errorResponses },
      },
    },
    async (request, reply) => {
      const limit = await reports.consume(request.ip);
      if (!limit.allowed) tooMany(reply, limit.resetMs, 'leak reports');
      const { key } = request.body;
      if (!kg.leaks.isKeyShaped(key)) fail('VALIDATION_FAILED', 'key is not a key of this server.', 'key');
      await kg.leaks.revoke(key, { via: 'report' }, requestContext(request));
      return reply.code(202).send({ status: 'received' as const });
    },
  );

  // biome-ignore lint/nursery/noMisusedPromises: Fastify awaits async plugins.
  void app.register(async (scoped) => {
    // Only here is JSON read as bytes first: the signature covers the body exactly as sent.
    const parseJson = scoped.getDefaultJsonParser('error', 'error');
    scoped.removeContentTypeParser('application/json');
    scoped.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      rawBodies.set(request, body as Buffer);
      void parseJson(request, (body as Buffer).toString('utf8'), done);
    });

    // GitHub's secret-scanning partner endpoint: signed reports of keys found in public repositories.
    (scoped as FastifyTypebox).post(
      '/secret-scanning/github',
      {
        config: { auth: 'none', bodyHoldsKeys: true },
        // Off unless configured: answered before the body is read, as if there were no such route.
        onRequest: async (request, reply) => {
          if (!kg.leaks.githubEnabled) fail('ROUTE_NOT_FOUND');
          const failures = await badSignatures.peek(request.ip);
          if (failures && failures.consumed >= BAD_SIGNATURES_PER_MINUTE)
            tooMany(reply, failures.resetMs, 'unsigned reports');
        },
        schema: {
          tags: ['leaks'],
          summary: 'GitHub secret scanning: deactivate the keys GitHub found',
          description: `GitHub's secret-scanning partner format: the body is a JSON array of {token, type, url, source}, signed with ECDSA P-256 / SHA-256 (base64 DER in Github-Public-Key-Signature, the key named by Github-Public-Key-Identifier, from the file in KEYGATE_GITHUB_SCANNING_KEYS). A missing or wrong signature is 401 and nothing is done; after ${BAD_SIGNATURES_PER_MINUTE} of those in a minute from one address, 429 RATE_LIMITED (signed reports are never counted). Each live key of an active token deactivates it as POST /revoke does, its audit record naming GitHub's url and source; the answer labels each token true_positive (a live key of this server) or false_positive. Without KEYGATE_GITHUB_SCANNING_KEYS the endpoint answers 404 ROUTE_NOT_FOUND.`,
          headers: Type.Object({
            'github-public-key-identifier': Type.Optional(Type.String({ maxLength: 200 })),
            'github-public-key-signature': Type.Optional(Type.String({ maxLength: 1000 })),
          }),
          body: Type.Array(GithubMatch, { maxItems: 1000 }),
          response: { 200: Type.Array(GithubVerdict), ...errorResponses },
        },
      },
      async (request) => {
        const keyId = request.headers['github-public-key-identifier'];
        const signature = request.headers['github-public-key-signature'];
        const raw = rawBodies.get(request);
        if (
          !keyId ||
          !signature ||
          !raw ||
          !(await kg.leaks.githubSignatureValid(raw, String(keyId), String(signature)))
        ) {
          await badSignatures.consume(request.ip);
          fail('UNAUTHENTICATED', 'The report is not signed with a GitHub secret-scanning key this server knows.');
        }
        const origin = requestContext(request);
        const verdicts = [];
        for (const match of request.body) {
          const live = await kg.leaks.revoke(
            match.token,
            { via: 'github', url: match.url ?? null, source: match.source ?? null },
            origin,
          );
          verdicts.push({
            token_raw: match.token,
            token_type: match.type,
            label: live ? ('true_positive' as const) : ('false_positive' as const),
          });
        }
        return verdicts;
      },
    );
  });
}
