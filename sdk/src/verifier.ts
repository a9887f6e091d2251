import { LRUCache } from 'lru-cache';
import type { Change } from '../../src/domain/change.js';
import { classifyKey } from '../../src/domain/keys.js';
import { createClient } from './client.js';
import { sha256Hex } from './hash.js';
import type { components } from './schema.gen.js';
import { readSse } from './sse.js';

/** keygate's answer about a key: `valid`, a stable `code`, and the token's facts when the verifier may see it. */
export type VerifyAnswer = components['schemas']['VerifyResponse'];

/** What a service asks about a key besides its validity. */
export interface VerifyQuestion {
  /** The resource the key wants to act on. */
  resourceId?: string | undefined;
  /** The permission it needs there. */
  permission?: string | undefined;
  /** The API group of the endpoint it calls. */
  apiGroup?: string | undefined;
  /** The address of the client that presented the key (needed for tokens with an IP allowlist). */
  ip?: string | undefined;
  /** Credits this use takes from a token with credits (default 1; 0 only checks). */
  cost?: number | undefined;
}

/** How a verifier reaches keygate and how long it may trust an answer. */
export interface VerifierOptions {
  /** The server's root, e.g. `https://keygate.example.com`. */
  baseUrl: string;
  /** The verifier's own key: a token holding keys:verify at its resource. */
  key: string;
  /** How long a valid answer is reused (default 5 s; while the event stream is down at most 1 s). */
  ttlMs?: number;
  /** How long a refusal is reused (default 1 s). */
  negativeTtlMs?: number;
  /** Most answers kept; the least recently used go first (default 10,000). */
  maxEntries?: number;
  /** Listen to GET /api/v1.0/events and drop answers the moment what they were based on changes (default true). */
  events?: boolean;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** Each verify request is given up after this long (default 5 s). */
  timeoutMs?: number;
  /** The server's generated-key prefix (KEYGATE_KEY_PREFIX, default `kg_`), for the offline format check. */
  keyPrefix?: string;
  /**
   * Whether the server accepts chosen keys and their least length (KEYGATE_ALLOW_CUSTOM_KEYS,
   * KEYGATE_CUSTOM_KEY_MIN_LENGTH). Default: allowed, 16 — the server's lowest setting, so nothing the
   * server might accept is refused offline.
   */
  customKeys?: { allowed: boolean; minLength: number };
  /** Hears why the event stream failed or closed (it reconnects on its own). */
  onStreamError?: (error: unknown) => void;
}

/** Counters for monitoring; `connected` says whether the event stream is open now. */
export interface VerifierStats {
  hits: number;
  misses: number;
  invalidations: number;
  connected: boolean;
}

/** A caching key verifier. */
export interface Verifier {
  /** Judges a key: malformed keys offline, then a cached answer, then keygate. Throws a `KeygateError` when keygate cannot answer. */
  verify(key: string, question?: VerifyQuestion): Promise<VerifyAnswer>;
  /** Stops the event stream; answers already cached stay usable. */
  close(): void;
  readonly stats: VerifierStats;
}

interface Entry {
  answer: VerifyAnswer;
  tokenId: string | undefined;
  /** The token's owner and the user it acts as: a change to either changes the answer. */
  userIds: string[];
}

const MALFORMED: VerifyAnswer = Object.freeze({ valid: false, code: 'MALFORMED' });
/** The TTL cap while the event stream is down: nothing would tell the cache of a change. */
const DISCONNECTED_TTL_MS = 1_000;
const MAX_RECONNECT_DELAY_MS = 30_000;

/**
 * A verifier for services that check keys themselves. Refuses malformed keys offline with the
 * server's own key-format code; caches positive and negative answers (keyed by a SHA-256 of the key
 * and question, never the key); and, with `events`, listens to keygate's change stream so a
 * deactivated token is refused within milliseconds rather than after the TTL. It reconnects with
 * Last-Event-ID and drops the whole cache when the server says it cannot replay the gap.
 * @example
 * const verifier = createVerifier({ baseUrl: 'http://localhost:3000', key: process.env.KEYGATE_VERIFIER_KEY! });
 * const answer = await verifier.verify(presentedKey, { resourceId: folderId, permission: 'resources:read' });
 * if (!answer.valid) console.log('refused:', answer.code);
 * verifier.close();
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const {
    baseUrl,
    key: verifierKey,
    ttlMs = 5_000,
    negativeTtlMs = 1_000,
    maxEntries = 10_000,
    events = true,
    timeoutMs = 5_000,
    keyPrefix = 'kg_',
    customKeys = { allowed: true, minLength: 16 },
  } = options;
  const root = baseUrl.replace(/\/+$/, '');
  const client = createClient({
    baseUrl: root,
    key: verifierKey,
    timeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const cache = new LRUCache<string, Entry>({ max: maxEntries, ttl: ttlMs, ttlAutopurge: false });
  const inflight = new Map<string, Promise<VerifyAnswer>>();
  // Questions whose answers said `cacheable: false` (a token with a rate limit, credits or an IP
  // allowlist): every use must reach keygate to be counted, so they are neither cached nor shared.
  const uncacheable = new LRUCache<string, true>({ max: maxEntries });
  const stats: VerifierStats = { hits: 0, misses: 0, invalidations: 0, connected: false };
  const stop = new AbortController();
  // Bumped by every invalidation: an answer asked for before one is not cached after it.
  let epoch = 0;

  const ttlFor = (answer: VerifyAnswer): number => {
    const ttl = answer.valid ? ttlMs : negativeTtlMs;
    return events && !stats.connected ? Math.min(ttl, DISCONNECTED_TTL_MS) : ttl;
  };

  const ask = async (key: string, question: VerifyQuestion, id: string): Promise<VerifyAnswer> => {
    const asked = epoch;
    const body = { key, ...definedOnly(question) };
    const { data } = await client.POST('/api/v1.0/verify', { body });
    const answer = data!;
    if (answer.cacheable === false) {
      uncacheable.set(id, true);
      return answer;
    }
    uncacheable.delete(id);
    if (asked === epoch && !stop.signal.aborted) {
      const owner = answer.token ? [answer.token.ownerId] : [];
      const actsAs = answer.token?.impersonateUserId ? [answer.token.impersonateUserId] : [];
      cache.set(id, { answer, tokenId: answer.token?.id, userIds: [...owner, ...actsAs] }, { ttl: ttlFor(answer) });
    }
    return answer;
  };

  const verify = async (key: string, question: VerifyQuestion = {}): Promise<VerifyAnswer> => {
    // NUL cannot occur in a key (generated or chosen), so the parts cannot run into each other.
    const { resourceId, permission, apiGroup } = question;
    const text =
      resourceId === undefined && permission === undefined && apiGroup === undefined
        ? key
        : `${key}\u0000${resourceId ?? ''}\u0000${permission ?? ''}\u0000${apiGroup ?? ''}`;
    const hashed = sha256Hex(text);
    const id = typeof hashed === 'string' ? hashed : await hashed;
    // The cache first: a malformed key is never cached, so a hit needs no format check.
    const hit = cache.get(id);
    if (hit) {
      stats.hits++;
      return hit.answer;
    }
    if (classifyKey(key, keyPrefix, customKeys) === 'malformed') return MALFORMED;
    stats.misses++;
    // Each use of a limited token is its own request: sharing one answer would count one use.
    if (uncacheable.has(id) || question.cost !== undefined) return ask(key, question, id);
    // The same key from the same client at once is one question (the client's address can change the answer).
    const flight = question.ip === undefined ? id : `${id}\u0000${question.ip}`;
    let pending = inflight.get(flight);
    if (!pending) {
      pending = ask(key, question, id).finally(() => inflight.delete(flight));
      inflight.set(flight, pending);
    }
    return pending;
  };

  /** Drops every entry the test matches. */
  const drop = (test: (entry: Entry) => boolean): void => {
    const doomed: string[] = [];
    for (const [id, entry] of cache.entries()) if (test(entry)) doomed.push(id);
    for (const id of doomed) cache.delete(id);
  };

  const apply = (change: Change): void => {
    epoch++;
    stats.invalidations++;
    switch (change.kind) {
      case 'token':
        drop((e) => e.tokenId === change.id);
        break;
      // A new key may now exist, so every "no such key" answer goes too.
      case 'keys':
        drop((e) => e.tokenId === change.tokenId || e.tokenId === undefined);
        break;
      case 'user':
        drop((e) => e.userIds.includes(change.id));
        break;
      case 'membership':
        drop((e) => e.userIds.includes(change.userId));
        break;
      default:
        // A resource (its place in the tree, hence every scope below it), or a kind this SDK does not know yet.
        cache.clear();
    }
  };

  const reset = (): void => {
    epoch++;
    stats.invalidations++;
    cache.clear();
  };

  const listen = async (): Promise<void> => {
    const doFetch = options.fetch ?? globalThis.fetch;
    let lastEventId: string | undefined;
    let retryMs = 1_000;
    let failures = 0;
    while (!stop.signal.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream', 'x-api-key': verifierKey };
        if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
        const response = await doFetch(`${root}/api/v1.0/events`, { headers, signal: stop.signal });
        const type = response.headers.get('content-type') ?? '';
        if (!response.ok || !response.body || !type.startsWith('text/event-stream')) {
          await response.body?.cancel().catch(() => {});
          throw new Error(`GET /api/v1.0/events answered ${response.status} ${type}`);
        }
        stats.connected = true;
        failures = 0;
        const stream = readSse(response.body, {
          lastEventId,
          onRetry: (ms) => {
            retryMs = ms;
          },
        });
        for await (const event of stream) {
          if (event.event === 'reset') reset();
          else if (event.event === 'changes') {
            const changes = (JSON.parse(event.data) as { changes?: unknown }).changes;
            if (Array.isArray(changes)) for (const change of changes as Change[]) apply(change);
          }
          // Only once handled: an event lost to a crash in between is replayed on reconnect.
          lastEventId = event.id;
        }
        throw new Error('the event stream ended');
      } catch (err) {
        // Whatever was missed is unknown: nothing may be trusted longer than the short TTL from here on.
        if (stats.connected) shortenTtls();
        stats.connected = false;
        if (stop.signal.aborted) return;
        options.onStreamError?.(err);
      }
      const delay = Math.min(retryMs * 2 ** failures, MAX_RECONNECT_DELAY_MS) * (0.5 + Math.random() / 2);
      failures++;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };

  /** Caps the remaining life of every entry at the disconnected TTL. */
  const shortenTtls = (): void => {
    const long = [...cache.entries()].filter(([id]) => cache.getRemainingTTL(id) > DISCONNECTED_TTL_MS);
    for (const [id, entry] of long) cache.set(id, entry, { ttl: DISCONNECTED_TTL_MS });
  };

  if (events) void listen();

  return {
    verify,
    close() {
      stop.abort();
      stats.connected = false;
    },
    stats,
  };
}

/** The question without absent fields: the server's schema refuses nothing, but the body stays minimal. */
function definedOnly(question: VerifyQuestion): VerifyQuestion {
  const out: VerifyQuestion = {};
  if (question.resourceId !== undefined) out.resourceId = question.resourceId;
  if (question.permission !== undefined) out.permission = question.permission;
  if (question.apiGroup !== undefined) out.apiGroup = question.apiGroup;
  if (question.ip !== undefined) out.ip = question.ip;
  if (question.cost !== undefined) out.cost = question.cost;
  return out;
}
