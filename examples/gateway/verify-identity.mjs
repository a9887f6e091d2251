// How an upstream behind keygate's gateway trusts the identity it is handed: check the HMAC-SHA256
// signature over the identity headers, the method and the path, and refuse anything older than 5 minutes.
import { createHmac, timingSafeEqual } from 'node:crypto';

const NAMES = ['token-id', 'owner-id', 'user-id', 'resource-id', 'scope-id', 'permissions', 'request-id'];

/** The identity of a request (Node's IncomingMessage) as the gateway signed it, or null when forged, replayed late or missing. */
export function keygateIdentity(req, secret, nowSeconds = Date.now() / 1000) {
  const header = (name) => String(req.headers[`x-keygate-${name}`] ?? '');
  const timestamp = Number(header('timestamp'));
  if (!Number.isSafeInteger(timestamp) || Math.abs(nowSeconds - timestamp) > 300) return null;
  const fields = NAMES.map(header);
  const payload = ['keygate-v1', timestamp, req.method, req.url, ...fields].join('\n');
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(payload).digest('hex')}`);
  const given = Buffer.from(header('signature'));
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  return Object.fromEntries(NAMES.map((name, i) => [name, fields[i]]));
}
