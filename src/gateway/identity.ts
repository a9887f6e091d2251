import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The identity the gateway passes upstream with every request it admits, and the signature that
 * lets the upstream trust it. The signature covers the method and the path as forwarded, so a
 * captured set of headers cannot be replayed on another endpoint; the timestamp bounds replay on
 * the same one (upstreams refuse anything older than their window, 5 minutes by default).
 */
export interface Identity {
  tokenId: string;
  ownerId: string;
  /** Whose rights the token acts with: the impersonated user, else the owner. */
  userId: string;
  /** The resource the request was judged on (the route's target, or the token's own resource). */
  resourceId: string;
  /** The token's own resource (its scope): list endpoints filter by it. */
  scopeId: string;
  /** What the token may do on the target, now. */
  permissions: readonly string[];
  requestId: string;
}

export const IDENTITY_HEADERS = {
  tokenId: 'x-keygate-token-id',
  ownerId: 'x-keygate-owner-id',
  userId: 'x-keygate-user-id',
  resourceId: 'x-keygate-resource-id',
  scopeId: 'x-keygate-scope-id',
  permissions: 'x-keygate-permissions',
  requestId: 'x-keygate-request-id',
  timestamp: 'x-keygate-timestamp',
  signature: 'x-keygate-signature',
} as const;

/** Every header name the gateway sets; a client's own copies are removed before forwarding. */
export const IDENTITY_PREFIX = 'x-keygate-';

/** The exact text that is signed: one field per line, in a fixed order. */
export function identityPayload(id: Identity, timestamp: number, method: string, path: string): string {
  return [
    'keygate-v1',
    String(timestamp),
    method,
    path,
    id.tokenId,
    id.ownerId,
    id.userId,
    id.resourceId,
    id.scopeId,
    id.permissions.join(','),
    id.requestId,
  ].join('\n');
}

/** The headers that carry an identity, signed with HMAC-SHA256 at `timestamp` (seconds since the epoch). */
export function identityHeaders(
  secret: string,
  id: Identity,
  timestamp: number,
  method: string,
  path: string,
): Record<string, string> {
  const signature = createHmac('sha256', secret)
    .update(identityPayload(id, timestamp, method, path))
    .digest('hex');
  return {
    [IDENTITY_HEADERS.tokenId]: id.tokenId,
    [IDENTITY_HEADERS.ownerId]: id.ownerId,
    [IDENTITY_HEADERS.userId]: id.userId,
    [IDENTITY_HEADERS.resourceId]: id.resourceId,
    [IDENTITY_HEADERS.scopeId]: id.scopeId,
    [IDENTITY_HEADERS.permissions]: id.permissions.join(','),
    [IDENTITY_HEADERS.requestId]: id.requestId,
    [IDENTITY_HEADERS.timestamp]: String(timestamp),
    [IDENTITY_HEADERS.signature]: `v1=${signature}`,
  };
}

/**
 * What an upstream does with the headers: check the signature and the timestamp, and read the
 * identity, or null when anything is missing, forged or too old. Node's lower-case header names.
 */
export function verifyIdentity(
  secret: string,
  headers: Record<string, string | string[] | undefined>,
  method: string,
  path: string,
  nowSeconds: number = Math.floor(Date.now() / 1000),
  windowSeconds = 300,
): Identity | null {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const timestamp = Number(one(IDENTITY_HEADERS.timestamp));
  if (!Number.isSafeInteger(timestamp) || Math.abs(nowSeconds - timestamp) > windowSeconds) return null;
  const fields = [
    one(IDENTITY_HEADERS.tokenId),
    one(IDENTITY_HEADERS.ownerId),
    one(IDENTITY_HEADERS.userId),
    one(IDENTITY_HEADERS.resourceId),
    one(IDENTITY_HEADERS.scopeId),
    one(IDENTITY_HEADERS.permissions),
    one(IDENTITY_HEADERS.requestId),
  ];
  if (fields.some((f) => f === undefined)) return null;
  const [tokenId, ownerId, userId, resourceId, scopeId, permissions, requestId] = fields as string[];
  const id: Identity = {
    tokenId: tokenId!,
    ownerId: ownerId!,
    userId: userId!,
    resourceId: resourceId!,
    scopeId: scopeId!,
    permissions: permissions === '' ? [] : permissions!.split(','),
    requestId: requestId!,
  };
  const expected = Buffer.from(
    `v1=${createHmac('sha256', secret)
      .update(identityPayload(id, timestamp, method, path))
      .digest('hex')}`,
  );
  const given = Buffer.from(one(IDENTITY_HEADERS.signature) ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : null;
}
