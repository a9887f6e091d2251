import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { Keygate } from '../keygate.js';
import { SharedSignInThrottle, type SignInThrottle } from '../services/sign-in-throttle.js';
import { installAccessLogging } from './access-logging.js';
import { consoleRoutes, isConsolePath } from './console.js';
import { arrive, decorateRequestAuth, installAuthentication } from './authenticate.js';
import { clientErrorResponder, frameworkErrors, installErrorHandling, refuseWhileClosing } from './errors.js';
import { metaRoutes } from './meta.js';
import { nextRequestId, requestIdOf } from './request-id.js';
import { SHARED_SCHEMAS } from '../schemas.js';
import type { FastifyTypebox } from './types.js';
import type { UpstreamHealth } from '../gateway/upstreams.js';
import { API_VERSIONS, deprecationHeaders } from './versions.js';
import { installHttpMetrics } from '../ops/instrument.js';

/**
 * A stable operationId from the method and the path, for clients generated from the document:
 * `GET /api/v1.0/tokens/:id/usage` → `getTokensIdUsage`, `DELETE /resources/:id/members/:userId` →
 * `deleteResourcesIdMembersUserId`.
 */
function operationId(method: string | string[], url: string): string {
  const verb = (Array.isArray(method) ? method[0]! : method).toLowerCase();
  const words = url
    .replace(/^\/api\/v\d+\.\d+/, '')
    .split(/[/.:_-]+/)
    .filter(Boolean)
    .map((w) => w.replace(/[^A-Za-z0-9]/g, ''))
    .filter(Boolean);
  return verb + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

/** Log fields that could carry a key, a password or a session; pino replaces them. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-apikey"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'req.query',
  'req.url',
];

export interface AppOptions {
  logger?: FastifyServerOptions['logger'];
  /** Tests pass one with their own clock; the default counts over `keygate.limiters` (Redis when configured). */
  signInThrottle?: SignInThrottle;
  /** Where the built console is; tests point it at a folder of their own. */
  consoleDir?: string;
  /** The gateway's upstreams and their state, for /health, when a gateway runs in this process. */
  upstreams?: () => UpstreamHealth[] | undefined;
}

/** Builds the HTTP application over a running keygate. */
export async function buildApp(kg: Keygate, options: AppOptions = {}): Promise<FastifyTypebox> {
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: !kg.config.logRequests }),
    // No child logger per request (it costs on the hot path): lines that concern a request carry
    // its requestId explicitly.
    childLoggerFactory: (logger) => logger,
    bodyLimit: kg.config.bodyLimit,
    // The list when there is one (only those proxies may say who the client is), else the boolean.
    trustProxy: kg.config.trustedProxies.length > 0 ? kg.config.trustedProxies : kg.config.trustProxy,
    genReqId: requestIdOf,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    frameworkErrors,
    clientErrorHandler: clientErrorResponder(nextRequestId),
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyTypebox;

  app.decorate('keygate', kg);
  app.decorate('signInThrottle', options.signInThrottle ?? new SharedSignInThrottle(kg.limiters));
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  await app.register(formbody);
  // The console's deep links are answered by the not-found handler, set up before the console's routes.
  let consolePage: ((request: FastifyRequest, reply: FastifyReply) => FastifyReply) | undefined;
  installErrorHandling(app, (request, reply) => (isConsolePath(request) ? consolePage?.(request, reply) : undefined));
  decorateRequestAuth(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'keygate API',
        version: API_VERSIONS[0]!.version,
        license: { name: 'MIT', identifier: 'MIT' },
        description:
          'Resource-scoped API tokens: issue, manage and verify keys. Present a key in `X-API-Key` (or `X-ApiKey`, ' +
          '`Authorization: apiToken <key>`, `Authorization: Bearer <key>`, the `key` or `apiToken` query parameter, a form field `key`, ' +
          'or a JSON property `API_Key`). Every error has the body `{"error": {"code", "message", "requestId"}}`.',
      },
      components: {
        securitySchemes: {
          apiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'X-API-Key',
            description: 'The preferred way to present a key.',
          },
          apiKeyAlt: { type: 'apiKey', in: 'header', name: 'X-ApiKey' },
          authorization: {
            type: 'http',
            scheme: 'bearer',
            description: 'Authorization: Bearer <key> (or the apiToken scheme).',
          },
          queryKey: {
            type: 'apiKey',
            in: 'query',
            name: 'key',
            description: 'Can be switched off by the operator; also apiToken.',
          },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: 'keygate_session',
            description:
              "The console's session, from POST /session. Changes (POST, PUT, PATCH, DELETE) made with it must be same-origin and send the session's CSRF token (csrfToken from POST /session or GET /me) as X-CSRF-Token.",
          },
        },
      },
      // Paths are absolute on the keygate that serves the document.
      servers: [{ url: '/', description: 'This keygate' }],
      security: [{ apiKey: [] }, { apiKeyAlt: [] }, { authorization: [] }, { queryKey: [] }, { session: [] }],
    },
    // Each operation says which API group a token needs to call it, from the route's own config.
    // Public operations (health, changelog, sign-in) need no credentials, and say so.
    transform: ({ schema, url, route }) => {
      if (!schema) return { schema, url };
      const config = route.config as { apiGroup?: string; auth?: string } | undefined;
      const named = {
        ...schema,
        operationId: (schema as { operationId?: string }).operationId ?? operationId(route.method, url),
      };
      if (config?.auth === 'none') return { schema: { ...named, security: [] }, url };
      const group = config?.apiGroup;
      if (!group) return { schema: named, url };
      const note = `API group: \`${group}\` (or \`native\`).`;
      const description = (schema as { description?: string }).description;
      return { schema: { ...named, description: description ? `${description}\n\n${note}` : note }, url };
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { urls: API_VERSIONS.map((v) => ({ url: `/api/${v.version}/openapi.json`, name: v.version })) as never },
  });

  // Set first thing, so every answer has them, errors included; credentials are read here once.
  app.addHook('onRequest', (request, reply, done) => {
    arrive(request, kg.config.allowQueryKeys);
    // Answers may hold a key (create, roll, reveal) or private data: never cache them.
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    // No page of keygate may be framed (clickjacking); the console adds its own CSP on top.
    reply.header('x-frame-options', 'DENY');
    done();
  });
  refuseWhileClosing(app);

  installAccessLogging(app, kg);
  installHttpMetrics(app, kg.metrics, 'api');
  consolePage = await consoleRoutes(app, options.consoleDir);

  // biome-ignore lint/nursery/noMisusedPromises: Fastify awaits async plugins.
  await app.register(async (scoped) => metaRoutes(scoped as FastifyTypebox, options.upstreams));
  for (const version of API_VERSIONS) {
    await app.register(
      // biome-ignore lint/nursery/noMisusedPromises: Fastify awaits async plugins.
      async (scoped) => {
        const headers = deprecationHeaders(version);
        if (Object.keys(headers).length > 0)
          scoped.addHook('onSend', async (_req, reply) => void reply.headers(headers));
        // Only the versioned API authenticates; health, docs and the changelog are public.
        installAuthentication(scoped, kg);
        version.register(scoped as FastifyTypebox);
      },
      { prefix: `/api/${version.version}` },
    );
  }
  return app;
}
