/**
 * The upstream the gateway benchmark proxies to: a bare node:http server, as cheap as Node serves.
 *
 *   node --import tsx bench/gateway-upstream.ts
 *
 *   GET  /hello   → {"hello":"world"} (a constant small JSON; the throughput runs)
 *   POST /upload  → reads the body, counting bytes, then {"bytes":N} (the 1 GiB upload)
 *   GET  /health  → {"ok":true} (the harness's readiness poll)
 *
 * Env: PORT, HOST (default 127.0.0.1).
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const hello = Buffer.from('{"hello":"world"}');
const ok = Buffer.from('{"ok":true}');
const json = (length: number) => ({ 'content-type': 'application/json; charset=utf-8', 'content-length': length });

const server = createServer((req, res) => {
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
});
// Keep-alive connections from wrk, nginx and the gateway's pool stay open between runs.
server.keepAliveTimeout = 60_000;
server.listen(port, host);

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
