import { Pool } from 'undici';
import type { GatewayConfig, UpstreamConfig } from './config.js';
import type { RouteMatch } from './types.js';

/** Finds the route a request takes; the derived or configured table of one upstream. */
export interface RouteMatcher {
  match(method: string, path: string): RouteMatch | null;
}

/** What the gateway last learnt of an upstream: from the requests it forwarded and its own probes. */
export interface UpstreamHealth {
  name: string;
  url: string;
  state: 'up' | 'down' | 'unknown';
  /** When the state was last learnt (ISO 8601), null before the first request or probe. */
  checkedAt: string | null;
  /** Why it is down, in words without request data (an error code). */
  error: string | null;
}

/** One upstream at run time: its table, its pool of keep-alive connections and its health. */
export class Upstream {
  readonly origin: string;
  /** The Host header the upstream expects. */
  readonly hostHeader: string;
  /** The path of the upstream's URL, put before every forwarded path ('' for none). */
  readonly basePath: string;
  readonly pool: Pool;
  private state: UpstreamHealth;
  private lastUp = 0;

  constructor(
    readonly config: UpstreamConfig,
    readonly table: RouteMatcher,
    gateway: GatewayConfig,
  ) {
    const url = new URL(config.url);
    this.origin = url.origin;
    this.hostHeader = url.host;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(this.origin, {
      connect: { timeout: gateway.connectTimeoutMs },
      headersTimeout: gateway.responseTimeoutMs,
      bodyTimeout: gateway.responseTimeoutMs,
      keepAliveTimeout: 30_000,
    });
    this.state = { name: config.name, url: this.origin, state: 'unknown', checkedAt: null, error: null };
  }

  get health(): UpstreamHealth {
    return { ...this.state };
  }

  /** Notes how the last exchange with the upstream went (on every request: cheap unless the state changes). */
  learn(error: string | null): void {
    if (error === null && this.state.state === 'up' && this.lastUp + 1000 > Date.now()) return;
    if (error === null) this.lastUp = Date.now();
    this.state = {
      ...this.state,
      state: error === null ? 'up' : 'down',
      checkedAt: new Date().toISOString(),
      error,
    };
  }

  /** Asks the upstream whether it answers at all (any HTTP status counts as up). */
  async probe(): Promise<void> {
    try {
      const res = await this.pool.request({ path: this.basePath || '/', method: 'HEAD' });
      await res.body.dump();
      this.learn(null);
    } catch (err) {
      this.learn(upstreamErrorCode(err));
    }
  }
}

/** The undici error code of a failed exchange (never its message, which may quote a URL). */
export function upstreamErrorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e.code === 'string') return e.code;
  if (typeof e.cause?.code === 'string') return e.cause.code;
  return 'UNKNOWN';
}

/** Whether a failed exchange means "too slow" (504) rather than "cannot be reached" (502). */
export function isTimeout(code: string): boolean {
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}

/**
 * A path the gateway refuses to interpret, for plain requests and upgrades alike: not starting
 * with `/`, empty segments or dot segments (also percent-encoded), which upstreams resolve differently.
 */
export function ambiguousPath(path: string): boolean {
  if (path.charCodeAt(0) !== 47 /* / */) return true;
  return /\/\/|\/\.\.?(\/|$)|\/%2e(%2e)?(\/|$)/i.test(path);
}

/**
 * Chooses the upstream for a request: an upstream bound to the request's host first, then the
 * longest matching path prefix; an upstream with neither takes what no other does.
 */
export function upstreamPicker(
  upstreams: readonly Upstream[],
): (host: string | undefined, path: string) => Upstream | null {
  const byPrefix = (list: readonly Upstream[], path: string): Upstream | null => {
    let best: Upstream | null = null;
    let bestLength = -1;
    for (const u of list) {
      const prefix = u.config.pathPrefix;
      if (prefix === undefined) {
        if (bestLength < 0) best = u;
        continue;
      }
      if (
        (path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) &&
        prefix.length > bestLength
      ) {
        best = u;
        bestLength = prefix.length;
      }
    }
    return best;
  };
  const hosted = upstreams.filter((u) => u.config.host !== undefined);
  const unhosted = upstreams.filter((u) => u.config.host === undefined);
  if (hosted.length === 0) return (_host, path) => byPrefix(unhosted, path);
  return (host, path) => {
    const name = host?.replace(/:\d+$/, '').toLowerCase();
    const mine = hosted.filter((u) => u.config.host === name);
    return (mine.length > 0 ? byPrefix(mine, path) : null) ?? byPrefix(unhosted, path);
  };
}
