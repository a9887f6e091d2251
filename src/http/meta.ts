import type {} from '@fastify/swagger';
import { Type } from 'typebox';
import { API_VERSIONS } from './versions.js';
import { CHANGELOG, changelogAtom } from './changelog.js';
import { errorResponses, Nullable } from '../schemas.js';
import { sendError } from './errors.js';
import type { FastifyTypebox } from './types.js';
import type { UpstreamHealth } from '../gateway/upstreams.js';
import { opsRoutes } from '../ops/routes.js';

const open = { auth: 'none' as const };

/** Unversioned endpoints: health, readiness, metrics, the version list, the changelog and the OpenAPI documents. */
export function metaRoutes(app: FastifyTypebox, upstreams: () => UpstreamHealth[] | undefined = () => undefined): void {
  const kg = app.keygate;

  // Answers whether the server and its database are up, and how the gateway's upstreams last answered.
  app.get(
    '/health',
    {
      config: open,
      schema: {
        tags: ['meta'],
        summary: 'Health check',
        description:
          "The process and its database answer (load balancers should route by /ready, which also checks the change channel and Redis, and turns 503 during shutdown). `upstreams` is present when this process runs the gateway: each upstream's state as its last forwarded request or probe found it. An upstream that is down does not make keygate unhealthy.",
        response: {
          200: Type.Object({
            status: Type.Literal('ok'),
            database: Type.String(),
            upstreams: Type.Optional(
              Type.Array(
                Type.Object({
                  name: Type.String(),
                  url: Type.String(),
                  state: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Literal('unknown')]),
                  checkedAt: Nullable(Type.String({ format: 'date-time' })),
                  error: Nullable(Type.String()),
                }),
              ),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      try {
        await kg.ping();
      } catch {
        return sendError(reply, request, 'UNAVAILABLE', 'The database does not answer.');
      }
      const gateway = upstreams();
      return { status: 'ok' as const, database: kg.dialect, ...(gateway ? { upstreams: gateway } : {}) };
    },
  );

  opsRoutes(app);

  // Lists the API versions with their status and sunset dates.
  app.get(
    '/api/versions',
    {
      config: open,
      schema: {
        tags: ['meta'],
        summary: 'API versions, their status and sunset dates',
        response: {
          ...errorResponses,
          200: Type.Object({
            versions: Type.Array(
              Type.Object({
                version: Type.String(),
                status: Type.String(),
                releasedAt: Type.String(),
                deprecatedAt: Nullable(Type.String()),
                sunsetAt: Nullable(Type.String()),
                baseUrl: Type.String(),
                openapi: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async () => ({
      versions: API_VERSIONS.map((v) => ({
        version: v.version,
        status: v.status,
        releasedAt: v.releasedAt,
        deprecatedAt: v.deprecatedAt,
        sunsetAt: v.sunsetAt,
        baseUrl: `/api/${v.version}`,
        openapi: `/api/${v.version}/openapi.json`,
      })),
    }),
  );

  const Entry = Type.Object({
    id: Type.String(),
    date: Type.String(),
    version: Type.String(),
    title: Type.String(),
    body: Type.String(),
  });

  // Publishes the API's changes as JSON, or as Atom when the client asks for it.
  app.get(
    '/api/changelog',
    {
      config: open,
      schema: {
        tags: ['meta'],
        summary: 'API changes (JSON; Atom with Accept: application/atom+xml)',
        response: { 200: Type.Object({ entries: Type.Array(Entry) }), ...errorResponses },
      },
    },
    async (request, reply) => {
      if (/application\/atom\+xml/.test(request.headers.accept ?? '')) {
        return reply
          .type('application/atom+xml; charset=utf-8')
          .serializer((x: unknown) => String(x))
          .send(changelogAtom(baseUrl(request)) as never);
      }
      return { entries: CHANGELOG };
    },
  );

  // The changelog as an Atom feed, for feed readers.
  app.get(
    '/api/changelog.atom',
    {
      config: open,
      schema: {
        tags: ['meta'],
        summary: 'API changes as an Atom feed',
        response: {
          200: {
            description: 'An Atom 1.0 feed of the changelog.',
            content: { 'application/atom+xml': { schema: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => reply.type('application/atom+xml; charset=utf-8').send(changelogAtom(baseUrl(request))),
  );

  for (const v of API_VERSIONS) {
    // The OpenAPI 3.1 document of one API version, generated from the schemas that validate its requests.
    app.get(`/api/${v.version}/openapi.json`, { config: open, schema: { hide: true } }, async () =>
      openApiFor(app, v.version),
    );
  }
}

function baseUrl(request: { protocol: string; host: string }): string {
  return `${request.protocol}://${request.host}`;
}

const documents = new WeakMap<object, Map<string, unknown>>();

/** The app's OpenAPI document narrowed to one version's paths (plus the unversioned ones). */
export function openApiFor(app: FastifyTypebox, version: string): unknown {
  let cache = documents.get(app);
  if (!cache) {
    cache = new Map();
    documents.set(app, cache);
  }
  const hit = cache.get(version);
  if (hit) return hit;
  const full = app.swagger() as { paths?: Record<string, unknown>; info: Record<string, unknown> } & Record<
    string,
    unknown
  >;
  // Versioned paths look like /api/v1.0/…; /api/versions is not one of them.
  const paths = Object.fromEntries(
    Object.entries(full.paths ?? {}).filter(
      ([path]) => path.startsWith(`/api/${version}/`) || !/^\/api\/v\d+\.\d+\//.test(path),
    ),
  );
  const doc = { ...full, info: { ...full.info, version }, paths };
  cache.set(version, doc);
  return doc;
}
