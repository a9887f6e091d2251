import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Type } from 'typebox';
import { parseDuration } from './domain/expiry.js';
import { DEFAULT_MODEL, modelProblems, type AccessModel } from './domain/model.js';
import { firstProblem } from './domain/validate.js';
import { Email, GroupName, PermissionName } from './schemas.js';
import { isPostgresUrl } from './store/database.js';
import { GATEWAY_DEFAULTS, GatewaySection, type GatewayConfig, type GatewaySectionInput } from './gateway/config.js';
import ipaddr from 'ipaddr.js';
import { NO_RATE_DEFAULTS, parseWindow, type RateLimit, type RateLimitDefaults } from './domain/token-limits.js';

/** Everything the server can be told, with its defaults. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL schema keygate keeps its tables in (created when missing); the connection's default when unset. */
  databaseSchema: string | undefined;
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
  logLevel: string;
  logRequests: boolean;
  bodyLimit: number;
  trustProxy: boolean;
  /** Proxies whose X-Forwarded-For is believed on the API port (IPs and CIDR ranges); empty: KEYGATE_TRUST_PROXY decides. */
  trustedProxies: string[];
  /** Blocking an address after too many refused keys. */
  refusedKeys: RefusedKeysConfig;
  model: AccessModel;
  accessLog: AccessLogConfig;
  webhooks: WebhookConfig;
  /** The reverse proxy, when an upstream is configured. */
  gateway: GatewayConfig | undefined;
  /** Redis, for the change channel and shared limits across instances; unset keeps both in PostgreSQL / in process. */
  redisUrl: string | undefined;
  /** What shared limits do while Redis cannot be reached: `open` falls back to this process's own counters, `closed` refuses (503). */
  redisDown: 'open' | 'closed';
  /** Many instances: how caches hear of other instances' changes. */
  cluster: ClusterConfig;
  /** Default rate limits of tokens that set none themselves, per permission level (config file `rateLimits`). */
  rateLimits: RateLimitDefaults;
  /** Running in production: who may scrape /metrics, and how shutdown drains. */
  ops: OpsConfig;
  /** GitHub's secret-scanning public keys file (KEYGATE_GITHUB_SCANNING_KEYS); unset, POST /secret-scanning/github answers 404. */
  githubScanningKeys: string | undefined;
}

/** Operating settings: metrics access and graceful shutdown. */
export interface OpsConfig {
  /** Bearer token /metrics asks for; unset, /metrics answers loopback callers only. A secret: never logged. */
  metricsToken: string | undefined;
  /** How long shutdown waits for requests under way before closing their connections. */
  shutdownTimeoutMs: number;
  /** How long /ready answers 503 before the listeners close, so load balancers stop sending first. */
  shutdownDelayMs: number;
}

/** After `limit` refused keys from one address within `windowMs`, its keys are refused for `blockMs`; limit 0: off. */
export interface RefusedKeysConfig {
  limit: number;
  windowMs: number;
  blockMs: number;
}

/** How this instance hears of changes committed by others. */
export interface ClusterConfig {
  /** `postgres` (LISTEN/NOTIFY) by default on PostgreSQL, `redis` when a Redis URL is set, `none` on SQLite. */
  channel: 'postgres' | 'redis' | 'none';
  /** The cache TTL while the channel is lost: the longest a stale answer can be served then. */
  fallbackTtlMs: number;
  /** How often the channel is checked end to end (a lost connection is also noticed at once). */
  heartbeatMs: number;
}

/** Where and how long requests that present a key are recorded. */
export interface AccessLogConfig {
  /** Also write each record as an NDJSON line: to stdout, or appended to this file (relative to the data directory). */
  sink: 'stdout' | string | undefined;
  /** How often queued records are written in one batch; a crash loses at most this much. */
  flushMs: number;
  /** Records waiting to be written beyond which captured bodies are dropped (metadata beyond twice this). */
  queueLimit: number;
  /** Bytes kept of each captured body and of each header block. */
  captureLimit: number;
  /** Records older than this are pruned; null keeps them. */
  retentionMs: number | null;
  /** Captured headers and bodies older than this are cleared; null keeps them as long as the record. */
  bodyRetentionMs: number | null;
  /** Only the newest this many records are kept; 0 for no limit. */
  maxRecords: number;
  /** How often the retention job runs. */
  pruneIntervalMs: number;
}

/** Outgoing notifications. */
export interface WebhookConfig {
  /** Whether webhook URLs may point at loopback, private and link-local addresses. */
  allowPrivate: boolean;
  timeoutMs: number;
  /** Attempts per delivery before it is marked failed. */
  maxAttempts: number;
  /** Days before expiry at which an `token.expiring` notice goes out. */
  expiryNoticeDays: number[];
  /** How often expiries are looked for and due deliveries retried. */
  scanIntervalMs: number;
}

type Env = Record<string, string | undefined>;

/** A configuration problem found at start, reported before anything listens. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Every setting, by its environment variable name; a config file uses the same names as keys. */
export const SETTINGS = [
  'PORT',
  'HOST',
  'KEYGATE_DATA_DIR',
  'KEYGATE_DATABASE_URL',
  'KEYGATE_DATABASE_SCHEMA',
  'KEYGATE_ADMIN_EMAIL',
  'KEYGATE_ADMIN_PASSWORD',
  'KEYGATE_KEY_PREFIX',
  'KEYGATE_KEY_SECRET',
  'KEYGATE_ALLOW_QUERY_KEYS',
  'KEYGATE_ALLOW_CUSTOM_KEYS',
  'KEYGATE_CUSTOM_KEY_MIN_LENGTH',
  'KEYGATE_MAX_TOKEN_LIFETIME',
  'KEYGATE_RECOVERABLE_KEYS',
  'KEYGATE_ENCRYPTION_KEY',
  'KEYGATE_SESSION_TTL',
  'KEYGATE_SECURE_COOKIES',
  'KEYGATE_CACHE_TTL_MS',
  'KEYGATE_LOG_LEVEL',
  'KEYGATE_LOG_REQUESTS',
  'KEYGATE_BODY_LIMIT',
  'KEYGATE_TRUST_PROXY',
  'KEYGATE_ACCESS_LOG',
  'KEYGATE_ACCESS_LOG_FLUSH_MS',
  'KEYGATE_ACCESS_LOG_QUEUE',
  'KEYGATE_ACCESS_LOG_CAPTURE_LIMIT',
  'KEYGATE_ACCESS_LOG_RETENTION',
  'KEYGATE_ACCESS_LOG_BODY_RETENTION',
  'KEYGATE_ACCESS_LOG_MAX_RECORDS',
  'KEYGATE_ACCESS_LOG_PRUNE_INTERVAL_MS',
  'KEYGATE_WEBHOOK_ALLOW_PRIVATE',
  'KEYGATE_WEBHOOK_TIMEOUT_MS',
  'KEYGATE_WEBHOOK_MAX_ATTEMPTS',
  'KEYGATE_EXPIRY_NOTICE_DAYS',
  'KEYGATE_NOTIFY_INTERVAL_MS',
  'KEYGATE_GATEWAY_UPSTREAM',
  'KEYGATE_GATEWAY_OPENAPI',
  'KEYGATE_GATEWAY_PORT',
  'KEYGATE_GATEWAY_HOST',
  'KEYGATE_GATEWAY_SECRET',
  'KEYGATE_GATEWAY_UNMATCHED',
  'KEYGATE_GATEWAY_TRUSTED_PROXIES',
  'KEYGATE_GATEWAY_CONNECT_TIMEOUT_MS',
  'KEYGATE_GATEWAY_RESPONSE_TIMEOUT_MS',
  'KEYGATE_GATEWAY_BODY_LIMIT',
  'KEYGATE_REDIS_URL',
  'KEYGATE_REDIS_DOWN',
  'KEYGATE_CHANNEL',
  'KEYGATE_CHANNEL_FALLBACK_TTL_MS',
  'KEYGATE_CHANNEL_HEARTBEAT_MS',
  'KEYGATE_TRUSTED_PROXIES',
  'KEYGATE_REFUSED_KEY_LIMIT',
  'KEYGATE_REFUSED_KEY_WINDOW',
  'KEYGATE_REFUSED_KEY_BLOCK',
  'KEYGATE_METRICS_TOKEN',
  'KEYGATE_SHUTDOWN_TIMEOUT_MS',
  'KEYGATE_SHUTDOWN_DELAY_MS',
  'KEYGATE_GITHUB_SCANNING_KEYS',
] as const;
type Setting = (typeof SETTINGS)[number];

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
const TypeName = Type.String({ minLength: 1, maxLength: 64 });

/** One default rate limit in the config file: `{"limit": 600, "window": "1m", "per": "token"}`. */
const RateLimitEntry = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
    window: Type.String({ pattern: '^\\d{1,6}(s|m|h|d)$' }),
    per: Type.Optional(Type.Union([Type.Literal('token'), Type.Literal('owner')])),
  },
  { additionalProperties: false },
);

/** The `rateLimits` section: defaults per permission level, and for tokens with an explicit permission list. */
const RateLimitsSection = Type.Object(
  {
    levels: Type.Optional(Type.Record(Type.String(), RateLimitEntry, { propertyNames: TypeName })),
    default: Type.Optional(RateLimitEntry),
  },
  { additionalProperties: false },
);

/**
 * The shape of a KEYGATE_CONFIG file: the settings, plus the access model's parts. An unknown key
 * is refused (a misspelt setting would otherwise be ignored without a word); cross-field rules,
 * such as a parent type that exists, are modelProblems()'s.
 */
export const ConfigFile = Type.Object(
  {
    ...Object.fromEntries(SETTINGS.map((name) => [name, Type.Optional(Scalar)])),
    resourceTypes: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          { parents: Type.Array(Type.Union([TypeName, Type.Null()]), { minItems: 1 }) },
          { additionalProperties: false },
        ),
        { propertyNames: TypeName, minProperties: 1 },
      ),
    ),
    permissions: Type.Optional(Type.Record(Type.String(), Type.String(), { propertyNames: PermissionName })),
    levels: Type.Optional(
      Type.Record(Type.String(), Type.Array(PermissionName), { propertyNames: TypeName, minProperties: 1 }),
    ),
    apiGroups: Type.Optional(Type.Record(Type.String(), Type.String(), { propertyNames: GroupName })),
    gateway: Type.Optional(GatewaySection),
    rateLimits: Type.Optional(RateLimitsSection),
  },
  { additionalProperties: false },
);

/** Reads and checks the KEYGATE_CONFIG file; every message starts with its path. */
function readConfigFile(path: string): Record<string, unknown> {
  const fail = (message: string): never => {
    throw new ConfigError(`KEYGATE_CONFIG ${path}: ${message}`);
  };
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (err) {
    return fail(`cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch (err) {
    // Not the parser's message: it quotes the text around the fault, which may be a secret.
    const at = /position (\d+)/.exec((err as Error).message)?.[1];
    return fail(`is not valid JSON${at ? ` (at character ${at})` : ''}`);
  }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) return fail('must be a JSON object');
  const problem = firstProblem(ConfigFile, file);
  if (problem) fail(`${problem.field || 'the file'} ${problem.message}`);
  return file as Record<string, unknown>;
}

/**
 * Reads the configuration: a JSON file (`KEYGATE_CONFIG`) may set anything, including the access
 * model (resource types, permissions, levels, API groups); environment variables override it.
 * Anything wrong is a ConfigError naming the setting (and the file, when it came from there).
 */
export function loadConfig(env: Env = process.env): Config {
  const path = env.KEYGATE_CONFIG || undefined;
  const file = path ? readConfigFile(path) : {};
  // File keys use the environment variable names, so one vocabulary documents both. An empty
  // environment variable means "not set", and still hides the file's value.
  const raw = (name: Setting): string | undefined => {
    const value = env[name] ?? (file[name] === undefined ? undefined : String(file[name]));
    return value === '' ? undefined : value;
  };
  const wrong = (name: Setting, what: string): never => {
    throw new ConfigError(`${env[name] === undefined && path ? `KEYGATE_CONFIG ${path}: ` : ''}${name} ${what}`);
  };
  const bool = (name: Setting, fallback: boolean): boolean => {
    const value = raw(name);
    if (value === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(value)) return true;
    if (/^(0|false|no|off)$/i.test(value)) return false;
    return wrong(name, `must be true or false, not ${JSON.stringify(value)}`);
  };
  const int = (name: Setting, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    const value = raw(name);
    if (value === undefined) return fallback;
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      wrong(
        name,
        `must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`}, not ${JSON.stringify(value)}`,
      );
    return n;
  };
  const duration = (name: Setting, fallback: number | null): number | null => {
    const value = raw(name);
    if (value === undefined) return fallback;
    if (value === 'none' || value === 'never') return null;
    const ms = parseDuration(value);
    if (ms === null || ms <= 0) wrong(name, `must be a duration such as 90d, 1y or 12h, not ${JSON.stringify(value)}`);
    return ms;
  };

  const model: AccessModel = {
    resourceTypes: (file.resourceTypes as AccessModel['resourceTypes']) ?? DEFAULT_MODEL.resourceTypes,
    permissions: { ...DEFAULT_MODEL.permissions, ...((file.permissions as AccessModel['permissions']) ?? {}) },
    levels: (file.levels as AccessModel['levels']) ?? DEFAULT_MODEL.levels,
    apiGroups: { ...DEFAULT_MODEL.apiGroups, ...((file.apiGroups as AccessModel['apiGroups']) ?? {}) },
  };
  const problems = modelProblems(model);
  if (problems.length > 0)
    throw new ConfigError(`KEYGATE_CONFIG ${path}: the access model is not sound: ${problems.join('; ')}`);

  const keyPrefix = raw('KEYGATE_KEY_PREFIX') ?? 'kg_';
  if (!/^[a-z][a-z0-9]{0,9}_$/.test(keyPrefix))
    wrong('KEYGATE_KEY_PREFIX', 'must be lower-case letters and digits ending in _, such as kg_');
  const encKey = raw('KEYGATE_ENCRYPTION_KEY');
  const encryptionKey =
    encKey === undefined
      ? undefined
      : /^[0-9a-f]{64}$/i.test(encKey)
        ? Buffer.from(encKey, 'hex')
        : Buffer.from(encKey, 'base64');
  // Never quoted in the message: it is a secret.
  if (encryptionKey && encryptionKey.length !== 32)
    wrong('KEYGATE_ENCRYPTION_KEY', 'must be 32 bytes, as 64 hex digits or base64');
  const recoverableKeys = bool('KEYGATE_RECOVERABLE_KEYS', false);
  if (recoverableKeys && !encryptionKey)
    wrong('KEYGATE_RECOVERABLE_KEYS', 'needs KEYGATE_ENCRYPTION_KEY (32 bytes, hex or base64)');
  const databaseUrl = raw('KEYGATE_DATABASE_URL');
  // Anything else would fall back to SQLite without a word; not quoted, as it may hold a password.
  if (databaseUrl !== undefined && !isPostgresUrl(databaseUrl))
    wrong('KEYGATE_DATABASE_URL', 'must be a postgres:// or postgresql:// URL (leave it unset for SQLite)');
  const databaseSchema = raw('KEYGATE_DATABASE_SCHEMA');
  if (databaseSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema))
    wrong('KEYGATE_DATABASE_SCHEMA', 'must be a lower-case PostgreSQL name: letters, digits and _');
  if (databaseSchema !== undefined && databaseUrl === undefined)
    wrong('KEYGATE_DATABASE_SCHEMA', 'needs KEYGATE_DATABASE_URL (SQLite has no schemas)');
  const adminEmail = raw('KEYGATE_ADMIN_EMAIL');
  if (adminEmail !== undefined && firstProblem(Email, adminEmail))
    wrong('KEYGATE_ADMIN_EMAIL', `must be an email address, not ${JSON.stringify(adminEmail)}`);
  const logLevel = raw('KEYGATE_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel))
    wrong('KEYGATE_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`);
  const dataDir = resolve(raw('KEYGATE_DATA_DIR') ?? './data');
  // A relative file is kept beside the database.
  const accessLogSink = raw('KEYGATE_ACCESS_LOG');
  const noticeDays = raw('KEYGATE_EXPIRY_NOTICE_DAYS') ?? '7,1';
  if (!/^\s*\d{1,4}(\s*,\s*\d{1,4})*\s*$/.test(noticeDays))
    wrong(
      'KEYGATE_EXPIRY_NOTICE_DAYS',
      `must be whole numbers of days separated by commas, such as 7,1, not ${JSON.stringify(noticeDays)}`,
    );

  const redisUrl = raw('KEYGATE_REDIS_URL');
  // Not quoted: the URL may hold a password.
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl))
    wrong('KEYGATE_REDIS_URL', 'must be a redis:// or rediss:// URL');
  const redisDown = raw('KEYGATE_REDIS_DOWN') ?? 'open';
  if (redisDown !== 'open' && redisDown !== 'closed')
    wrong('KEYGATE_REDIS_DOWN', `must be open or closed, not ${JSON.stringify(redisDown)}`);
  const channel = raw('KEYGATE_CHANNEL') ?? (redisUrl ? 'redis' : databaseUrl ? 'postgres' : 'none');
  if (channel !== 'postgres' && channel !== 'redis' && channel !== 'none')
    wrong('KEYGATE_CHANNEL', `must be postgres, redis or none, not ${JSON.stringify(channel)}`);
  if (channel === 'postgres' && !databaseUrl) wrong('KEYGATE_CHANNEL', 'postgres needs KEYGATE_DATABASE_URL');
  if (channel === 'redis' && !redisUrl) wrong('KEYGATE_CHANNEL', 'redis needs KEYGATE_REDIS_URL');

  const rateLimits = rateLimitDefaults(file.rateLimits as RateLimitsInput | undefined, model, path);
  const trustedProxiesRaw = raw('KEYGATE_TRUSTED_PROXIES');
  const trustedProxies =
    trustedProxiesRaw === undefined ? [] : proxyList('KEYGATE_TRUSTED_PROXIES', trustedProxiesRaw, wrong);
  const trustProxy = bool('KEYGATE_TRUST_PROXY', false);
  // Both at once would leave it unclear which one holds; the list is the safer of the two.
  if (trustProxy && trustedProxies.length > 0)
    wrong(
      'KEYGATE_TRUST_PROXY',
      'cannot be set with KEYGATE_TRUSTED_PROXIES: keep the list, it trusts only those proxies',
    );
  const refusedKeyWindow =
    duration('KEYGATE_REFUSED_KEY_WINDOW', 60_000) ??
    wrong('KEYGATE_REFUSED_KEY_WINDOW', 'must be a duration such as 1m');
  const refusedKeyBlock =
    duration('KEYGATE_REFUSED_KEY_BLOCK', 300_000) ??
    wrong('KEYGATE_REFUSED_KEY_BLOCK', 'must be a duration such as 5m');
  const metricsToken = raw('KEYGATE_METRICS_TOKEN');
  // Not quoted: it is a secret.
  if (metricsToken !== undefined && metricsToken.length < 16)
    wrong('KEYGATE_METRICS_TOKEN', 'must be at least 16 characters');

  const githubScanningKeys = raw('KEYGATE_GITHUB_SCANNING_KEYS');

  return {
    githubScanningKeys: githubScanningKeys === undefined ? undefined : resolve(githubScanningKeys),
    rateLimits,
    redisUrl,
    redisDown: redisDown as Config['redisDown'],
    cluster: {
      channel: channel as ClusterConfig['channel'],
      fallbackTtlMs: int('KEYGATE_CHANNEL_FALLBACK_TTL_MS', 1_000, 50, 60_000),
      heartbeatMs: int('KEYGATE_CHANNEL_HEARTBEAT_MS', 1_000, 50, 60_000),
    },
    gateway: gatewayConfig(file.gateway as GatewaySectionInput | undefined, raw, int, wrong, trustedProxies),
    ops: {
      metricsToken,
      shutdownTimeoutMs: int('KEYGATE_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 3_600_000),
      shutdownDelayMs: int('KEYGATE_SHUTDOWN_DELAY_MS', 0, 0, 600_000),
    },
    port: int('PORT', 8080, 0, 65_535),
    host: raw('HOST') ?? '0.0.0.0',
    dataDir,
    databaseUrl,
    databaseSchema,
    adminEmail,
    adminPassword: raw('KEYGATE_ADMIN_PASSWORD'),
    keyPrefix,
    keySecret: raw('KEYGATE_KEY_SECRET'),
    allowQueryKeys: bool('KEYGATE_ALLOW_QUERY_KEYS', true),
    customKeys: {
      allowed: bool('KEYGATE_ALLOW_CUSTOM_KEYS', true),
      minLength: int('KEYGATE_CUSTOM_KEY_MIN_LENGTH', 24, 16, 256),
    },
    maxTokenLifetimeMs: duration('KEYGATE_MAX_TOKEN_LIFETIME', null),
    recoverableKeys,
    encryptionKey,
    sessionTtlMs: duration('KEYGATE_SESSION_TTL', 12 * 3_600_000) ?? 12 * 3_600_000,
    secureCookies: bool('KEYGATE_SECURE_COOKIES', false),
    cacheTtlMs: int('KEYGATE_CACHE_TTL_MS', 30_000),
    logLevel,
    logRequests: bool('KEYGATE_LOG_REQUESTS', false),
    bodyLimit: int('KEYGATE_BODY_LIMIT', 1_048_576, 1024),
    trustProxy,
    trustedProxies,
    refusedKeys: {
      limit: int('KEYGATE_REFUSED_KEY_LIMIT', 50, 0, 1_000_000),
      windowMs: refusedKeyWindow,
      blockMs: refusedKeyBlock,
    },
    model,
    accessLog: {
      sink: accessLogSink === undefined || accessLogSink === 'stdout' ? accessLogSink : resolve(dataDir, accessLogSink),
      flushMs: int('KEYGATE_ACCESS_LOG_FLUSH_MS', 1_000, 10, 60_000),
      queueLimit: int('KEYGATE_ACCESS_LOG_QUEUE', 10_000, 10),
      captureLimit: int('KEYGATE_ACCESS_LOG_CAPTURE_LIMIT', 65_536, 256),
      retentionMs: duration('KEYGATE_ACCESS_LOG_RETENTION', 90 * 86_400_000),
      bodyRetentionMs: duration('KEYGATE_ACCESS_LOG_BODY_RETENTION', 7 * 86_400_000),
      maxRecords: int('KEYGATE_ACCESS_LOG_MAX_RECORDS', 0),
      pruneIntervalMs: int('KEYGATE_ACCESS_LOG_PRUNE_INTERVAL_MS', 3_600_000, 1_000),
    },
    webhooks: {
      allowPrivate: bool('KEYGATE_WEBHOOK_ALLOW_PRIVATE', false),
      timeoutMs: int('KEYGATE_WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
      maxAttempts: int('KEYGATE_WEBHOOK_MAX_ATTEMPTS', 8, 1, 30),
      expiryNoticeDays: [...new Set(noticeDays.split(',').map((d) => Number(d.trim())))].sort((a, b) => b - a),
      scanIntervalMs: int('KEYGATE_NOTIFY_INTERVAL_MS', 60_000, 1_000),
    },
  };
}

type RateLimitsInput = { levels?: Record<string, RateLimitInput>; default?: RateLimitInput };
type RateLimitInput = { limit: number; window: string; per?: 'token' | 'owner' };

/** The file's `rateLimits` section, checked against the model's levels. */
function rateLimitDefaults(
  section: RateLimitsInput | undefined,
  model: AccessModel,
  path: string | undefined,
): RateLimitDefaults {
  if (!section) return NO_RATE_DEFAULTS;
  const one = (where: string, input: RateLimitInput): RateLimit => {
    const windowMs = parseWindow(input.window);
    if (windowMs === null)
      throw new ConfigError(
        `KEYGATE_CONFIG ${path}: ${where}.window must be whole seconds from 1s to 1d, such as 1m, not ${JSON.stringify(input.window)}`,
      );
    return { limit: input.limit, windowMs, per: input.per ?? 'token' };
  };
  const levels: Record<string, RateLimit> = {};
  for (const [level, input] of Object.entries(section.levels ?? {})) {
    if (!Object.hasOwn(model.levels, level))
      throw new ConfigError(
        `KEYGATE_CONFIG ${path}: rateLimits.levels names ${level}, which is not a permission level (${Object.keys(model.levels).join(', ')})`,
      );
    levels[level] = one(`rateLimits.levels.${level}`, input);
  }
  return { levels, default: section.default ? one('rateLimits.default', section.default) : null };
}

/** A comma-separated list of proxy addresses (IPv4 or IPv6, single or CIDR ranges), each checked. */
function proxyList(name: Setting, value: string, wrong: (name: Setting, what: string) => never): string[] {
  const list = value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  for (const p of list) {
    const ok = p.includes('/')
      ? (() => {
          try {
            ipaddr.parseCIDR(p);
            return true;
          } catch {
            return false;
          }
        })()
      : ipaddr.isValid(p);
    if (!ok) wrong(name, `must be IP addresses or CIDR ranges, not ${JSON.stringify(p)}`);
  }
  return list;
}

/** The gateway's settings from the file's `gateway` section and the KEYGATE_GATEWAY_* variables; undefined when no upstream is set. */
function gatewayConfig(
  section: GatewaySectionInput | undefined,
  raw: (name: Setting) => string | undefined,
  int: (name: Setting, fallback: number, min?: number, max?: number) => number,
  wrong: (name: Setting, what: string) => never,
  apiProxies: string[],
): GatewayConfig | undefined {
  const url = raw('KEYGATE_GATEWAY_UPSTREAM');
  if (url !== undefined && !/^https?:\/\/[^/?#\s]+/.test(url))
    wrong('KEYGATE_GATEWAY_UPSTREAM', `must be an http:// or https:// URL, not ${JSON.stringify(url)}`);
  const openapi = raw('KEYGATE_GATEWAY_OPENAPI');
  if (openapi !== undefined && url === undefined && !section)
    wrong('KEYGATE_GATEWAY_OPENAPI', 'needs KEYGATE_GATEWAY_UPSTREAM (the API the document describes)');
  if (url === undefined && !section) return undefined;
  const upstreams = (section?.upstreams ?? []).map((u, i) => ({
    name: u.name ?? `upstream-${i + 1}`,
    url: u.url,
    host: u.host?.toLowerCase(),
    pathPrefix: u.pathPrefix,
    openapi: u.openapi,
    routes: u.routes ?? [],
  }));
  // The environment's upstream replaces the file's first one, as any variable overrides the file.
  if (url !== undefined) {
    const first = upstreams[0];
    upstreams[0] = {
      name: first?.name ?? 'upstream',
      url,
      host: first?.host,
      pathPrefix: first?.pathPrefix,
      openapi: openapi ?? first?.openapi,
      routes: first?.routes ?? [],
    };
  }
  const unmatched = raw('KEYGATE_GATEWAY_UNMATCHED') ?? section?.unmatched ?? GATEWAY_DEFAULTS.unmatched;
  if (unmatched !== 'refuse' && unmatched !== 'authenticate')
    wrong('KEYGATE_GATEWAY_UNMATCHED', `must be refuse or authenticate, not ${JSON.stringify(unmatched)}`);
  const proxies = raw('KEYGATE_GATEWAY_TRUSTED_PROXIES');
  // Unset here and in the file: the API port's list, since both usually sit behind the same proxies.
  const listed = proxies ?? section?.trustedProxies?.join(',');
  const trustedProxies =
    listed === undefined ? apiProxies : proxyList('KEYGATE_GATEWAY_TRUSTED_PROXIES', listed, wrong);
  return {
    port: int('KEYGATE_GATEWAY_PORT', section?.port ?? GATEWAY_DEFAULTS.port, 0, 65_535),
    host: raw('KEYGATE_GATEWAY_HOST') ?? section?.host ?? raw('HOST') ?? '0.0.0.0',
    upstreams,
    secret: raw('KEYGATE_GATEWAY_SECRET'),
    unmatched,
    trustedProxies,
    connectTimeoutMs: int(
      'KEYGATE_GATEWAY_CONNECT_TIMEOUT_MS',
      section?.connectTimeoutMs ?? GATEWAY_DEFAULTS.connectTimeoutMs,
      1,
      3_600_000,
    ),
    responseTimeoutMs: int(
      'KEYGATE_GATEWAY_RESPONSE_TIMEOUT_MS',
      section?.responseTimeoutMs ?? GATEWAY_DEFAULTS.responseTimeoutMs,
      1,
      3_600_000,
    ),
    bodyLimit: int('KEYGATE_GATEWAY_BODY_LIMIT', section?.bodyLimit ?? GATEWAY_DEFAULTS.bodyLimit, 1024, 1_073_741_824),
  };
}
