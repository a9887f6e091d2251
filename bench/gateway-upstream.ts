/**
 * The upstream the gateway benchmark proxies to: a bare node:http server, as cheap as Node serves.
 *
 *   node --import tsx bench/gateway-upstream.ts
 *   node --import tsx bench/gateway-upstream.ts proxy   (with UPSTREAM_URL: the Node floor below)
 *
 *   GET  /hello   → {"hello":"world"} (a constant small JSON; the throughput runs)
 *   POST /upload  → reads the body, counting bytes, then {"bytes":N} (the 1 GiB upload)
 *   GET  /health  → {"ok":true} (the harness's readiness poll)
 *
 * With `proxy`, it is instead the least a Node reverse proxy does: node:http in, an undici Pool
 * with keep-alive out, every request forwarded as it came (no key check, no headers rewritten),
 * the answer streamed back — what keygate's gateway is built from, without keygate.
 *
 * Env: PORT, HOST (default 127.0.0.1), UPSTREAM_URL (proxy only).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const hello = Buffer.from('{"hello":"world"}');
const ok = Buffer.from('{"ok":true}');
const json = (length: number) => ({ 'content-type': 'application/json; charset=utf-8', 'content-length': length });

function serveUpstream(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url ?? '/';
  if (req.method === 'GET' && path === '/hello') {
    res.writeHead(200, json(hello.length)).end(hello);
  } else if (req.method === 'POST' && path === '/upload') {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      const answer = Buffer.from(JSON.stringify({ bytes }));
      res.writeHead(200, json(answer.length)).end(answer);
    });
  } else if (req.method === 'GET' && path === '/health') {
    res.writeHead(200, json(ok.length)).end(ok);
  } else {
    req.resume();
    res.writeHead(404, json(2)).end('{}');
  }
}

/** Forwards one request through the pool; hop-by-hop headers are the only ones dropped. */
function proxyTo(pool: Pool) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const { connection: _c, host: _h, ...headers } = req.headers;
    const withBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool
      .request({ path: req.url ?? '/', method: req.method as 'GET', headers, body: withBody ? req : null })
      .then(({ statusCode, headers: answer, body }) => {
        const { connection: _rc, 'keep-alive': _k, ...passed } = answer;
        res.writeHead(statusCode, passed as Record<string, string>);
        body.pipe(res);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
  };
}

const upstreamUrl = process.env.UPSTREAM_URL;
const server = createServer(
  process.argv[2] === 'proxy' && upstreamUrl
    ? proxyTo(new Pool(upstreamUrl, { keepAliveTimeout: 30_000 }))
    : serveUpstream,
);
// Keep-alive connections from wrk, nginx and the gateway's pool stay open between runs.
server.keepAliveTimeout = 60_000;
server.listen(port, host);

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
