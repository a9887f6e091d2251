import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  url: string;
}

/** A real HTTP receiver on 127.0.0.1: records every request, answers with the queued statuses (then 200). */
export interface Receiver {
  url: string;
  requests: Received[];
  /** Statuses for the next answers, in order. */
  answers: number[];
  close(): Promise<void>;
}

/** Starts a receiver on an ephemeral port. */
export async function startReceiver(): Promise<Receiver> {
  const requests: Received[] = [];
  const answers: number[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), url: req.url ?? '' });
      res.writeHead(answers.shift() ?? 200, { 'content-type': 'text/plain', connection: 'close' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
