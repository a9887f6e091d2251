import ipaddr from 'ipaddr.js';
import type { CredentialSource } from '../domain/credentials.js';
import { IDENTITY_PREFIX } from './identity.js';

/**
 * Headers that concern one connection, not the message (RFC 9110 §7.6.1), plus those undici
 * refuses to be handed: never forwarded in either direction. Names listed in a `Connection`
 * header are removed too.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Credential headers of keygate's own: the upstream never sees them, used or not. */
const KEY_HEADERS = new Set(['x-api-key', 'x-apikey']);
const KEYGATE_AUTH_RE = /^\s*(apitoken|bearer)[ \t]/i;

type HeaderValue = string | string[] | undefined;

/** Names a `Connection` header lists (lower case). */
function connectionListed(value: HeaderValue): Set<string> {
  const names = new Set<string>();
  for (const v of Array.isArray(value) ? value : value ? [value] : [])
    for (const name of v.split(',')) names.add(name.trim().toLowerCase());
  return names;
}

/** Whether an address is one of the configured proxies whose X-Forwarded-* may be believed. */
export function proxyTrust(cidrs: readonly string[]): (address: string | undefined) => boolean {
  const ranges = cidrs.map((c) =>
    c.includes('/') ? ipaddr.parseCIDR(c) : ipaddr.parseCIDR(`${c}/${c.includes(':') ? 128 : 32}`),
  );
  if (ranges.length === 0) return () => false;
  return (address) => {
    if (!address || !ipaddr.isValid(address)) return false;
    let ip = ipaddr.parse(address);
    if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
    return ranges.some(([range, bits]) => range.kind() === ip.kind() && ip.match(range, bits));
  };
}

export interface ForwardingFacts {
  /** The request's headers as Node parsed them. */
  headers: Record<string, HeaderValue>;
  /** Where the key was found: those carriers are removed. */
  sources: readonly CredentialSource[];
  /** The peer's address and whether it is a trusted proxy. */
  remoteAddress: string | undefined;
  trustedPeer: boolean;
  /** `http` or `https`, as the client reached the gateway. */
  protocol: string;
  /** The upstream's `host[:port]`. */
  upstreamHost: string;
  /** Replaces the body's length when the gateway rewrote it (a consumed JSON or form field). */
  contentLength?: number | undefined;
}

/**
 * The headers sent upstream: hop-by-hop headers, keygate's credential headers and any client
 * `X-Keygate-*` (which would forge an identity) removed; X-Forwarded-For/-Proto/-Host and Via set,
 * believing a client's own X-Forwarded-* and Forwarded only from a trusted proxy.
 */
export function forwardRequestHeaders(f: ForwardingFacts): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionListed(f.headers.connection);
  const usedAuthorization = f.sources.includes('header:authorization');
  for (const [name, value] of Object.entries(f.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || KEY_HEADERS.has(name)) continue;
    if (name.startsWith(IDENTITY_PREFIX) || name === 'host' || name === 'expect') continue;
    if (name.startsWith('x-forwarded-') || name === 'forwarded') {
      if (f.trustedPeer) out[name] = value;
      continue;
    }
    if (name === 'authorization' && (usedAuthorization || KEYGATE_AUTH_RE.test(String(value)))) continue;
    out[name] = value;
  }
  out.host = f.upstreamHost;
  const remote = f.remoteAddress ?? '';
  const priorFor = f.trustedPeer ? f.headers['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = priorFor ? `${[priorFor].flat().join(', ')}, ${remote}` : remote;
  if (!(f.trustedPeer && f.headers['x-forwarded-proto'])) out['x-forwarded-proto'] = f.protocol;
  const host = f.headers.host;
  if (!(f.trustedPeer && f.headers['x-forwarded-host']) && typeof host === 'string') out['x-forwarded-host'] = host;
  const via = f.headers.via;
  out.via = via ? `${[via].flat().join(', ')}, 1.1 keygate` : '1.1 keygate';
  if (f.contentLength !== undefined) out['content-length'] = String(f.contentLength);
  return out;
}

/** The upstream's answer headers as they go to the client: hop-by-hop headers removed, Via added. */
export function forwardResponseHeaders(headers: Record<string, HeaderValue>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionListed(headers.connection);
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  const via = headers.via;
  out.via = via ? `${[via].flat().join(', ')}, 1.1 keygate` : '1.1 keygate';
  return out;
}

/**
 * The query string without the parameters the key was read from (`key`, `apiToken`), other
 * parameters kept byte for byte and in order. `query` excludes the `?`.
 */
export function stripQueryKeys(query: string, sources: readonly CredentialSource[]): string {
  const drop = new Set<string>();
  if (sources.includes('query:key')) drop.add('key');
  if (sources.includes('query:apiToken')) drop.add('apiToken');
  if (drop.size === 0 || query === '') return query;
  return query
    .split('&')
    .filter((part) => {
      const name = part.split('=', 1)[0]!;
      let decoded: string;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, ' '));
      } catch {
        return true;
      }
      return !drop.has(decoded);
    })
    .join('&');
}
