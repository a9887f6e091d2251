import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * The run's record: when `npm test` sets KEYGATE_TEST_RECORD_DIR, every test process keeps here what
 * the suite-wide secret scan (test/support/scan-record.ts, run after the last test file) must search
 * and what it must search for — the secrets minted anywhere in the run, the data directories and
 * PostgreSQL schemas the test keygates wrote, the output of the processes they started and the response
 * bodies they received. Each suite is already scanned for its own secrets when it is disposed; the
 * record adds the other direction: a key minted in one file must not turn up in anything any file left.
 * A test file run alone records nothing.
 */
const ROOT = process.env.KEYGATE_TEST_RECORD_DIR;

/** Whether this run keeps a record. */
export const recording = ROOT !== undefined && ROOT !== '';

function dir(name: string): string {
  const path = join(ROOT as string, name);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  return path;
}

let sequence = 0;
/** A name unique in the run: the process id plus a counter. */
function unique(tag: string): string {
  sequence += 1;
  return `${tag.replace(/[^\w.-]+/g, '_').slice(0, 60)}-${process.pid}-${sequence}`;
}

/** Notes a secret this process minted or sent, for the scan of everything else the run left. */
export function recordSecret(secret: string): void {
  if (recording) appendFileSync(join(dir('secrets'), `${process.pid}.txt`), `${secret}\n`, { mode: 0o600 });
}

/** Keeps a data directory for the scan instead of deleting it; false when not recording. */
export function keepDataDir(path: string): boolean {
  if (!recording) return false;
  renameSync(path, join(dir('data'), `${basename(path)}-${process.pid}`));
  return true;
}

/** Keeps a PostgreSQL schema for the scan (which drops it afterwards); false when not recording. */
export function keepSchema(schema: string): boolean {
  if (!recording) return false;
  appendFileSync(join(ROOT as string, 'schemas.txt'), `${schema}\n`);
  return true;
}

/** Keeps what a started process printed. */
export function recordOutput(name: string, text: string): void {
  if (recording) writeFileSync(join(dir('output'), `${unique(name)}.log`), text);
}

/** The leading path segments of `url` that are plain words: `/api/v1.0/tokens/tok_x/roll?key=…` → `/api/v1.0/tokens`. */
function routeOf(url: string): string {
  const segments = (url.split('?')[0] ?? '').split('/');
  const words = [];
  for (const segment of segments) {
    if (!/^[a-z][a-z0-9.-]{0,30}$/.test(segment) && segment !== '') break;
    words.push(segment);
  }
  return words.join('/');
}

/**
 * Keeps a response body a test received. The one place a key may be shown — the top-level `key` of the
 * answer that issues it (a new token, a roll, a reveal) — is left out; a key anywhere else in any
 * answer is a leak.
 */
export function recordResponse(method: string, url: string, status: number, body: unknown): void {
  if (!recording) return;
  let kept = body;
  if (kept !== null && typeof kept === 'object' && !Array.isArray(kept) && 'key' in kept) {
    const { key: _shownOnce, ...rest } = kept as Record<string, unknown>;
    kept = rest;
  }
  // The request's URL is not kept: tests put keys in paths and query strings on purpose, and it is the
  // answer that must not hold one. Its route (the path up to the first id or key) tells where it came from.
  const line = JSON.stringify({ method, route: routeOf(url), status, body: kept });
  appendFileSync(join(dir('responses'), `${process.pid}.ndjson`), `${line}\n`);
}
