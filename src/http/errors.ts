import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, KeygateError, type ErrorCode } from '../domain/errors.js';

/** The one error envelope, for a registry code (its default message unless one is given). */
export function errorBody(code: ErrorCode, requestId: string, message?: string, field?: string) {
  return { error: { code, message: message ?? ERROR_CODES[code].message, requestId, ...(field ? { field } : {}) } };
}

/** Sends the one error envelope. */
export function sendError(
  reply: FastifyReply,
  request: FastifyRequest,
  code: ErrorCode,
  message?: string,
  field?: string,
) {
  // The access log records which error a request was answered with.
  if (request.auth) request.auth.errorCode = code;
  return reply
    .code(ERROR_CODES[code].status)
    .type('application/json; charset=utf-8')
    .send(errorBody(code, request.id, message, field));
}

type ValidationError = NonNullable<FastifyError['validation']>[number];

/**
 * The validation error worth reporting. Only a union (anyOf) yields several, each branch's first:
 * one that got deeper into the value (an object of the right shape with one bad field) says what is
 * wrong; otherwise the value matched no branch, and the message names them all.
 */
function reportedError(err: FastifyError): { error: ValidationError; message: string } | undefined {
  const errors = err.validation ?? [];
  let error = errors[0];
  if (!error) return undefined;
  for (const e of errors) if (e.instancePath.length > error.instancePath.length) error = e;
  const at = error.instancePath;
  // An object that matched the object branch but lacks or adds a field: that field is the problem.
  const shape = errors.find(
    (e) => e.instancePath === at && (e.keyword === 'required' || e.keyword === 'additionalProperties'),
  );
  if (shape) return { error: shape, message: shape.message ?? 'is not valid' };
  if (!errors.some((e) => e.keyword === 'anyOf' && e.instancePath === at))
    return { error, message: error.message ?? 'is not valid' };
  const forms = errors
    .filter((e) => e.instancePath === at && (e.keyword === 'type' || e.keyword === 'const'))
    .map((e) => {
      const params = e.params as { type?: unknown; allowedValue?: unknown };
      return e.keyword === 'const' ? JSON.stringify(params.allowedValue) : String(params.type);
    });
  return { error, message: forms.length > 0 ? `must be ${forms.join(' or ')}` : 'is not valid' };
}

/**
 * A property name the answer may repeat: a name like the API's own. Any other name is the caller's
 * text (JSON sent as a form becomes one field named by the whole text, key or password and all),
 * and the answer must not echo it.
 */
const ECHOABLE_NAME = /^[A-Za-z_$][A-Za-z0-9_$-]{0,63}$|^\d{1,6}$/;

/**
 * A property name as an error may name it: itself when it is like the API's own names, else `(unnamed)`.
 * A name shaped like an identifier may still be a key sent where a name goes: a generated key holds a run
 * of 36 letters and digits, and a chosen one is at least 16 characters long — no name of the API has a
 * run of 20, nor 16 characters with a digit among them.
 */
export function echoableName(name: string): string {
  const keyLike = /[A-Za-z0-9]{20}/.test(name) || (name.length >= 16 && /\d/.test(name));
  return ECHOABLE_NAME.test(name) && !keyLike ? name : '(unnamed)';
}

/** The field an AJV validation error is about, as a dotted path. */
function validationField(err: FastifyError): string | undefined {
  const first = reportedError(err)?.error;
  if (!first) return undefined;
  const params = first.params as Record<string, unknown>;
  const extra = (params.missingProperty ?? params.additionalProperty) as string | undefined;
  const names = [...first.instancePath.split('/').slice(1), ...(extra === undefined ? [] : [extra])];
  const field = names.map(echoableName).join('.');
  return field || err.validationContext;
}

/** Maps Fastify's own errors (parsing, size, media type) to registry codes. */
function frameworkCode(err: FastifyError): ErrorCode | undefined {
  if (err.validation) return 'VALIDATION_FAILED';
  switch (err.code) {
    // The docs' static files refuse paths such as `..` or `%00`: there is nothing there.
    case 'FST_STATIC_FORBIDDEN_PATH':
      return 'ROUTE_NOT_FOUND';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'PAYLOAD_TOO_LARGE';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return err.statusCode === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'MALFORMED_BODY';
  }
  const status = err.statusCode ?? 500;
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 415) return 'UNSUPPORTED_MEDIA_TYPE';
  if (status === 400) return 'MALFORMED_BODY';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'ROUTE_NOT_FOUND';
  if (status === 405) return 'METHOD_NOT_ALLOWED';
  if (status === 429) return 'RATE_LIMITED';
  return undefined;
}

/**
 * Errors the router meets before any route or hook runs (a URL that cannot be decoded, a path
 * segment beyond the length limit). Without this Fastify answers with its own body, outside the
 * envelope and echoing the URL, which may hold a key.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const code: ErrorCode =
    err.code === 'FST_ERR_BAD_URL'
      ? 'MALFORMED_URL'
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? 'URI_TOO_LONG'
        : 'INTERNAL';
  // No route matched, so the app's onRequest hook did not run: set its headers here.
  reply.headers({ 'x-request-id': request.id, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' });
  const sent = sendError(reply, request, code);
  // Nor does onResponse: a key presented with such a URL is recorded here.
  request.server.recordAccess?.(request, reply, code);
  return sent;
}

/** Node socket errors, PostgreSQL's connection and availability classes (08, 53, 57P), SQLite's busy and locked. */
const UNAVAILABLE_CODES =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|08\w{3}|53\w{3}|57P0[1-3]|SQLITE_BUSY\w*|SQLITE_LOCKED\w*)$/;

/** Whether an error means the database cannot be reached or used just now (worth a retry), not a bug. */
export function isStoreUnavailable(err: { code?: unknown; message?: unknown }): boolean {
  if (typeof err.code === 'string' && UNAVAILABLE_CODES.test(err.code)) return true;
  return (
    typeof err.message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|the database system is (starting up|shutting down)/i.test(
      err.message,
    )
  );
}

/**
 * Answers a request that arrives on a kept-alive connection after close began with 503 UNAVAILABLE in
 * the error envelope, and closes that connection. (Fastify's own `return503OnClosing` answer, turned off
 * where this is installed, has no code.) Registered after the hook that reads credentials, so the
 * refusal is access-logged like any other.
 */
export function refuseWhileClosing(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    reply.header('connection', 'close');
    done(new KeygateError('UNAVAILABLE', 'This instance is shutting down; send the request again.'));
  });
}

/**
 * Every error leaves through here: ours keep their code, the framework's are mapped, and
 * anything else is logged (without request data) and answered as INTERNAL with the request id.
 */
export function installErrorHandling(
  app: FastifyInstance,
  /** Answers a browser's deep link into the console (a GET for HTML no route knows), or returns undefined. */
  consolePage: (request: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined = () => undefined,
): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof KeygateError) return sendError(reply, request, err.code, err.message, err.field);
    const code = frameworkCode(err);
    if (code === 'VALIDATION_FAILED') {
      const field = validationField(err);
      return sendError(
        reply,
        request,
        code,
        `${field ? `${field}: ` : ''}${reportedError(err)?.message ?? 'is not valid'}.`,
        field,
      );
    }
    if (code) return sendError(reply, request, code);
    if (isStoreUnavailable(err)) {
      request.log.error({ err: { type: err.name, code: err.code }, requestId: request.id }, 'database unavailable');
      return sendError(reply, request, 'UNAVAILABLE', 'The database is not reachable right now; try again shortly.');
    }
    request.log.error(
      { err: { type: err.name, message: err.message, stack: err.stack, code: err.code }, requestId: request.id },
      'unhandled error',
    );
    return sendError(reply, request, 'INTERNAL');
  });
  // The path is not echoed: a mistyped URL may hold a key.
  app.setNotFoundHandler((request, reply) => {
    const page = consolePage(request, reply);
    if (page) return page;
    const allowed = allowedMethods(app, request.url);
    // A route that takes this method but found nothing (a missing console asset) is a plain 404.
    if (allowed.length === 0 || allowed.includes(request.method)) return sendError(reply, request, 'ROUTE_NOT_FOUND');
    reply.header('allow', allowed.join(', '));
    return sendError(reply, request, 'METHOD_NOT_ALLOWED');
  });
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The methods the router has for a path; only asked once no route matched, so off the hot path. */
function allowedMethods(app: FastifyInstance, url: string): string[] {
  const path = url.split('?', 1)[0]!;
  return METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
}

/** Which registry code a Node HTTP parser error is answered with. */
function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'MALFORMED_REQUEST';
}

/**
 * Answers a request Node could not parse (a malformed request line, oversize headers, both
 * Content-Length and Transfer-Encoding …), before Fastify sees it: a raw HTTP/1.1 response with
 * the one envelope, then the connection is closed, as Node itself does.
 */
export function clientErrorResponder(nextRequestId: () => string) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    // A reset connection has no one left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const code = clientErrorCode(err);
    const requestId = nextRequestId();
    const { status } = ERROR_CODES[code];
    const body = JSON.stringify(errorBody(code, requestId));
    // A response already under way (a stream answered before the rest of the request proved unreadable)
    // must not get a second one written into it: what it sent is delivered, then the connection closes.
    // `destroySoon` flushes what is queued first; `destroy` would drop it, and the client get nothing.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent)
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `X-Request-Id: ${requestId}\r\n` +
          'X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n' +
          body,
      );
    if (socket.writable) socket.destroySoon();
    else socket.destroy();
  };
}
