import assert from 'node:assert/strict';
import { ERROR_CODES, type ErrorCode } from '../../src/domain/errors.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import { noteSecretsIn } from '../support/secret-scan.js';
import type { Concrete } from './requests.js';
import type { World } from './world.js';

/** What one dialect's fuzzing sent and got, for the report line. */
export interface Tally {
  requests: number;
  statuses: Record<number, number>;
  refusedWrites: number;
  /** Error codes answered, by count. */
  codes: Record<string, number>;
}

export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/** Sends a request in process. The event stream never ends on its own: its head is checked and it is let go. */
export async function sendInjected(app: FastifyTypebox, req: Concrete, stream: boolean): Promise<Answer> {
  const options = {
    method: req.method as 'GET',
    url: req.url,
    headers: req.headers,
    ...(req.payload !== undefined ? { payload: req.payload } : {}),
  };
  if (stream) {
    const res = await app.inject({ ...options, payloadAsStream: true });
    const body = res.stream();
    if (String(res.headers['content-type']).startsWith('text/event-stream')) {
      body.destroy();
      return { status: res.statusCode, headers: res.headers, body: '' };
    }
    let text = '';
    for await (const chunk of body) text += String(chunk);
    return { status: res.statusCode, headers: res.headers, body: text };
  }
  const res = await app.inject(options);
  return { status: res.statusCode, headers: res.headers, body: res.body };
}

/** Replaces every key and cookie, known or key-shaped, so a failure message can be printed. */
export function redactor(world: World, prefix: string): (text: string) => string {
  const shape = new RegExp(`${prefix}[0-9A-Za-z]{20,}`, 'g');
  return (text) => {
    let out = text;
    for (const secret of world.secrets()) out = out.split(secret).join('<secret>');
    return out.replace(shape, '<key>').replace(/keygate_session=[0-9A-Za-z]+/g, 'keygate_session=<cookie>');
  };
}

const UPPER_SNAKE = /^[A-Z]+(_[A-Z0-9]+)*$/;

/**
 * Never a 5xx; a refusal is JSON `{error: {code, message, requestId}}` with a registry code whose
 * status is the one answered; no answer holds a principal's key or session. Keys an answer mints
 * are noted for the secret scan at the end of the suite.
 */
export function checkAnswer(
  req: Concrete,
  res: Answer,
  world: World,
  redact: (text: string) => string,
  label = '',
): void {
  const what = () =>
    redact(
      `${label ? `${label}: ` : ''}${req.method} ${req.url.slice(0, 200)} ${JSON.stringify(req.headers).slice(0, 400)} ${String(req.payload ?? '').slice(0, 200)} → ${res.status} ${res.body.slice(0, 300)}`,
    );
  assert.ok(res.status >= 100 && res.status < 500, `a ${res.status}: ${what()}`);
  const everything = res.body + JSON.stringify(res.headers);
  for (const secret of world.secrets())
    assert.ok(!everything.includes(secret), `the answer holds a principal's secret: ${what()}`);
  if (res.status < 400) {
    if (/^application\/json/.test(String(res.headers['content-type'] ?? '')) && res.body !== '')
      noteSecretsIn(JSON.parse(res.body));
    return;
  }
  if (req.method === 'HEAD') return;
  assert.match(String(res.headers['content-type']), /^application\/json/, `a refusal that is not JSON: ${what()}`);
  let body: { error?: { code?: unknown; message?: unknown; requestId?: unknown } };
  try {
    body = JSON.parse(res.body);
  } catch {
    assert.fail(`a refusal whose body does not parse: ${what()}`);
  }
  assert.deepEqual(Object.keys(body), ['error'], `nothing beside the envelope: ${what()}`);
  const code = body.error?.code;
  assert.equal(typeof code, 'string', `no error code: ${what()}`);
  assert.match(code as string, UPPER_SNAKE, what());
  assert.ok(Object.hasOwn(ERROR_CODES, code as string), `a code outside the registry: ${what()}`);
  assert.equal(ERROR_CODES[code as ErrorCode].status, res.status, `status and code disagree: ${what()}`);
  assert.equal(typeof body.error?.message, 'string', what());
  assert.ok(String(body.error?.message).length > 0, `an empty message: ${what()}`);
  assert.equal(typeof body.error?.requestId, 'string', what());
}
