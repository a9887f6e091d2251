import { pipeline, Readable, Transform } from 'node:stream';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { extractCredential } from '../domain/credentials.js';
import { fail, KeygateError } from '../domain/errors.js';
import { admit, admitLimits, identityOf, type Admission } from './admission.js';
import type { Keygate } from '../keygate.js';
import { installAccessLogging } from '../http/access-logging.js';
import { arrive, countRefusal, decorateRequestAuth, refuseBlockedAddress } from '../http/authenticate.js';
import { clientErrorResponder, frameworkErrors, installErrorHandling, refuseWhileClosing } from '../http/errors.js';
import { requestContext } from '../http/request-context.js';
import { nextRequestId, requestIdOf } from '../http/request-id.js';
import { parseBody, readableKind, readBody, withoutFields } from './body.js';
import type { GatewayConfig } from './config.js';
import { forwardRequestHeaders, forwardResponseHeaders, proxyTrust, stripQueryKeys } from './headers.js';
import { identityHeaders } from './identity.js';
import { TargetResolver } from './targets.js';
import type { GatewayRoute, RouteMatch } from './types.js';
import { ambiguousPath, isTimeout, upstreamErrorCode, upstreamPicker, type Upstream } from './upstreams.js';
import { installUpgrades } from './websocket.js';
import { installHttpMetrics } from '../ops/instrument.js';

/** Methods the gateway forwards. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** Largest upstream answer the gateway reads to register the resource it created. */
const REGISTER_LIMIT = 1_048_576;

export interface GatewayOptions {
  logger?: FastifyServerOptions['logger'];
  /** Signs the identity headers. */
  secret: string;
}

/** Whether a request carries a body (a length above zero, or a chunked one). */
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/**
 * The reverse proxy: a Fastify app with one catch-all route that judges each request by the
 * upstream's route table with the same services as the API, then streams it upstream with the
 * credentials removed and the signed identity added. Refusals are the core's error envelope; the
 * access log records gateway calls as it records API calls.
 */
export async function buildGatewayApp(
  kg: Keygate,
  config: GatewayConfig,
  upstreams: readonly Upstream[],
  options: GatewayOptions,
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new LogController({ disableRequestLogging: !kg.config.logRequests }),
    childLoggerFactory: (logger) => logger,
    trustProxy: config.trustedProxies.length > 0 ? config.trustedProxies : false,
    genReqId: requestIdOf,
    exposeHeadRoutes: false,
    // Bodies stream through; the gateway reads the few it must itself, bounded by its own limit.
    bodyLimit: config.bodyLimit,
    routerOptions: { maxParamLength: 2048 },
    frameworkErrors,
    clientErrorHandler: clientErrorResponder(nextRequestId),
    return503OnClosing: false,
  });
  installErrorHandling(app);
  decorateRequestAuth(app);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  const trusted = proxyTrust(config.trustedProxies);
  const pick = upstreamPicker(upstreams);
  const targets = new TargetResolver((ref, type) => kg.resources.resolveRef(ref, type));
  const unsubscribe = kg.feed.subscribe((changes) => targets.drop(changes));
  // Back from a lost channel, what changed meanwhile is unknown.
  const unsubscribeChannel = kg.feed.onChannel((state) => state === 'restored' && targets.clear());
  app.addHook('onClose', (_app, done) => {
    unsubscribe();
    unsubscribeChannel();
    done();
  });
  const captureLimit = kg.config.accessLog.captureLimit;

  app.addHook('onRequest', (request, reply, done) => {
    arrive(request, kg.config.allowQueryKeys);
    reply.header('x-request-id', request.id);
    done();
  });
  refuseWhileClosing(app);
  installAccessLogging(app, kg);
  installHttpMetrics(app, kg.metrics, 'gateway');

  /** Registers the resource a successful answer created, as the token that created it; never fails the answer. */
  const register = async (request: FastifyRequest, route: GatewayRoute, admission: Admission, answer: Buffer) => {
    const spec = route.register!;
    let created: unknown;
    try {
      created = JSON.parse(answer.toString('utf8'));
    } catch {
      return;
    }
    if (created === null || typeof created !== 'object') return;
    const field = (name: string | undefined) => {
      const v =
        name !== undefined && Object.hasOwn(created as object, name)
          ? (created as Record<string, unknown>)[name]
          : undefined;
      return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
    };
    const externalId = field(spec.idField);
    if (externalId === undefined) return;
    const parent = spec.parentField === undefined ? undefined : field(spec.parentField);
    try {
      await kg.resources.bulkUpsert(
        admission.verdict.principal,
        [
          {
            externalId,
            type: spec.type,
            name: field(spec.nameField) ?? externalId,
            ...(parent === undefined ? { parentId: admission.resourceId } : { parentExternalId: parent }),
          },
        ],
        requestContext(request),
      );
    } catch (err) {
      const code = err instanceof KeygateError ? err.code : 'INTERNAL';
      request.log.warn(
        { requestId: request.id, code, route: route.path },
        'gateway: the created resource was not registered',
      );
    }
  };

  app.route({
    method: METHODS,
    url: '*',
    // Forwards one request upstream once its key holds what the route needs.
    handler: async (request, reply) => {
      const url = request.raw.url ?? '/';
      const at = url.indexOf('?');
      const path = at < 0 ? url : url.slice(0, at);
      if (ambiguousPath(path)) fail('ROUTE_NOT_FOUND');
      const upstream = pick(request.headers.host, path) ?? fail('ROUTE_NOT_FOUND');
      const match: RouteMatch | null = upstream.table.match(request.method, path);
      // A CORS preflight never carries credentials: it passes to the upstream, which answers it.
      const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
      const route: GatewayRoute | null =
        match?.route ??
        (preflight
          ? { method: 'OPTIONS', path, target: { in: 'token' }, public: true }
          : config.unmatched === 'authenticate'
            ? { method: '*', path, target: { in: 'token' } }
            : null);
      if (route === null) fail('ROUTE_NOT_FOUND');
      request.auth.route = match ? route.path : undefined;

      // Small JSON and form bodies are read: they may carry a key or the target; others stream.
      const withBody = hasBody(request);
      const kind = withBody ? readableKind(request.headers['content-type']) : null;
      let raw: Buffer | undefined;
      let body: unknown;
      if (kind !== null) {
        raw = await readBody(request.raw, config.bodyLimit);
        body = parseBody(kind, raw);
        request.auth.credential = extractCredential(
          {
            headers: request.headers,
            rawHeaders: request.raw.rawHeaders,
            query: request.query,
            body,
            contentType: request.headers['content-type'],
          },
          { allowQueryKeys: kg.config.allowQueryKeys },
        );
      } else if (route.target.in === 'body' && !route.public) {
        fail('UNSUPPORTED_MEDIA_TYPE', 'This endpoint takes its target from a JSON or form body.');
      }
      const credential = request.auth.credential;
      if (route.public && credential.kind === 'error') fail(credential.code);
      // A blocked address is refused before its key is looked up; a refused key counts against it.
      if (!route.public && credential.kind !== 'none')
        refuseBlockedAddress(request, reply, await kg.refusedKeys.check(request.ip));
      const admission = route.public
        ? null
        : await admit(
            kg,
            targets,
            { credential, route, params: match?.params ?? {}, query: request.query, body },
            request.auth,
          ).catch((err: unknown) => new Promise<never>((_, reject) => countRefusal(kg, request.ip, err, reject)));

      // The token's own limits, once its key is admitted (a refused key never counts); the fields go to the client only.
      const limitHeaders = admission
        ? await admitLimits(kg, admission, request.ip, request.auth, (h) => reply.headers(h))
        : {};

      const sources = credential.kind === 'key' ? credential.sources : [];
      const consumed = sources.flatMap((s) => (s === 'json:API_Key' ? ['API_Key'] : s === 'form:key' ? ['key'] : []));
      const rewritten = raw === undefined || kind === null ? null : withoutFields(kind, raw, body, consumed);
      if (rewritten !== null && kind !== null) request.body = parseBody(kind, rewritten);
      else if (body !== undefined) request.body = body;
      const query = at < 0 ? '' : stripQueryKeys(url.slice(at + 1), sources);
      const forwardPath = `${upstream.basePath}${path}${query === '' ? '' : `?${query}`}`;
      const payload = rewritten ?? raw ?? (withBody ? request.raw : undefined);
      const headers = forwardRequestHeaders({
        headers: request.headers,
        sources,
        remoteAddress: request.socket.remoteAddress,
        trustedPeer: trusted(request.socket.remoteAddress),
        protocol: request.protocol,
        upstreamHost: upstream.hostHeader,
        contentLength: raw === undefined ? undefined : (rewritten ?? raw).length,
      });
      if (admission)
        Object.assign(
          headers,
          identityHeaders(
            options.secret,
            identityOf(admission, request.id),
            Math.floor(Date.now() / 1000),
            request.method,
            forwardPath,
          ),
        );

      let res: Awaited<ReturnType<typeof upstream.pool.request>>;
      try {
        res = await upstream.pool.request({
          path: forwardPath,
          method: request.method as 'GET',
          headers,
          body: payload,
        });
        upstream.learn(null);
      } catch (err) {
        const code = upstreamErrorCode(err);
        if (reply.sent || request.raw.destroyed) return reply;
        upstream.learn(code);
        request.log.warn({ requestId: request.id, upstream: upstream.config.name, code }, 'gateway: upstream failed');
        fail(isTimeout(code) ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_UNAVAILABLE');
      }
      reply.code(res.statusCode).headers(forwardResponseHeaders(res.headers)).headers(limitHeaders);
      const registers =
        admission !== null &&
        route.register !== undefined &&
        res.statusCode >= 200 &&
        res.statusCode < 300 &&
        readableKind(String(res.headers['content-type'] ?? '')) === 'json';
      if (registers) {
        const answer = await readUpTo(res.body, REGISTER_LIMIT);
        // Too long to be a created resource's description: it passes through, unread and unregistered.
        if (!Buffer.isBuffer(answer)) return reply.send(answer);
        await register(request, route, admission, answer);
        if (request.auth.token?.row.logging === 'request+response') request.auth.responseBody = answer;
        return reply.send(answer);
      }
      if (request.auth.token?.row.logging === 'request+response')
        return reply.send(pipeline(res.body, capture(request, captureLimit), () => {}));
      return reply.send(res.body);
    },
  });

  installUpgrades(app, kg, { pick, targets, secret: options.secret, trusted });
  return app;
}

/** A whole answer when it is at most `limit` bytes; else a stream of all of it (what was read, then the rest). */
async function readUpTo(body: Readable, limit: number): Promise<Buffer | Readable> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]();
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    chunks.push(next.value as Buffer);
    size += (next.value as Buffer).length;
    if (size > limit)
      return Readable.from(
        (async function* () {
          yield* chunks;
          for (let more = await iterator.next(); !more.done; more = await iterator.next()) yield more.value as Buffer;
        })(),
      );
  }
  return Buffer.concat(chunks, size);
}

/**
 * Passes a streamed answer through unchanged while keeping its first `limit` bytes for the access
 * log (the token asked for its responses to be recorded).
 */
function capture(request: FastifyRequest, limit: number): Transform {
  const kept: Buffer[] = [];
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (size < limit) {
        kept.push(chunk.subarray(0, limit - size));
        size += Math.min(chunk.length, limit - size);
      }
      done(null, chunk);
    },
    flush(done) {
      request.auth.responseBody = Buffer.concat(kept, size);
      done();
    },
  });
}
