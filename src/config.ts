import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDuration } from './domain/expiry.js';
import { DEFAULT_MODEL, modelProblems, type AccessModel } from './domain/model.js';

/** Everything the server can be told, with its defaults. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  /** Prefix of generated keys. */
  keyPrefix: string;
  /** Server secret for HMAC key hashes; plain SHA-256 without one. */
  keySecret: string | undefined;
  allowQueryKeys: boolean;
  /** Whether administrators may choose a key value, and its minimum length. */
  customKeys: { allowed: boolean; minLength: number };
  /** Longest lifetime a token may be given, in ms; null for no limit. */
  maxTokenLifetimeMs: number | null;
  /** Recoverable keys: the key is also stored encrypted with this 32-byte key. */
  recoverableKeys: boolean;
  encryptionKey: Buffer | undefined;
  sessionTtlMs: number;
  secureCookies: boolean;
  /** How long a cached token or user may be used before it is read again (bounds staleness across instances). */
  cacheTtlMs: number;
  /** How often coalesced last-used writes are flushed. */
  usageFlushMs: number;
  logLevel: string;
  logRequests: boolean;
  bodyLimit: number;
  trustProxy: boolean;
  model: AccessModel;
}

type Env = Record<string, string | undefined>;

/** A configuration problem found at start, reported before anything listens. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function bool(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false, not ${JSON.stringify(value)}`);
}

function int(value: string | undefined, fallback: number, name: string, min = 0): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new ConfigError(`${name} must be an integer ≥ ${min}, not ${JSON.stringify(value)}`);
  return n;
}

function duration(value: string | undefined, fallback: number | null, name: string): number | null {
  if (value === undefined || value === '') return fallback;
  if (value === 'none' || value === 'never') return null;
  const ms = parseDuration(value);
  if (ms === null || ms <= 0)
    throw new ConfigError(`${name} must be a duration such as 90d, 1y or 12h, not ${JSON.stringify(value)}`);
  return ms;
}

function encryptionKey(value: string | undefined): Buffer | undefined {
  if (!value) return undefined;
  const buf = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64');
  if (buf.length !== 32) throw new ConfigError('KEYGATE_ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64');
  return buf;
}

/**
 * Reads the configuration: a JSON file (`KEYGATE_CONFIG`) may set anything, including the access
 * model (resource types, permissions, levels, API groups); environment variables override it.
 */
export function loadConfig(env: Env = process.env): Config {
  let file: Record<string, unknown> = {};
  if (env.KEYGATE_CONFIG) {
    try {
      file = JSON.parse(readFileSync(resolve(env.KEYGATE_CONFIG), 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`cannot read KEYGATE_CONFIG ${env.KEYGATE_CONFIG}: ${(err as Error).message}`);
    }
  }
  // File keys use the environment variable names, so one vocabulary documents both.
  const get = (name: string): string | undefined =>
    env[name] ?? (file[name] === undefined ? undefined : String(file[name]));
  const model: AccessModel = {
    resourceTypes: (file.resourceTypes as AccessModel['resourceTypes']) ?? DEFAULT_MODEL.resourceTypes,
    permissions: { ...DEFAULT_MODEL.permissions, ...((file.permissions as AccessModel['permissions']) ?? {}) },
    levels: (file.levels as AccessModel['levels']) ?? DEFAULT_MODEL.levels,
    apiGroups: { ...DEFAULT_MODEL.apiGroups, ...((file.apiGroups as AccessModel['apiGroups']) ?? {}) },
  };
  const problems = modelProblems(model);
  if (problems.length > 0)
    throw new ConfigError(`the access model in KEYGATE_CONFIG is not sound: ${problems.join('; ')}`);

  const keyPrefix = get('KEYGATE_KEY_PREFIX') ?? 'kg_';
  if (!/^[a-z][a-z0-9]{0,9}_$/.test(keyPrefix))
    throw new ConfigError('KEYGATE_KEY_PREFIX must be lower-case letters and digits ending in _, such as kg_');
  const recoverableKeys = bool(get('KEYGATE_RECOVERABLE_KEYS'), false, 'KEYGATE_RECOVERABLE_KEYS');
  const encKey = encryptionKey(get('KEYGATE_ENCRYPTION_KEY'));
  if (recoverableKeys && !encKey)
    throw new ConfigError('KEYGATE_RECOVERABLE_KEYS needs KEYGATE_ENCRYPTION_KEY (32 bytes, hex or base64)');

  return {
    port: int(get('PORT'), 8080, 'PORT'),
    host: get('HOST') ?? '0.0.0.0',
    dataDir: resolve(get('KEYGATE_DATA_DIR') ?? './data'),
    databaseUrl: get('KEYGATE_DATABASE_URL') || undefined,
    adminEmail: get('KEYGATE_ADMIN_EMAIL') || undefined,
    adminPassword: get('KEYGATE_ADMIN_PASSWORD') || undefined,
    keyPrefix,
    keySecret: get('KEYGATE_KEY_SECRET') || undefined,
    allowQueryKeys: bool(get('KEYGATE_ALLOW_QUERY_KEYS'), true, 'KEYGATE_ALLOW_QUERY_KEYS'),
    customKeys: {
      allowed: bool(get('KEYGATE_ALLOW_CUSTOM_KEYS'), true, 'KEYGATE_ALLOW_CUSTOM_KEYS'),
      minLength: int(get('KEYGATE_CUSTOM_KEY_MIN_LENGTH'), 24, 'KEYGATE_CUSTOM_KEY_MIN_LENGTH', 16),
    },
    maxTokenLifetimeMs: duration(get('KEYGATE_MAX_TOKEN_LIFETIME'), null, 'KEYGATE_MAX_TOKEN_LIFETIME'),
    recoverableKeys,
    encryptionKey: encKey,
    sessionTtlMs: duration(get('KEYGATE_SESSION_TTL'), 12 * 3_600_000, 'KEYGATE_SESSION_TTL') ?? 12 * 3_600_000,
    secureCookies: bool(get('KEYGATE_SECURE_COOKIES'), false, 'KEYGATE_SECURE_COOKIES'),
    cacheTtlMs: int(get('KEYGATE_CACHE_TTL_MS'), 30_000, 'KEYGATE_CACHE_TTL_MS'),
    usageFlushMs: int(get('KEYGATE_USAGE_FLUSH_MS'), 5_000, 'KEYGATE_USAGE_FLUSH_MS', 10),
    logLevel: get('KEYGATE_LOG_LEVEL') ?? 'info',
    logRequests: bool(get('KEYGATE_LOG_REQUESTS'), false, 'KEYGATE_LOG_REQUESTS'),
    bodyLimit: int(get('KEYGATE_BODY_LIMIT'), 1_048_576, 'KEYGATE_BODY_LIMIT', 1024),
    trustProxy: bool(get('KEYGATE_TRUST_PROXY'), false, 'KEYGATE_TRUST_PROXY'),
    model,
  };
}
