import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKey } from '../../src/domain/keys.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import type { Keygate } from '../../src/keygate.js';
import { asUser, email, PASSWORD } from '../support/client.js';
import { noteSecret } from '../support/secret-scan.js';

/** A valid key of a fresh admin's unattached token (any route a token may call accepts it). */
export async function validKey(kg: Keygate): Promise<string> {
  const admin = await kg.users.create({ email: email('admin'), password: PASSWORD, systemRole: 'admin' }, 'system');
  const { key } = await kg.tokens.create(await asUser(kg, admin.id), null, { name: 'throttle test' }, null);
  noteSecret(key);
  return key;
}

/** A well-formed key that belongs to no token. */
export function unknownKey(): string {
  return generateKey('kg_');
}

/** GET /me presenting `key` from `address` (app.inject sets the peer address). */
export async function me(app: FastifyTypebox, address: string, key?: string, headers: Record<string, string> = {}) {
  const res = await app.inject({
    method: 'GET',
    url: '/api/v1.0/me',
    remoteAddress: address,
    headers: { ...(key === undefined ? {} : { 'x-api-key': key }), ...headers },
  });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

/** The value of keygate_limited_total for one kind. */
export async function limited(kg: Keygate, kind: 'refused_keys' | 'sign_in'): Promise<number> {
  const metric = await kg.metrics.limited.get();
  return metric.values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

/** Waits until the keygate's Redis connection has noticed the server is gone (commands then fail at once). */
export async function redisLost(kg: Keygate): Promise<void> {
  const redis = kg.redis;
  assert.ok(redis);
  if (redis.status === 'ready' || redis.status === 'connecting' || redis.status === 'connect')
    await once(redis, 'close');
}

/** Waits until the keygate's Redis connection is ready again. */
export async function redisBack(kg: Keygate): Promise<void> {
  const redis = kg.redis;
  assert.ok(redis);
  if (redis.status !== 'ready') await once(redis, 'ready');
}
