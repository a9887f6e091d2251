import { createHmac, timingSafeEqual } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { randomBase62 } from './keys.js';

/**
 * The pure parts of sending a webhook: the signature (Stripe's scheme), the back-off between
 * attempts, the signing secret's shape, and which URLs and addresses a webhook may reach.
 */

export const SECRET_PREFIX = 'whsec_';
/** Shortest signing secret a caller may choose. */
export const MIN_SECRET_LENGTH = 24;
/** Signatures older than this are refused by receivers following the README. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** A new signing secret: `whsec_` and 32 base62 characters (190 bits). */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBase62(32)}`;
}

/** Hex HMAC-SHA256 of `${t}.${body}` under the secret. */
export function signPayload(secret: string, unixSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
}

/** The `Keygate-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`. */
export function signatureHeader(secret: string, unixSeconds: number, body: string): string {
  return `t=${unixSeconds},v1=${signPayload(secret, unixSeconds, body)}`;
}

/**
 * What a receiver does with the header: true when one v1 signature matches (compared in constant
 * time) and the timestamp is within the tolerance of `nowSeconds`.
 */
export function verifySignature(
  secret: string,
  body: string,
  header: string,
  nowSeconds: number,
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): boolean {
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isSafeInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, t, body), 'hex');
  return parts
    .filter(([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v))
    .some(([, v]) => timingSafeEqual(Buffer.from(v!, 'hex'), expected));
}

const FIRST_RETRY_MS = 10_000;
const LONGEST_WAIT_MS = 6 * 3_600_000;

/**
 * How long to wait after the `attempts`-th failed attempt: 10 s × 2^(attempts−1), capped at six
 * hours, stretched by up to 20 % (`random` in [0, 1)) so receivers coming back up are not hit by
 * every retry at once. Never shorter than the unjittered value, so a caller can reason about it.
 */
export function backoffMs(attempts: number, random: number): number {
  const base = Math.min(LONGEST_WAIT_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (1 + 0.2 * Math.min(Math.max(random, 0), 1)));
}

/** The address without IPv6 URL brackets, when it is a literal IP address; else null. */
export function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : null;
}

/**
 * Why a webhook may not reach this address when private ranges are blocked, or null when it may.
 * Only public unicast passes: loopback, private, link-local (cloud metadata), unique-local,
 * unspecified, CGNAT, multicast, reserved and the rest are refused; an IPv4-mapped IPv6 address
 * is judged as the IPv4 address it carries.
 */
export function refusedAddress(address: string): string | null {
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(address);
  } catch {
    return `${address} is not an IP address`;
  }
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  return range === 'unicast' ? null : `${parsed.toString()} is a ${range} address`;
}

/**
 * What is wrong with a webhook URL, or null: only http and https, no credentials in it, and
 * (unless `allowPrivate`) no literal private address or localhost name. Names are checked again
 * at delivery, after DNS resolution.
 */
export function webhookUrlProblem(text: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute http or https URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http or https';
  if (url.username !== '' || url.password !== '') return 'must not hold a user name or password';
  if (allowPrivate) return null;
  const host = url.hostname.toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return 'must not point at this machine (localhost)';
  const literal = ipLiteral(host);
  const refused = literal === null ? null : refusedAddress(literal);
  return refused === null ? null : `must not point at a private address: ${refused}`;
}
