import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { errorBody, sendError } from '../http/errors.js';
import type { FastifyTypebox } from '../http/types.js';
import { errorResponses } from '../schemas.js';
import { isDraining, within } from './lifecycle.js';

/** How long /ready waits for the database or Redis before calling it down. */
const CHECK_TIMEOUT_MS = 1_000;

type CheckState = 'ok' | 'failed';

const Checks = Type.Record(Type.String(), Type.Union([Type.Literal('ok'), Type.Literal('failed')]), {
  description:
    'Each dependency checked: `database` (a round trip), `channel` (the change channel to other instances), `redis` (a PING, when KEYGATE_REDIS_URL is set), `shutdown` (failed while this instance drains).',
});

const NotReady = Type.Object(
  {
    error: Type.Object({ code: Type.String(), message: Type.String(), requestId: Type.String() }),
    checks: Checks,
  },
  { description: 'The error envelope (UNAVAILABLE), with every check and its state beside it.' },
);

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Whether a caller may read /metrics: with KEYGATE_METRICS_TOKEN set, one that presents it as a
 * bearer token; without, one connected from loopback directly (a request a proxy forwarded names
 * its client in a header, and a proxy on the same host must not open /metrics to the world).
 */
function mayScrape(request: FastifyRequest, tokenDigest: Buffer | null): 'yes' | 'token' | 'loopback' {
  if (tokenDigest) {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (presented === undefined) return 'token';
    const digest = createHash('sha256').update(presented).digest();
    return timingSafeEqual(digest, tokenDigest) ? 'yes' : 'token';
  }
  const proxied = request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined;
  return !proxied && LOOPBACK.has(request.socket.remoteAddress ?? '') ? 'yes' : 'loopback';
}

/** Operating endpoints: readiness for load balancers and metrics for Prometheus. */
export function opsRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  const token = kg.config.ops.metricsToken;
  const tokenDigest = token === undefined ? null : createHash('sha256').update(token).digest();

  // Answers whether this instance should get traffic: its database, change channel and Redis answer, and it is not shutting down.
  app.get(
    '/ready',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['meta'],
        summary: 'Readiness check (for load balancers)',
        description:
          'Unlike /health (the process is up), 503 here means: send this instance no requests for now. It answers 503 at once while the instance shuts down.',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), checks: Checks }),
          503: NotReady,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      let checks: Record<string, CheckState>;
      if (isDraining(kg)) checks = { shutdown: 'failed' };
      else {
        const ping = (p: () => Promise<unknown>) =>
          within(
            CHECK_TIMEOUT_MS,
            p().then(
              () => 'ok' as const,
              () => 'failed' as const,
            ),
            'failed' as const,
          );
        const redis = kg.redis;
        const [database, redisState] = await Promise.all([
          ping(() => kg.ping()),
          redis ? ping(() => redis.ping()) : Promise.resolve(null),
        ]);
        checks = { database, channel: kg.cluster.status().connected ? 'ok' : 'failed' };
        if (redisState) checks.redis = redisState;
      }
      const failed = Object.keys(checks).filter((name) => checks[name] === 'failed');
      if (failed.length === 0) return { status: 'ready' as const, checks };
      request.auth.errorCode = 'UNAVAILABLE';
      const message = isDraining(kg) ? 'Shutting down.' : `Not ready: ${failed.join(', ')}.`;
      return reply.code(503).send({ ...errorBody('UNAVAILABLE', request.id, message), checks });
    },
  );

  // Publishes this instance's metrics in Prometheus's text format, to loopback or to the holder of KEYGATE_METRICS_TOKEN.
  app.get(
    '/metrics',
    {
      config: { auth: 'none' },
      schema: {
        tags: ['meta'],
        summary: 'Prometheus metrics',
        description:
          'Text exposition format. With KEYGATE_METRICS_TOKEN set it needs `Authorization: Bearer <that token>`; without, it answers callers on loopback only (not through a proxy).',
        // Named as text: left to the default, the document would promise JSON for the Prometheus text.
        response: {
          200: {
            description: 'Prometheus text format 0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      // The bearer token is not an API key: keep it out of the access log.
      request.auth.credential = { kind: 'none' };
      const allowed = mayScrape(request, tokenDigest);
      if (allowed === 'token') return sendError(reply, request, 'UNAUTHENTICATED', 'Present the metrics token.');
      if (allowed === 'loopback')
        return sendError(
          reply,
          request,
          'FORBIDDEN',
          'Metrics are served on loopback only; set KEYGATE_METRICS_TOKEN to scrape from elsewhere.',
        );
      const text = await kg.metrics.scrape();
      return reply.type(kg.metrics.registry.contentType).send(text);
    },
  );
}
