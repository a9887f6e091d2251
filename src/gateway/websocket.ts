import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { extractCredential } from '../domain/credentials.js';
import { ERROR_CODES, KeygateError, type ErrorCode } from '../domain/errors.js';
import { looseQuery } from '../http/authenticate.js';
import { errorBody } from '../http/errors.js';
import { requestIdOf } from '../http/request-id.js';
import type { Keygate } from '../keygate.js';
import { admit, admitLimits, identityOf, type AuthNotes } from './admission.js';
import { forwardRequestHeaders, stripQueryKeys } from './headers.js';
import { identityHeaders } from './identity.js';
import type { TargetResolver } from './targets.js';
import { ambiguousPath, type Upstream } from './upstreams.js';

export interface UpgradeDeps {
  pick: (host: string | undefined, path: string) => Upstream | null;
  targets: TargetResolver;
  secret: string;
  trusted: (address: string | undefined) => boolean;
}

/** Answers an upgrade request with an error envelope on its raw socket, then closes it. */
function refuse(socket: Duplex, code: ErrorCode, requestId: string, message?: string, retryAfter?: number): void {
  const { status } = ERROR_CODES[code];
  const body = JSON.stringify(errorBody(code, requestId, message));
  const retry = retryAfter === undefined ? '' : `Retry-After: ${retryAfter}\r\n`;
  if (socket.writable)
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n${retry}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}

/**
 * The client's address as Fastify's trustProxy would find it for a plain request: X-Forwarded-For
 * is read from its right end only while each hop so far is a trusted proxy.
 */
export function clientAddress(req: IncomingMessage, trusted: (address: string | undefined) => boolean): string {
  let address = req.socket.remoteAddress ?? '';
  const hops = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .reverse();
  for (const hop of hops) {
    if (!trusted(address)) break;
    address = hop;
  }
  return address;
}

/** The raw header block of a response, for writing to a socket. */
function headerBlock(res: IncomingMessage): string {
  let out = '';
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) out += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
  return out;
}

/**
 * WebSocket (and any other) upgrades: judged like a GET of the same path from the handshake's
 * headers and query, then the upstream's handshake is relayed and both sockets are joined. The
 * frames that follow pass untouched; the key never reaches the upstream.
 */
export function installUpgrades(app: FastifyInstance, kg: Keygate, deps: UpgradeDeps): void {
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const requestId = requestIdOf(req);
    void (async () => {
      const url = req.url ?? '/';
      const at = url.indexOf('?');
      const path = at < 0 ? url : url.slice(0, at);
      const query = looseQuery(url);
      const upstream = ambiguousPath(path) ? null : deps.pick(req.headers.host, path);
      const match = upstream?.table.match('GET', path) ?? null;
      if (!upstream || !match) return refuse(socket, 'ROUTE_NOT_FOUND', requestId);
      const credential = extractCredential(
        { headers: req.headers, rawHeaders: req.rawHeaders, query },
        { allowQueryKeys: kg.config.allowQueryKeys },
      );
      const notes: AuthNotes = { outcome: null, token: null, source: null, principal: null };
      // The refused-key throttle, as for plain requests: a blocked address is refused before any lookup.
      const client = clientAddress(req, deps.trusted);
      if (!match.route.public && credential.kind !== 'none') {
        const wait = await kg.refusedKeys.check(client);
        if (wait > 0)
          return refuse(
            socket,
            'RATE_LIMITED',
            requestId,
            `Too many refused keys from this address; try again in ${wait} s.`,
            wait,
          );
      }
      const admission = match.route.public
        ? null
        : await admit(
            kg,
            deps.targets,
            { credential, route: match.route, params: match.params, query, body: undefined },
            notes,
          ).catch(async (err: unknown) => {
            if (err instanceof KeygateError && kg.refusedKeys.counts(err.code))
              await kg.refusedKeys.refused(client).catch(() => {});
            throw err;
          });
      // Token limits as for any request: an upgrade the upstream declines would otherwise pass uncounted.
      if (admission) await admitLimits(kg, admission, client, notes);
      const sources = credential.kind === 'key' ? credential.sources : [];
      const q = at < 0 ? '' : stripQueryKeys(url.slice(at + 1), sources);
      const forwardPath = `${upstream.basePath}${path}${q === '' ? '' : `?${q}`}`;
      const headers = forwardRequestHeaders({
        headers: req.headers,
        sources,
        remoteAddress: req.socket.remoteAddress,
        trustedPeer: deps.trusted(req.socket.remoteAddress),
        protocol: 'http',
        upstreamHost: upstream.hostHeader,
      });
      // Hop-by-hop in general, but the very point of this request.
      headers.connection = 'Upgrade';
      headers.upgrade = String(req.headers.upgrade ?? 'websocket');
      if (admission)
        Object.assign(
          headers,
          identityHeaders(
            deps.secret,
            identityOf(admission, requestId),
            Math.floor(Date.now() / 1000),
            'GET',
            forwardPath,
          ),
        );
      const target = new URL(upstream.config.url);
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const out = send({ host: target.hostname, port: target.port, method: 'GET', path: forwardPath, headers });
      out.on('upgrade', (res, upSocket, upHead) => {
        upstream.learn(null);
        upSocket.on('error', () => socket.destroy());
        socket.on('close', () => upSocket.destroy());
        upSocket.on('close', () => socket.destroy());
        socket.write(`HTTP/1.1 101 Switching Protocols\r\n${headerBlock(res)}\r\n`);
        if (upHead.length > 0) socket.write(upHead);
        if (head.length > 0) upSocket.write(head);
        upSocket.pipe(socket).pipe(upSocket);
      });
      // The upstream declined the upgrade: its answer goes to the client as it is.
      out.on('response', (res) => {
        upstream.learn(null);
        socket.write(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n${headerBlock(res)}\r\n`);
        res.pipe(socket);
      });
      out.on('error', (err) => {
        upstream.learn((err as NodeJS.ErrnoException).code ?? 'UNKNOWN');
        refuse(socket, 'UPSTREAM_UNAVAILABLE', requestId);
      });
      out.end();
    })().catch((err: unknown) => {
      if (err instanceof KeygateError) return refuse(socket, err.code, requestId, err.message);
      app.log.error(
        { err: { type: (err as Error).name, message: (err as Error).message }, requestId },
        'gateway: upgrade failed',
      );
      refuse(socket, 'INTERNAL', requestId);
    });
  });
}
