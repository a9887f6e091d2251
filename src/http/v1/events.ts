import { fail } from '../../domain/errors.js';
import type { OutgoingHttpHeaders } from 'node:http';
import { Type } from 'typebox';
import type { StreamEvent } from '../../services/event-stream.js';
import { errorResponses } from '../../schemas.js';
import { principalOf } from '../authenticate.js';
import type { FastifyTypebox } from '../types.js';

const EventsQuery = Type.Object(
  {
    lastEventId: Type.Optional(
      Type.String({
        maxLength: 1000,
        description: 'The id of the last event seen, for clients that cannot send the Last-Event-ID header.',
      }),
    ),
  },
  { additionalProperties: false },
);

const EVENTS_SCHEMA = {
  tags: ['verify'],
  summary: 'Live change events for caches of verify answers (Server-Sent Events)',
  description:
    'For a token holding keys:verify at its own resource (as POST /verify). Starts with `retry: 1000`, then `event: ready` ' +
    '(or, with Last-Event-ID `<stream>:<seq>`, the missed `changes` events, or `event: reset` when they cannot be replayed: drop the whole cache). ' +
    'Each committed batch is an `event: changes` with `data: {"changes": [...]}`: {"kind":"token","id"}, {"kind":"keys","tokenId"}, ' +
    '{"kind":"user","id"}, {"kind":"resource","id"} or {"kind":"membership","userId","resourceId"} — ids only, never keys — ' +
    'leaving out what the caller may not learn about. A `: ping` comment every 15 seconds keeps proxies from closing the connection. ' +
    'When this instance loses the change channel to the other instances, the stream ends and new connections get 503 UNAVAILABLE ' +
    'until it is back (keep cached answers short meanwhile); the first stream after that starts anew, so a resuming client is told to reset.',
  querystring: EventsQuery,
  response: {
    200: {
      description: 'An endless text/event-stream of ready, reset and changes events.',
      content: { 'text/event-stream': { schema: { type: 'string' } } },
    },
    ...errorResponses,
  },
};

/** One event as Server-Sent Events text (the data is one line of JSON). */
function frame(e: StreamEvent): string {
  const data = e.event === 'changes' ? JSON.stringify({ changes: e.changes }) : '{}';
  return `event: ${e.event}\nid: ${e.id}\ndata: ${data}\n\n`;
}

/** The live change event stream for SDK caches. */
export function eventRoutes(app: FastifyTypebox): void {
  const kg = app.keygate;
  /** How to end each open stream of this app: Fastify's close waits for open connections. */
  const open = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end();
    done();
  });

  // Streams committed changes to a verifier as Server-Sent Events, until it disconnects.
  app.get('/events', { config: { apiGroup: 'verify' }, schema: EVENTS_SCHEMA }, async (request, reply) => {
    const caller = principalOf(request);
    kg.verify.requireVerifier(caller);
    // An instance that cannot hear the others would stream an incomplete picture; the SDK keeps
    // its cache short and retries instead.
    if (!kg.events.live)
      fail('UNAVAILABLE', 'Change events are paused: this instance has lost the channel to the other instances.');
    const credential = request.auth.credential;
    // A verifier is always a token, so a key was presented; it is kept only to ask again per batch.
    const key = credential.kind === 'key' ? credential.key : null;
    const header = request.headers['last-event-id'];
    const lastEventId = (Array.isArray(header) ? header[0] : header) || request.query.lastEventId || undefined;

    reply.hijack();
    const res = reply.raw;
    // The headers the hooks set (request id, nosniff, …), which a hijacked reply would not send.
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) headers[name] = value;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    const heartbeat = setInterval(() => res.write(': ping\n\n'), kg.events.heartbeatMs);
    // The open connection keeps the process alive, not the timer.
    heartbeat.unref();
    let unsubscribe = () => {};
    let ended = false;
    /** Stops the heartbeat and the subscription, once, however the stream ends. */
    const stop = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      open.delete(end);
      unsubscribe();
    };
    const end = () => {
      stop();
      res.end();
    };
    open.add(end);
    // May end at once (the keygate is closing): `end` is safe to call from within.
    unsubscribe = kg.events.subscribe({
      caller,
      lastEventId,
      reauthorize: key === null ? undefined : () => kg.verify.verifierNow(key),
      send: (e) => void res.write(frame(e)),
      end,
    });
    res.on('close', () => {
      stop();
      // A stream the server ended ran the onResponse hooks on 'finish'; one the client dropped never
      // finishes, so the access log hears of it here: once either way.
      if (!res.writableFinished) app.recordAccess?.(request, reply);
    });
  });
}
