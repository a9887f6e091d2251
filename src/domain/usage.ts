/** How requests are counted into a token's usage buckets. Pure: no clock, no I/O. */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Buckets kept and shown: 48 hours, 90 days. */
export const HOURS_SHOWN = 48;
export const DAYS_SHOWN = 90;

export type UsageSpan = 'hour' | 'day';

/** What one request adds to a bucket. */
export interface UsageCounts {
  requests: number;
  refusals: number;
  errors: number;
}

/** One bucket's counts to add: a token, a span and the bucket's start (epoch ms, UTC). */
export interface UsageDelta extends UsageCounts {
  tokenId: string;
  span: UsageSpan;
  bucket: number;
}

/** The last accepted use of a token in a batch. */
export interface LastUse {
  tokenId: string;
  at: number;
  ip: string | null;
}

/** The fields of an access-log record usage is made from. */
export interface UsageRecord {
  at: number;
  token_id: string | null;
  status: number;
  outcome: string;
  ip: string | null;
}

/** The key decision that means "accepted". */
export const ACCEPTED = 'VALID';

/**
 * Sorts one request: every request counts once in `requests`; a key refused (any outcome but
 * VALID answered 401, 403 or 429) is a refusal; any other 4xx or 5xx answer is an error.
 */
export function classify(status: number, outcome: string): UsageCounts {
  const refusal = outcome !== ACCEPTED && (status === 401 || status === 403 || status === 429);
  return { requests: 1, refusals: refusal ? 1 : 0, errors: !refusal && status >= 400 ? 1 : 0 };
}

/** The start of the bucket `at` falls in (UTC hours and days). */
export function bucketStart(at: number, span: UsageSpan): number {
  const size = span === 'hour' ? HOUR_MS : DAY_MS;
  return Math.floor(at / size) * size;
}

/**
 * Sums a batch of records into hour and day buckets per token, and finds each token's newest
 * accepted use. Records without a token (keys that resolved to none) count nowhere.
 */
export function summarize(records: readonly UsageRecord[]): { deltas: UsageDelta[]; lastUses: LastUse[] } {
  const deltas = new Map<string, UsageDelta>();
  const lastUses = new Map<string, LastUse>();
  for (const r of records) {
    if (r.token_id === null) continue;
    const counts = classify(r.status, r.outcome);
    for (const span of ['hour', 'day'] as const) {
      const bucket = bucketStart(r.at, span);
      const key = `${r.token_id}\u0000${span}\u0000${bucket}`;
      const d = deltas.get(key);
      if (d) {
        d.requests += counts.requests;
        d.refusals += counts.refusals;
        d.errors += counts.errors;
      } else deltas.set(key, { tokenId: r.token_id, span, bucket, ...counts });
    }
    if (r.outcome === ACCEPTED) {
      const last = lastUses.get(r.token_id);
      if (!last || r.at >= last.at) lastUses.set(r.token_id, { tokenId: r.token_id, at: r.at, ip: r.ip });
    }
  }
  return { deltas: [...deltas.values()], lastUses: [...lastUses.values()] };
}

/**
 * `count` consecutive buckets ending with the one `now` falls in, oldest first, filled from the
 * stored rows (absent buckets are zeros).
 */
export function series(
  rows: readonly { bucket: number; requests: number; refusals: number; errors: number }[],
  span: UsageSpan,
  count: number,
  now: number,
): { start: number; requests: number; refusals: number; errors: number }[] {
  const size = span === 'hour' ? HOUR_MS : DAY_MS;
  const last = bucketStart(now, span);
  const byBucket = new Map(rows.map((r) => [Number(r.bucket), r]));
  const out = [];
  for (let start = last - (count - 1) * size; start <= last; start += size) {
    const r = byBucket.get(start);
    out.push({
      start,
      requests: Number(r?.requests ?? 0),
      refusals: Number(r?.refusals ?? 0),
      errors: Number(r?.errors ?? 0),
    });
  }
  return out;
}
