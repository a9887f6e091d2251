import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { it } from 'node:test';
import { forEachDialect } from '../support/harness.js';

/** Resolves when `socket` has received `text`, with everything it received so far. */
function waitFor(received: () => string, text: string, socket: import('node:net').Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (received().includes(text)) {
        socket.off('data', check);
        socket.off('close', closed);
        resolve(received());
      }
    };
    const closed = () => reject(new Error(`the connection closed before ${JSON.stringify(text)}: ${received()}`));
    socket.on('data', check);
    socket.on('close', closed);
    check();
  });
}

forEachDialect('a request on a kept-alive connection after shutdown began', (env) => {
  it('is answered 503 UNAVAILABLE in the error envelope, and the connection is closed', async () => {
    const { app } = env();
    const address = new URL(await app.listen({ port: 0, host: '127.0.0.1' }));
    const socket = connect(Number(address.port), '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    await new Promise((r) => socket.once('connect', r));
    // A request under way — its body half sent — keeps the connection busy, so close does not drop it.
    const body = '{"email":"nobody@example.com","password":"not the right one"}';
    socket.write(
      `POST /api/v1.0/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 50));
    const closing = app.close();
    // The first request finishes; a second arrives on the same connection after close began.
    socket.write(`${body.slice(10)}GET /api/v1.0/versions HTTP/1.1\r\nHost: x\r\n\r\n`);
    const all = await waitFor(() => received, '"UNAVAILABLE"', socket);
    await closing;
    socket.destroy();
    const answers = all.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, all);
    assert.match(answers[0]!, /^HTTP\/1\.1 401 /, 'the request under way is answered as usual');
    assert.match(answers[1]!, /^HTTP\/1\.1 503 /);
    assert.match(answers[1]!, /\r\nconnection: close\r\n/i);
    const envelope = JSON.parse(answers[1]!.slice(answers[1]!.indexOf('\r\n\r\n') + 4)) as {
      error: { code: string; message: string; requestId: string };
    };
    assert.equal(envelope.error.code, 'UNAVAILABLE');
    assert.match(envelope.error.message, /shutting down/);
    assert.match(envelope.error.requestId, /\S/);
  });
});
