import { Readable } from 'node:stream';
import { fail } from '../domain/errors.js';

/**
 * What reading the access log and reading the audit trail share: opaque keyset cursors, time
 * ranges, pages and streamed exports. Each log supplies its own filters and record shape.
 */

/** A position in a newest-first log: the (at, id) of the last row shown. */
export interface Position<At extends number | string> {
  at: At;
  id: string;
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 500;
/** Rows read per query by an export: big enough to be quick, small enough to keep memory flat. */
export const EXPORT_BATCH = 1_000;

/** Encodes a position as an opaque, URL-safe cursor. */
export function encodeCursor(p: Position<number | string>): string {
  return Buffer.from(JSON.stringify([p.at, p.id])).toString('base64url');
}

/** Decodes a cursor made by encodeCursor for a log whose times are of kind `at`; anything else is a 400 on `cursor`. */
export function decodeCursor<K extends 'number' | 'string'>(
  cursor: string,
  at: K,
): Position<K extends 'number' ? number : string> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const ok =
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === at &&
    (typeof value[0] !== 'number' || Number.isSafeInteger(value[0])) &&
    typeof value[1] === 'string' &&
    value[1].length <= 64;
  if (!ok) fail('VALIDATION_FAILED', 'cursor: is not a cursor this log gave out.', 'cursor');
  const [position, id] = value as [K extends 'number' ? number : string, string];
  return { at: position, id };
}

/** Parses an ISO 8601 time of a query field to epoch ms, or fails naming the field. */
export function parseTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  // Date.parse accepts loose forms too ("2026", "March 3"); a query field wants a full time.
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/i.test(value)
    ? Date.parse(value)
    : Number.NaN;
  if (Number.isNaN(ms))
    fail('VALIDATION_FAILED', `${field}: must be an ISO 8601 time such as 2026-01-31T12:00:00Z.`, field);
  return ms;
}

/** The range [from, to] of a query in epoch ms; `from` after `to` is a 400 on `from`. */
export function parseTimeRange(from: string | undefined, to: string | undefined): { fromMs?: number; toMs?: number } {
  const fromMs = parseTime(from, 'from');
  const toMs = parseTime(to, 'to');
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs)
    fail('VALIDATION_FAILED', 'from: must not be later than to.', 'from');
  return { ...(fromMs !== undefined ? { fromMs } : {}), ...(toMs !== undefined ? { toMs } : {}) };
}

/** The page size asked for, within bounds. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
    fail('VALIDATION_FAILED', `limit: must be an integer from 1 to ${MAX_PAGE}.`, 'limit');
  return limit;
}

/** Reads one page of rows older than a position (all rows when undefined), newest first, at most `limit`. */
export type PageReader<Row, At extends number | string> = (
  before: Position<At> | undefined,
  limit: number,
) => Promise<Row[]>;

/** One page of a log: reads one row more than it shows to know whether another page follows. */
export async function readPage<Row extends Position<At>, At extends number | string>(
  read: PageReader<Row, At>,
  before: Position<At> | undefined,
  limit: number,
): Promise<{ rows: Row[]; nextCursor: string | null }> {
  const rows = await read(before, limit + 1);
  if (rows.length <= limit) return { rows, nextCursor: null };
  rows.length = limit;
  const last = rows[limit - 1] as Row;
  return { rows, nextCursor: encodeCursor({ at: last.at, id: last.id }) };
}

export type ExportFormat = 'ndjson' | 'csv';

/** Quotes one CSV field (RFC 4180): fields holding a comma, quote or line break go in quotes, quotes doubled. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // A leading =, +, - or @ would run as a formula when the file is opened in a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(text) && typeof value === 'string' ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One CSV line of fields, CRLF-terminated as RFC 4180 says. */
export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(',')}\r\n`;
}

/**
 * Streams every row a reader yields, newest first, as NDJSON or CSV (with a header of `columns`).
 * Rows are read in keyset batches only when the consumer asks for more (Readable.from pulls the
 * generator as the socket drains), so memory stays flat whatever the size of the log.
 */
export function exportStream<Row extends Position<At>, At extends number | string>(
  read: PageReader<Row, At>,
  toRecord: (row: Row) => Record<string, unknown>,
  columns: readonly string[],
  format: ExportFormat,
): Readable {
  async function* lines(): AsyncGenerator<string> {
    if (format === 'csv') yield csvLine(columns);
    let position: Position<At> | undefined;
    for (;;) {
      const rows = await read(position, EXPORT_BATCH);
      if (rows.length === 0) return;
      let chunk = '';
      for (const row of rows) {
        const record = toRecord(row);
        chunk += format === 'csv' ? csvLine(columns.map((c) => record[c])) : `${JSON.stringify(record)}\n`;
      }
      yield chunk;
      if (rows.length < EXPORT_BATCH) return;
      const last = rows[rows.length - 1] as Row;
      position = { at: last.at, id: last.id };
    }
  }
  return Readable.from(lines(), { objectMode: false, highWaterMark: 64 * 1024 });
}

/** The Content-Type and file name of an export. */
export function exportHeaders(log: string, format: ExportFormat, now: Date): Record<string, string> {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return {
    'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'content-disposition': `attachment; filename="keygate-${log}-log-${stamp}.${format}"`,
  };
}
