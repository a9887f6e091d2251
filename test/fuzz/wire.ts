import { connect } from 'node:net';
import fc from 'fast-check';
import { generateKey } from '../../src/domain/keys.js';
import type { Operation } from './operations.js';
import { valueFor } from './requests.js';
import type { PrincipalName, World } from './world.js';

/**
 * Requests only a raw socket can send: repeated headers as separate lines, bytes that are not
 * UTF-8, bodies shorter or longer than announced, requests cut off half way. Each is written with
 * node:net, and whatever the server answers before it closes is read back.
 */

/** What the server sent back on one connection. */
export interface Exchange {
  /** The raw bytes, latin1-decoded (never printed whole: it may hold a minted key). */
  text: string;
  /** The responses found in it, in order. */
  responses: { status: number; headers: Record<string, string>; body: string }[];
}

/**
 * Writes the chunks and reads until the server closes. A request that is whole says
 * `Connection: close`, so the server closes once it has answered; one that is cut off is
 * half-closed by us (Node then drops what it was reading, and answers nothing). A 5 s backstop
 * ends a connection the server keeps open; it is never the thing a test checks.
 */
export function exchange(port: number, chunks: Buffer[], halfClose = false): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      const text = Buffer.concat(got).toString('latin1');
      resolve({ text, responses: parseResponses(text) });
    };
    socket.on('data', (chunk: Buffer) => got.push(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? finish() : reject(err),
    );
    socket.on('close', finish);
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('connect', () => {
      for (const chunk of chunks) socket.write(chunk);
      if (halfClose) socket.end();
    });
  });
}

/** Splits HTTP/1.1 responses (Content-Length framed; a chunked or unframed one ends the list). */
export function parseResponses(text: string): Exchange['responses'] {
  const out: Exchange['responses'] = [];
  let rest = text;
  while (rest.startsWith('HTTP/')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const length = headers['content-length'];
    const bodyStart = end + 4;
    const status = Number(statusLine?.split(' ')[1] ?? 0);
    if (headers['transfer-encoding'] === 'chunked') {
      const { body, end: next } = dechunk(rest, bodyStart);
      out.push({ status, headers, body });
      rest = rest.slice(next);
      continue;
    }
    if (length === undefined) {
      out.push({ status, headers, body: rest.slice(bodyStart) });
      break;
    }
    out.push({
      status,
      headers,
      body: Buffer.from(rest.slice(bodyStart, bodyStart + Number(length)), 'latin1').toString('utf8'),
    });
    rest = rest.slice(bodyStart + Number(length));
  }
  return out;
}

/** A chunked body from `at`: its text, and where the next response starts (the end, if it is cut off). */
function dechunk(text: string, at: number): { body: string; end: number } {
  let body = '';
  let i = at;
  for (;;) {
    const eol = text.indexOf('\r\n', i);
    if (eol === -1) return { body, end: text.length };
    const size = Number.parseInt(text.slice(i, eol), 16);
    if (!Number.isFinite(size)) return { body, end: text.length };
    if (size === 0) return { body: Buffer.from(body, 'latin1').toString('utf8'), end: Math.min(text.length, eol + 4) };
    body += text.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

/** What a raw attack does to a request; each builds bytes from the operation and the world. */
export const ATTACKS = [
  'two X-API-Key, same key',
  'two X-API-Key, different keys',
  'X-API-Key and X-ApiKey, different keys',
  'two Authorization, different keys',
  'Authorization and X-API-Key, different keys',
  'two Content-Type: json then form',
  'two Content-Type: form then json',
  'two Content-Length, equal',
  'two Content-Length, different',
  'two Cookie lines',
  'two Host lines',
  'invalid UTF-8 in a JSON body',
  'invalid UTF-8 in a form body',
  'invalid UTF-8 in the X-API-Key value',
  'invalid UTF-8 in the path',
  'invalid UTF-8 in the query',
  'NUL in a header value',
  'body shorter than Content-Length, then closed',
  'Content-Length of a terabyte',
  'Content-Length beyond 2^64',
  'negative Content-Length',
  'Content-Length that is not a number',
  'chunked with a size that is not hex',
  'chunked with a huge chunk',
  'chunked, never terminated',
  'chunked and Content-Length',
  'request line cut off',
  'headers cut off',
  'Expect: 100-continue with a body beyond the limit',
  'a good request, then garbage on the same connection',
  'obsolete line folding',
  'HTTP/1.0 without Host',
  'absolute-form target',
] as const;

export type Attack = (typeof ATTACKS)[number];

export interface RawCase {
  op: number;
  attack: Attack;
  who: PrincipalName;
  body: unknown;
}

/** Raw cases over the given operations. */
export function rawCaseFor(ops: Operation[]): fc.Arbitrary<RawCase> {
  return fc.nat(ops.length - 1).chain((op) =>
    fc.record({
      op: fc.constant(op),
      attack: fc.constantFrom(...ATTACKS),
      who: fc.constantFrom<PrincipalName>('admin', 'reader'),
      body: valueFor(ops[op]!.body),
    }),
  );
}

/** The bytes of one raw case; `expectAnswer` is false when the server may rightly just close. */
export function rawBytes(
  c: RawCase,
  op: Operation,
  world: World,
  prefix: string,
  resolve: (v: unknown) => string,
): { chunks: Buffer[]; expectAnswer: boolean; expectCode?: string } {
  const ids = { i: 0 };
  const path = op.path.replace(/\{\w+\}/g, () => {
    const p = op.params[ids.i++]!;
    const list = world.targets[p.kind];
    return encodeURIComponent(list[0]!);
  });
  const key = world.keys[c.who];
  const other = world.keys[c.who === 'admin' ? 'reader' : 'admin'];
  const json = Buffer.from(resolve(c.body));
  const line = (target = path) => `${op.method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
  const withBody = (head: string, body: Buffer, type = 'application/json') => [
    Buffer.from(`${head}Content-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n`),
    body,
  ];
  const bad = Buffer.from([0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80]);
  const answer = (chunks: Buffer[]) => ({ chunks, expectAnswer: true });
  // Two different keys are refused wherever the versioned API reads credentials (public routes ignore them).
  const authenticated = op.path.startsWith('/api/v1.0/') && !op.public;
  const ambiguous = (chunks: Buffer[]) =>
    authenticated ? { chunks, expectAnswer: true, expectCode: 'AMBIGUOUS_CREDENTIALS' } : answer(chunks);
  const unparsable = (chunks: Buffer[]) => ({ chunks, expectAnswer: true, expectCode: 'MALFORMED_REQUEST' });
  const maybe = (chunks: Buffer[]) => ({ chunks, expectAnswer: false });
  switch (c.attack) {
    case 'two X-API-Key, same key':
      return answer(withBody(`${line()}X-API-Key: ${key}\r\nX-API-Key: ${key}\r\n`, json));
    case 'two X-API-Key, different keys':
      return ambiguous(withBody(`${line()}X-API-Key: ${key}\r\nX-API-Key: ${other}\r\n`, json));
    case 'X-API-Key and X-ApiKey, different keys':
      return ambiguous(withBody(`${line()}X-API-Key: ${key}\r\nX-ApiKey: ${generateKey(prefix)}\r\n`, json));
    case 'two Authorization, different keys':
      return ambiguous(withBody(`${line()}Authorization: Bearer ${key}\r\nAuthorization: apiToken ${other}\r\n`, json));
    case 'Authorization and X-API-Key, different keys':
      return ambiguous(withBody(`${line()}Authorization: Bearer ${key}\r\nX-API-Key: ${other}\r\n`, json));
    case 'two Content-Type: json then form':
      return answer(
        withBody(
          `${line()}X-API-Key: ${key}\r\nContent-Type: application/json\r\n`,
          json,
          'application/x-www-form-urlencoded',
        ),
      );
    case 'two Content-Type: form then json':
      return answer(
        withBody(`${line()}X-API-Key: ${key}\r\nContent-Type: application/x-www-form-urlencoded\r\n`, json),
      );
    case 'two Content-Length, equal':
      return answer(withBody(`${line()}X-API-Key: ${key}\r\nContent-Length: ${json.length}\r\n`, json));
    case 'two Content-Length, different':
      return unparsable(withBody(`${line()}X-API-Key: ${key}\r\nContent-Length: ${json.length + 1}\r\n`, json));
    case 'two Cookie lines':
      return answer(
        withBody(
          `${line()}Cookie: keygate_session=${world.cookies.admin}\r\nCookie: keygate_session=${world.cookies.reader}\r\nX-CSRF-Token: ${world.csrf('admin')}\r\n`,
          json,
        ),
      );
    case 'two Host lines':
      return answer(withBody(`${line()}Host: evil.example\r\nX-API-Key: ${key}\r\n`, json));
    case 'invalid UTF-8 in a JSON body': {
      const at = Math.max(1, json.indexOf('":"') + 3);
      return answer(
        withBody(`${line()}X-API-Key: ${key}\r\n`, Buffer.concat([json.subarray(0, at), bad, json.subarray(at)])),
      );
    }
    case 'invalid UTF-8 in a form body':
      return answer(
        withBody(
          `${line()}X-API-Key: ${key}\r\n`,
          Buffer.concat([Buffer.from('name='), bad, Buffer.from('&x=%ff')]),
          'application/x-www-form-urlencoded',
        ),
      );
    case 'invalid UTF-8 in the X-API-Key value':
      return answer([Buffer.from(`${line()}X-API-Key: `), bad, Buffer.from(`\r\nContent-Length: 0\r\n\r\n`)]);
    case 'invalid UTF-8 in the path':
      return maybe([
        Buffer.from(`${op.method} ${path}/`),
        bad,
        Buffer.from(` HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-API-Key: ${key}\r\nContent-Length: 0\r\n\r\n`),
      ]);
    case 'invalid UTF-8 in the query':
      return maybe([
        Buffer.from(`${op.method} ${path}?limit=`),
        bad,
        Buffer.from(` HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-API-Key: ${key}\r\nContent-Length: 0\r\n\r\n`),
      ]);
    case 'NUL in a header value':
      return unparsable([Buffer.from(`${line()}X-API-Key: ${key}\u0000x\r\nContent-Length: 0\r\n\r\n`)]);
    case 'body shorter than Content-Length, then closed':
      return maybe([
        Buffer.from(
          `${line()}X-API-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: ${json.length + 100}\r\n\r\n`,
        ),
        json,
      ]);
    case 'Content-Length of a terabyte':
      return maybe([
        Buffer.from(
          `${line()}X-API-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: 1099511627776\r\n\r\n`,
        ),
        json,
      ]);
    case 'Content-Length beyond 2^64':
      return unparsable([
        Buffer.from(`${line()}Content-Type: application/json\r\nContent-Length: 18446744073709551617\r\n\r\n`),
        json,
      ]);
    case 'negative Content-Length':
      return unparsable([Buffer.from(`${line()}Content-Type: application/json\r\nContent-Length: -1\r\n\r\n`), json]);
    case 'Content-Length that is not a number':
      return unparsable([Buffer.from(`${line()}Content-Type: application/json\r\nContent-Length: 1e3\r\n\r\n`), json]);
    case 'chunked with a size that is not hex':
      return answer([
        Buffer.from(
          `${line()}X-API-Key: ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
        ),
      ]);
    case 'chunked with a huge chunk':
      return maybe([
        Buffer.from(
          `${line()}X-API-Key: ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffff\r\n{}`,
        ),
      ]);
    case 'chunked, never terminated':
      return maybe([
        Buffer.from(
          `${line()}X-API-Key: ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${json.length.toString(16)}\r\n`,
        ),
        json,
        Buffer.from('\r\n'),
      ]);
    case 'chunked and Content-Length':
      return unparsable([
        Buffer.from(
          `${line()}Content-Type: application/json\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
        ),
      ]);
    case 'request line cut off':
      return maybe([Buffer.from(`${op.method} ${path.slice(0, 7)}`)]);
    case 'headers cut off':
      return maybe([Buffer.from(`${line()}X-API-Key: ${key.slice(0, 10)}`)]);
    case 'Expect: 100-continue with a body beyond the limit':
      return answer([
        Buffer.from(
          `${line()}X-API-Key: ${key}\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 52428800\r\n\r\n`,
        ),
      ]);
    case 'a good request, then garbage on the same connection':
      return maybe([Buffer.from(`GET /health HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE \u0001\u0002 HTTP/9\r\n\r\n`)]);
    case 'obsolete line folding':
      return answer(withBody(`${line()}X-API-Key: ${key}\r\n  continued\r\n`, json));
    case 'HTTP/1.0 without Host':
      return maybe([
        Buffer.from(
          `${op.method} ${path} HTTP/1.0\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n`,
        ),
        json,
      ]);
    case 'absolute-form target':
      return answer(
        withBody(
          `${op.method} http://127.0.0.1${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-API-Key: ${key}\r\n`,
          json,
        ),
      );
  }
}
