import { closeSync, createReadStream, fsyncSync, openSync, statSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { KeygateError } from '../domain/errors.js';
import type { Keygate } from '../keygate.js';
import type { Principal } from '../services/principal.js';
import type { TokenInput } from '../services/tokens.js';
import type { Io } from './program.js';

/** How `keygate token import` runs. */
export interface ImportOptions {
  /** A file path, or `-` for standard input. */
  input: string;
  /** Where the new keys go (NDJSON `{line, id, key}`); created with mode 0600, never overwritten. */
  keysOut: string;
  /** Stop at the first refused line, writing nothing of its batch. */
  strict: boolean;
  /** Show the progress bar (it shows by itself when stderr is a terminal). */
  progress: boolean;
  /** Tokens per transaction. */
  batchSize: number;
}

/**
 * Where the import reports: refused lines and progress go to stderr, the summary to stdout. Never a key.
 * Without `progress` (raw writes for a redrawn bar), progress is printed as whole lines with `err`.
 */
export type ImportIo = Pick<Io, 'out' | 'err' | 'progress' | 'isTTY'>;

export interface ImportSummary {
  lines: number;
  imported: number;
  refused: number;
  /** Whether --strict stopped the import at a refused line. */
  stopped: boolean;
  seconds: number;
  /** What stopped the import part-way (the database failing, unreadable input); undefined when it ran to the end. */
  failure?: unknown;
}

/** One input line, parsed: what to create where, or why not. */
type Parsed = { line: number; resourceId: string | null; input: TokenInput } | { line: number; problem: string };

/**
 * Reads one NDJSON line: the API's token create body plus `resourceId` (a resource id, or null or
 * absent for a system token). The body itself is checked by the service, with the API's schema.
 */
export function parseLine(text: string, line: number): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { line, problem: '-: not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { line, problem: '-: must be a JSON object (a token create body with resourceId)' };
  const { resourceId = null, ...input } = value as Record<string, unknown>;
  if (resourceId !== null && (typeof resourceId !== 'string' || resourceId.length === 0 || resourceId.length > 80))
    return { line, problem: 'resourceId: must be a resource id (a string), or null for a system token' };
  return { line, resourceId, input: input as unknown as TokenInput };
}

/** `line N: field: message`, without the field repeated at the start of the message. Never the line's content. */
export function refusal(line: number, err: KeygateError): string {
  const field = err.field ?? '-';
  const message =
    err.field && err.message.startsWith(`${err.field} `) ? err.message.slice(err.field.length + 1) : err.message;
  return `line ${line}: ${field}: ${message}`;
}

/** `1h 02m`, `3m 05s`, `42s`. */
function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/** Count, rate and ETA (by bytes read when the input's size is known), redrawn in place on a terminal. */
class Progress {
  private readonly started = Date.now();
  private last = 0;
  private drawn = false;

  constructor(
    private readonly io: ImportIo,
    private readonly totalBytes: number | null,
  ) {}

  show(imported: number, bytes: number, final = false): void {
    const now = Date.now();
    const tty = this.io.isTTY === true && this.io.progress !== undefined;
    if (!final && now - this.last < (tty ? 200 : 1_000)) return;
    this.last = now;
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? imported / elapsed : 0;
    const fraction = this.totalBytes ? Math.min(1, bytes / this.totalBytes) : null;
    const bar =
      fraction === null
        ? ''
        : `[${'#'.repeat(Math.round(fraction * 30)).padEnd(30, '.')}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
    const eta =
      fraction !== null && fraction > 0 && !final ? `  ETA ${duration((elapsed / fraction) * (1 - fraction))}` : '';
    const text = `${bar}${imported.toLocaleString('en-US')} tokens  ${Math.round(rate).toLocaleString('en-US')}/s${eta}`;
    if (tty) {
      this.io.progress!(`\r${text}\x1b[K${final ? '\n' : ''}`);
      this.drawn = !final;
    } else this.io.err(text);
  }

  /** Ends the redrawn line before anything else is printed under it. */
  interrupt(): void {
    if (this.drawn) this.io.progress?.('\n');
    this.drawn = false;
  }
}

/** Opens the keys file for writing: created with mode 0600; an existing file (or link) is refused. */
function openKeysOut(path: string): number {
  try {
    return openSync(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new KeygateError('VALIDATION_FAILED', `${path} exists; the keys file is never overwritten.`, 'keys-out');
    throw err;
  }
}

/**
 * Creates tokens from NDJSON (one token create body with `resourceId` a line) as principal `p`,
 * in batched transactions through TokenService.createMany (the API's checks, one audit record a
 * token). Each batch's keys are appended to the keys file and synced to disk after the batch has
 * committed, and before its progress is shown; keys never go anywhere else.
 */
export async function importTokens(
  kg: Keygate,
  p: Principal,
  opts: ImportOptions,
  io: ImportIo,
): Promise<ImportSummary> {
  // The input is looked at first: a missing file must not leave an empty keys file behind.
  const stat = opts.input === '-' ? null : statSync(opts.input);
  if (stat?.isDirectory()) throw new KeygateError('VALIDATION_FAILED', `${opts.input} is a directory.`, 'file');
  const fd = openKeysOut(opts.keysOut);
  const started = Date.now();
  let lines = 0;
  let imported = 0;
  let refused = 0;
  let stopped = false;
  let bytes = 0;
  let failure: unknown;
  try {
    const stream: Readable = opts.input === '-' ? process.stdin : createReadStream(opts.input);
    const size = stat?.isFile() ? stat.size : null;
    const progress = opts.progress || io.isTTY === true ? new Progress(io, size) : null;
    const refuse = (message: string) => {
      progress?.interrupt();
      io.err(message);
      refused++;
    };

    let batch: Parsed[] = [];
    const flush = async (): Promise<void> => {
      const good = batch.filter((b): b is Extract<Parsed, { input: TokenInput }> => 'input' in b);
      const bad = batch.filter((b): b is Extract<Parsed, { problem: string }> => 'problem' in b);
      batch = [];
      // In strict mode a batch already holding an unreadable line is not even checked further.
      const { results } =
        opts.strict && bad.length > 0
          ? { results: [] }
          : await kg.tokens.createMany(
              p,
              good.map((g) => ({ resourceId: g.resourceId, input: g.input })),
              null,
              { atomic: opts.strict },
            );
      const keys: string[] = [];
      const refusals = bad.map((b) => ({ line: b.line, text: `line ${b.line}: ${b.problem}` }));
      for (const [i, r] of results.entries()) {
        const line = good[i]!.line;
        if (r.ok) keys.push(`${JSON.stringify({ line, id: r.id, key: r.key })}\n`);
        else refusals.push({ line, text: refusal(line, r.error) });
      }
      refusals.sort((a, b) => a.line - b.line);
      if (opts.strict && refusals.length > 0) {
        refuse(refusals[0]!.text);
        stopped = true;
        return;
      }
      for (const r of refusals) refuse(r.text);
      if (keys.length > 0) {
        writeSync(fd, keys.join(''));
        fsyncSync(fd);
      }
      imported += keys.length;
      progress?.show(imported, bytes);
    };

    try {
      for await (const text of linesOf(stream)) {
        lines++;
        bytes += text.length + 1;
        if (text.trim() === '') continue;
        batch.push(parseLine(text, lines));
        if (batch.length >= opts.batchSize) {
          await flush();
          if (stopped) break;
        }
      }
      if (!stopped && batch.length > 0) await flush();
    } catch (err) {
      // The batches before it are in, their keys in the file: the summary must still say how many.
      failure = err;
      progress?.interrupt();
    }
    if (opts.input !== '-') stream.destroy();
    if (failure === undefined) progress?.show(imported, bytes, true);
  } finally {
    closeSync(fd);
  }
  return { lines, imported, refused, stopped, seconds: (Date.now() - started) / 1000, failure };
}

/**
 * The lines of a stream (without their line ends, `\r\n` or `\n`), read chunk by chunk as they are
 * asked for: the stream's own async iterator keeps the read paced by the batches' commits, where
 * readline's iterator queues the lines the stream delivers meanwhile (how many depends on the Node
 * version).
 */
async function* linesOf(stream: Readable): AsyncGenerator<string> {
  let rest = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream as AsyncIterable<string>) {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop()!;
    for (const part of parts) yield part.endsWith('\r') ? part.slice(0, -1) : part;
  }
  if (rest !== '') yield rest.endsWith('\r') ? rest.slice(0, -1) : rest;
}

/** The line printed at the end of every import, on stdout. */
export function summaryLine(s: ImportSummary, keysOut: string): string {
  const rate = s.seconds > 0 ? Math.round(s.imported / s.seconds) : s.imported;
  return [
    `imported ${s.imported} tokens from ${s.lines} lines in ${s.seconds.toFixed(1)} s (${rate} tokens/s)`,
    `${s.refused} refused${s.stopped ? ' (--strict: stopped at the first)' : ''}`,
    ...(s.failure === undefined ? [] : ['stopped by the error below']),
    `keys in ${keysOut}`,
  ].join('; ');
}
