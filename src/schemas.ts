import { Type, type Static, type TSchema } from 'typebox';
import { EXPIRES_IN } from './domain/expiry.js';
import { MIN_SECRET_LENGTH } from './domain/webhook-delivery.js';
import { WEBHOOK_EVENTS } from './domain/webhook-events.js';

/**
 * One schema per shape: each validates requests, serialises responses and becomes part of the
 * OpenAPI document, so none of the three can drift from the others.
 */

/**
 * `T | null` as one JSON Schema type list (`type: [T, "null"]`) rather than `anyOf`: the response
 * serialiser would otherwise run a validator per branch on every answer, and AJV's coercion would
 * turn a null into "" in a union that lists the string first.
 */
export function Nullable<T extends TSchema>(schema: T, options: Record<string, unknown> = {}) {
  const s = schema as unknown as { type: string };
  return Type.Unsafe<Static<T> | null>({ ...schema, ...options, type: [s.type, 'null'] } as unknown as TSchema);
}

/** One of a fixed list of strings, as a plain `enum` (cheaper to check and to serialise than a union of literals). */
export function OneOf<const V extends readonly string[]>(values: V, options: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ type: 'string', enum: [...values], ...options } as unknown as TSchema);
}

export const Time = Type.String({ format: 'date-time' });
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable, machine-readable, UPPER_SNAKE.' }),
      message: Type.String({ description: 'For people; may change.' }),
      requestId: Type.String(),
      field: Type.Optional(Type.String({ description: 'The request field at fault, when one is.' })),
    }),
  },
  { $id: 'Error', description: 'The one error envelope every endpoint uses.' },
);

export const User = Type.Object(
  {
    id: Type.String(),
    email: Type.String(),
    name: Type.String(),
    systemRole: OneOf(['admin', 'user']),
    active: Type.Boolean(),
    createdAt: Time,
    updatedAt: Time,
  },
  { $id: 'User' },
);

export const Resource = Type.Object(
  {
    id: Type.String(),
    type: Type.String(),
    name: Type.String(),
    parentId: Nullable(Type.String()),
    externalId: Nullable(Type.String(), {
      description: "The platform's own id for the resource (unique per type), when it mirrors it into keygate.",
    }),
    createdAt: Time,
    updatedAt: Time,
    path: Type.Optional(
      Type.Array(Type.Object({ id: Type.String(), type: Type.String(), name: Type.String() }), {
        description:
          'Its ancestors you may see, from the top of your reach down to its parent (empty at the top). Given by GET /resources/{id} and searches only.',
      }),
    ),
  },
  { $id: 'Resource' },
);

export const Member = Type.Object(
  {
    kind: OneOf(['user', 'token']),
    id: Type.String(),
    name: Type.String(),
    email: Nullable(Type.String()),
    role: Nullable(Type.String(), { description: "A person's role, or a token's permission level." }),
    resourceId: Type.String({ description: 'Where the role is held (an ancestor, when inherited).' }),
    inherited: Type.Boolean(),
    active: Nullable(Type.Boolean()),
    expiresAt: Nullable(Time),
    ownerId: Nullable(Type.String()),
  },
  { $id: 'Member' },
);

export const LOGGING_MODES = ['none', 'request', 'request+response'] as const;
export const Logging = OneOf(LOGGING_MODES, {
  description: 'What the access log keeps of each request made with the token.',
});

/** A window of whole seconds to a day: 30s, 1m, 1h, 1d. */
const Window = Type.String({
  pattern: '^\\d{1,6}(s|m|h|d)$',
  description: 'A window of whole seconds, from 1s to 1d: 30s, 1m, 1h, 1d.',
});

/** A token's own rate limit. */
export const RateLimitInput = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Requests allowed per window.' }),
    window: Window,
    per: Type.Optional(
      OneOf(['token', 'owner'], {
        description: "token (default): this token's own count; owner: one count shared by all its owner's tokens.",
      }),
    ),
  },
  { additionalProperties: false },
);

/** How a token's rate limit is set. */
export const RateLimitSetting = Type.Union([Type.Null(), Type.Literal('unlimited'), RateLimitInput], {
  description:
    "Requests per window. null: the server's default for the token's permission level (config rateLimits), if any; 'unlimited': none, whatever the default.",
});

export const CreditsInput = Type.Object(
  {
    remaining: Type.Integer({ minimum: 0, maximum: 1_000_000_000_000, description: 'Uses left.' }),
    refill: Type.Optional(
      Nullable(
        Type.Object(
          {
            amount: Type.Integer({ minimum: 1, maximum: 1_000_000_000_000 }),
            interval: Type.String({ pattern: '^\\d{1,6}(s|m|h|d|y)$', description: 'Such as 1h, 1d, 30d.' }),
          },
          { additionalProperties: false },
        ),
        { description: 'Every interval (from when credits were set) the remaining uses are set back to amount.' },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Remaining uses; null for none counted. */
export const CreditsSetting = Nullable(CreditsInput, {
  description:
    'Remaining uses: each use costs 1 (or the cost given to /verify); at 0 the key is refused with USAGE_EXCEEDED. null: not counted.',
});

export const IpAllowlistSetting = Nullable(
  Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 100 }),
  {
    description:
      'IPv4/IPv6 addresses and CIDR ranges the key may be used from (IPv4-mapped IPv6 clients match IPv4 ranges); null: any address.',
  },
);

export const Token = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.String(),
    resourceId: Nullable(Type.String(), { description: 'Null for a system token (administrators only).' }),
    ownerId: Type.String(),
    level: Nullable(Type.String()),
    permissions: Type.Array(Type.String(), { description: "The token's own permissions (its level resolved)." }),
    apiGroups: Type.Array(Type.String()),
    expiresAt: Nullable(Time),
    active: Type.Boolean(),
    deactivatedBy: Nullable(Type.String(), {
      description:
        'While inactive: the user who switched it off (or `leak report` when its key was reported leaked). When that is not the owner, only someone with tokens:manage on its resource can switch it on again.',
    }),
    state: OneOf(['active', 'inactive', 'expired']),
    impersonate: Nullable(Type.Object({ id: Type.String(), email: Type.String() })),
    logging: Logging,
    keyPrefix: Type.String({ description: 'The first characters of the key, to recognise it. Never the key.' }),
    recoverable: Type.Boolean({ description: 'Whether the owner can see the key again.' }),
    createdBy: Type.String(),
    createdAt: Time,
    updatedAt: Time,
    lastUsedAt: Nullable(Time),
    lastUsedIp: Nullable(Type.String()),
    rateLimit: RateLimitSetting,
    credits: Nullable(
      Type.Object({
        remaining: Type.Integer(),
        refill: Nullable(Type.Object({ amount: Type.Integer(), interval: Type.String() })),
        refilledAt: Nullable(Time, { description: 'When the current refill interval began.' }),
      }),
      { description: 'Remaining uses, as stored (a refill that is due is applied at the next use).' },
    ),
    ipAllowlist: Nullable(Type.Array(Type.String())),
  },
  { $id: 'Token' },
);

export const TokenWithKey = Type.Intersect(
  [Token, Type.Object({ key: Type.String({ description: 'The key. Shown in this response only: store it now.' }) })],
  { $id: 'TokenWithKey' },
);

/** Inputs the services check themselves too (src/domain/validate.ts), so the CLI and console meet the same limits. */
export const Email = Type.String({ format: 'email', maxLength: 320 });
const Password = Type.String({ minLength: 12, maxLength: 1024 });
const SystemRole = OneOf(['admin', 'user']);

export const UserCreate = Type.Object(
  {
    email: Email,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    password: Type.Optional(Password),
    systemRole: Type.Optional(SystemRole),
  },
  { additionalProperties: false },
);

export const UserPatch = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    password: Type.Optional(Password),
    currentPassword: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Needed when you change your own password; not when an administrator resets another.',
      }),
    ),
    active: Type.Optional(Type.Boolean()),
    systemRole: Type.Optional(SystemRole),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** A platform's own id for a resource: any text without control characters. */
export const ExternalId = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^[^\\u0000-\\u001F\\u007F-\\u009F]+$',
  description: "The platform's own id for the resource (a UUID, a number …), unique per type.",
});
const ResourceTypeName = Type.String({ minLength: 1, maxLength: 64 });

export const ResourceCreate = Type.Object(
  {
    type: ResourceTypeName,
    name: Name,
    parentId: Type.Optional(Nullable(Type.String({ maxLength: 80 }))),
    externalId: Type.Optional(Nullable(ExternalId)),
  },
  { additionalProperties: false },
);

export const ResourceBulkItem = Type.Object(
  {
    externalId: ExternalId,
    type: ResourceTypeName,
    name: Name,
    parentExternalId: Type.Optional(
      Nullable(ExternalId, {
        description:
          "The parent's external id, among the types allowed as this type's parents (items earlier in the batch included).",
      }),
    ),
    parentId: Type.Optional(
      Nullable(Type.String({ minLength: 1, maxLength: 80, description: "The parent's keygate id." })),
    ),
  },
  { additionalProperties: false },
);

export const ResourceBulkUpsert = Type.Object(
  { items: Type.Array(ResourceBulkItem, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);
export type ResourceBulkInput = Static<typeof ResourceBulkItem>;

export const ResourceBulkResult = Type.Object({
  items: Type.Array(
    Type.Object({
      externalId: Type.String(),
      type: Type.String(),
      id: Type.String({ description: "The resource's keygate id." }),
      status: OneOf(['created', 'updated', 'unchanged']),
    }),
  ),
});

export const ResourceRename = Type.Object({ name: Name }, { additionalProperties: false });

export const MemberParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 80 }),
  userId: Type.String({ minLength: 1, maxLength: 320, description: 'A user id, or an email address.' }),
});

export const MemberRole = Type.Object(
  { role: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);

export const PermissionName = Type.String({ pattern: '^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$', maxLength: 100 });
export const GroupName = Type.String({ pattern: '^[a-z][a-z0-9_-]*$', maxLength: 64 });
const ExpiresIn = OneOf(EXPIRES_IN, { description: 'A lifetime preset; or give expiresAt.' });

export const TokenCreate = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    level: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'A permission level (reader, manager, administrator, …). Default reader.',
      }),
    ),
    permissions: Type.Optional(
      Type.Array(PermissionName, {
        maxItems: 100,
        description: 'An explicit list of fine-grained permissions, instead of a level.',
      }),
    ),
    apiGroups: Type.Optional(
      Type.Array(GroupName, {
        minItems: 1,
        maxItems: 50,
        description: 'API groups the token may call; native (the default) means every endpoint.',
      }),
    ),
    expiresIn: Type.Optional(ExpiresIn),
    expiresAt: Type.Optional(Nullable(Time, { description: 'An ISO 8601 time; null for never.' })),
    logging: Type.Optional(Logging),
    // Null first: with type coercion on, a String-first union turns null into "" before Null is tried.
    impersonate: Type.Optional(
      Nullable(Type.String({ maxLength: 320 }), {
        description: 'Email or id of the user the token acts as (administrators only); null for none.',
      }),
    ),
    key: Type.Optional(
      Type.String({ maxLength: 256, description: 'A chosen key value (administrators only; minimum length applies).' }),
    ),
    rateLimit: Type.Optional(RateLimitSetting),
    credits: Type.Optional(CreditsSetting),
    ipAllowlist: Type.Optional(IpAllowlistSetting),
  },
  { additionalProperties: false },
);

export const TokenPatch = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    level: Type.Optional(Type.String({ maxLength: 64 })),
    permissions: Type.Optional(Type.Array(PermissionName, { maxItems: 100 })),
    apiGroups: Type.Optional(Type.Array(GroupName, { minItems: 1, maxItems: 50 })),
    expiresIn: Type.Optional(ExpiresIn),
    expiresAt: Type.Optional(Nullable(Time)),
    logging: Type.Optional(Logging),
    impersonate: Type.Optional(
      Nullable(Type.String({ maxLength: 320 }), {
        description: 'Email or id of the user the token acts as (administrators only); null to stop impersonating.',
      }),
    ),
    active: Type.Optional(Type.Boolean()),
    rateLimit: Type.Optional(RateLimitSetting),
    credits: Type.Optional(CreditsSetting),
    ipAllowlist: Type.Optional(IpAllowlistSetting),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const TokenListQuery = Type.Object(
  {
    owner: Type.Optional(
      Type.String({ maxLength: 320, description: 'Administrators: a user id, or * for every user.' }),
    ),
    resourceId: Type.Optional(Type.String({ maxLength: 80 })),
    state: Type.Optional(OneOf(['active', 'inactive', 'expired'])),
    expiresBefore: Type.Optional(Time),
    expiresAfter: Type.Optional(Time),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 80, description: 'The nextCursor of the previous page.' })),
  },
  { additionalProperties: false },
);

/** How long a rolled token's old key keeps working: up to 30 days. */
const GraceSeconds = Type.Integer({ minimum: 0, maximum: 30 * 86_400 });

export const TokenRoll = Type.Object({ graceSeconds: Type.Optional(GraceSeconds) }, { additionalProperties: false });

export const PageQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 80 })),
  },
  { additionalProperties: false },
);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 80 }) });

export const VerifyRequest = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 1024, description: 'The key to judge.' }),
    resourceId: Type.Optional(Type.String({ maxLength: 80, description: 'The resource the key wants to act on.' })),
    permission: Type.Optional(Type.String({ maxLength: 100, description: 'The permission it needs there.' })),
    apiGroup: Type.Optional(Type.String({ maxLength: 64, description: 'The API group of the endpoint it calls.' })),
    ip: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'The address of the client that presented the key to you. Needed for tokens with an IP allowlist (without it they are refused: IP_NOT_ALLOWED). With it, keys refused as no good count against that address, and a blocked address is answered RATE_LIMITED with Retry-After before its key is looked up, as at the API and the gateway.',
      }),
    ),
    cost: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        description: 'Credits this use takes from a token with credits (default 1; 0 only checks that some are left).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const VerifyCode = OneOf([
  'VALID',
  'MALFORMED',
  'NOT_FOUND',
  'EXPIRED',
  'DISABLED',
  'OWNER_DISABLED',
  'API_GROUP_NOT_ALLOWED',
  'OUT_OF_SCOPE',
  'INSUFFICIENT_PERMISSIONS',
  'IP_NOT_ALLOWED',
  'RATE_LIMITED',
  'USAGE_EXCEEDED',
]);

/** What /me and /verify tell about a token: never its key or hash. */
const tokenSummary = (permissionsMean: string) => ({
  id: Type.String(),
  name: Type.String(),
  ownerId: Type.String(),
  resourceId: Nullable(Type.String()),
  permissions: Type.Array(Type.String(), { description: permissionsMean }),
  apiGroups: Type.Array(Type.String()),
  expiresAt: Nullable(Time),
  impersonateUserId: Nullable(Type.String()),
});

export const VerifyResponse = Type.Object(
  {
    valid: Type.Boolean(),
    code: VerifyCode,
    token: Type.Optional(
      Type.Object({
        ...tokenSummary('What the token may do at the resource asked about (or its own).'),
        logging: Logging,
      }),
    ),
    cacheable: Type.Optional(
      Type.Boolean({
        description:
          'false: the token has a rate limit, credits or an IP allowlist, so every use must be verified; do not cache this answer.',
      }),
    ),
    ratelimit: Type.Optional(
      Type.Object(
        { limit: Type.Integer(), remaining: Type.Integer(), resetMs: Type.Integer() },
        { description: "The token's rate limit after this use (also in the RateLimit header fields)." },
      ),
    ),
    credits: Type.Optional(Type.Object({ remaining: Type.Integer() }, { description: 'Credits left after this use.' })),
  },
  { $id: 'VerifyResponse' },
);
/** The verify answer, as services build it (type only: services do not load the HTTP layer). */
export type VerifyAnswer = Static<typeof VerifyResponse>;

// One object rather than a union of two: serialising a union validates each branch on every answer.
export const Me = Type.Object(
  {
    kind: OneOf(['user', 'token']),
    user: Type.Optional(Type.Ref('User', { description: 'When kind is user.' })),
    csrfToken: Type.Optional(
      Type.String({ description: 'When signed in with the session cookie: send it as X-CSRF-Token with changes.' }),
    ),
    token: Type.Optional(
      Type.Object(tokenSummary('What the token may do now at its own resource.'), {
        description: 'When kind is token.',
      }),
    ),
    expiring: Type.Optional(
      Type.Array(Type.Ref('Token'), {
        description:
          'When kind is user: your active tokens that expire within the longest expiry notice (7 days by default), soonest first.',
      }),
    ),
  },
  { $id: 'Me' },
);

/** The expiring view of one's own tokens: how many days ahead to look. */
export const ExpiringQuery = Type.Object(
  {
    withinDays: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 365,
        description: 'Days ahead to look; the longest expiry notice by default.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** One bucket of a token's usage: requests, and of them refusals (401/403/429 not VALID) and other errors (4xx/5xx). */
const UsageBucket = Type.Object({
  start: Time,
  requests: Type.Integer(),
  refusals: Type.Integer(),
  errors: Type.Integer(),
});

export const TokenUsage = Type.Object(
  {
    lastUsedAt: Nullable(Time),
    lastUsedIp: Nullable(Type.String()),
    hourly: Type.Array(UsageBucket, { description: 'The last 48 hours, oldest first, the current hour last.' }),
    daily: Type.Array(UsageBucket, { description: 'The last 90 days (UTC), oldest first, today last.' }),
  },
  { description: "A token's last use and its counts per hour and per day, from the usage aggregate." },
);

const WebhookUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'Where events are POSTed: http or https, no credentials, no private address unless the server allows it.',
});
const WebhookEvents = Type.Array(OneOf(WEBHOOK_EVENTS), {
  maxItems: WEBHOOK_EVENTS.length,
  description: 'The events to send; empty or left out for all.',
});

export const WebhookCreate = Type.Object(
  {
    url: WebhookUrl,
    resourceId: Type.Optional(
      Nullable(Type.String({ minLength: 1, maxLength: 80 }), {
        description:
          'Events of tokens on this resource and below; left out or null for every token (system administrators).',
      }),
    ),
    events: Type.Optional(WebhookEvents),
    active: Type.Optional(Type.Boolean()),
    secret: Type.Optional(
      Type.String({
        minLength: MIN_SECRET_LENGTH,
        maxLength: 256,
        pattern: '^[\\x21-\\x7e]+$',
        description: 'A signing secret of your own (printable ASCII, no spaces); one is generated when left out.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const WebhookPatch = Type.Object(
  { url: Type.Optional(WebhookUrl), events: Type.Optional(WebhookEvents), active: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);

export const WebhookListQuery = Type.Object(
  {
    resourceId: Type.Optional(Type.String({ minLength: 1, maxLength: 80 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 80 })),
  },
  { additionalProperties: false },
);

export const DeliveryStatus = OneOf(['pending', 'succeeded', 'failed']);

export const WebhookDeliveryQuery = Type.Object(
  {
    status: Type.Optional(DeliveryStatus),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 80 })),
  },
  { additionalProperties: false },
);

/** A webhook as the API shows it: never its secret. */
export const Webhook = Type.Object(
  {
    id: Type.String(),
    resourceId: Nullable(Type.String(), { description: 'Null for a system-wide webhook.' }),
    url: Type.String(),
    events: Type.Array(Type.String(), { description: 'Empty: every event.' }),
    active: Type.Boolean(),
    createdBy: Type.String(),
    createdAt: Time,
    updatedAt: Time,
  },
  { $id: 'Webhook' },
);

export const WebhookWithSecret = Type.Object(
  {
    ...Webhook.properties,
    secret: Type.String({ description: 'The signing secret: shown in this answer only.' }),
  },
  { $id: 'WebhookWithSecret' },
);

export const WebhookDelivery = Type.Object(
  {
    id: Type.String(),
    webhookId: Type.String(),
    eventId: Type.String(),
    eventType: Type.String(),
    status: DeliveryStatus,
    attempts: Type.Integer(),
    nextAttemptAt: Nullable(Time, { description: 'When a pending delivery is tried next.' }),
    lastStatus: Nullable(Type.Integer(), { description: "The receiver's last HTTP status." }),
    lastError: Nullable(Type.String()),
    payload: Type.Unknown({ description: 'The JSON body sent.' }),
    createdAt: Time,
    updatedAt: Time,
  },
  { $id: 'WebhookDelivery' },
);

/** Schemas registered once with the app and referenced by `$ref` elsewhere. */
export const SHARED_SCHEMAS = [
  ErrorBody,
  User,
  Resource,
  Member,
  Token,
  TokenWithKey,
  VerifyResponse,
  Me,
  Webhook,
  WebhookWithSecret,
  WebhookDelivery,
];

export const errorResponses = {
  '4xx': Type.Ref('Error'),
  '5xx': Type.Ref('Error'),
};

// ——— Logs: the access log and the audit trail (read, exported) ———

const LogId = Type.String({ minLength: 1, maxLength: 80 });
const LogTimeRange = {
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Oldest time included (ISO 8601).' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Newest time included (ISO 8601).' })),
};
const LogPaging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'Records per page; 50 when left out.' })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'The nextCursor of the previous page.' })),
};
const AccessLogFilters = {
  tokenId: Type.Optional(LogId),
  ownerId: Type.Optional(LogId),
  resourceId: Type.Optional({ ...LogId, description: 'That resource and everything under it.' }),
  ...LogTimeRange,
  status: Type.Optional(
    Type.String({
      pattern: '^[1-5]([0-9]{2}|xx|XX)$',
      description: 'A class such as 4xx, or an exact code such as 404.',
    }),
  ),
  outcome: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'VALID, KEY_EXPIRED, NOT_FOUND …' })),
  pathPrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  ip: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
};
const AuditFilters = {
  actorId: Type.Optional(LogId),
  action: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'An exact action, or a prefix ending in a dot (token.).' }),
  ),
  targetType: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  targetId: Type.Optional(LogId),
  resourceId: Type.Optional({ ...LogId, description: 'That resource and everything under it.' }),
  ...LogTimeRange,
};
const ExportFormatField = {
  format: Type.Optional(OneOf(['ndjson', 'csv'], { description: 'ndjson (the default) or csv with a header row.' })),
};

export const AccessLogQuery = Type.Object({ ...AccessLogFilters, ...LogPaging }, { additionalProperties: false });
export const AccessLogExportQuery = Type.Object(
  { ...AccessLogFilters, ...ExportFormatField },
  { additionalProperties: false },
);
export const AuditLogQuery = Type.Object({ ...AuditFilters, ...LogPaging }, { additionalProperties: false });
export const AuditLogExportQuery = Type.Object(
  { ...AuditFilters, ...ExportFormatField },
  { additionalProperties: false },
);

/** One access-log record as the API and exports show it; never a key, hash or password. */
export const AccessLogRecord = Type.Object(
  {
    at: Time,
    id: Type.String(),
    requestId: Type.String(),
    tokenId: Nullable(Type.String()),
    ownerId: Nullable(Type.String()),
    resourceId: Nullable(Type.String()),
    method: Type.String(),
    route: Nullable(Type.String({ description: 'The route pattern; null when no route matched.' })),
    path: Type.String(),
    apiVersion: Nullable(Type.String()),
    status: Type.Integer(),
    durationMs: Type.Number(),
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
    outcome: Type.String(),
    carrier: Nullable(Type.String()),
    keyPrefix: Nullable(Type.String({ description: 'For a key that matched no token: its public prefix only.' })),
    keyFingerprint: Nullable(Type.String()),
    capture: Type.Unknown({ description: 'Redacted headers and bodies, when the token logs them; else null.' }),
  },
  { title: 'AccessLogRecord' },
);

/** One audit record as the API and exports show it. */
export const AuditRecord = Type.Object(
  {
    id: Type.String(),
    at: Time,
    actorType: OneOf(['user', 'token', 'system']),
    actorId: Nullable(Type.String()),
    viaTokenId: Nullable(Type.String({ description: 'The token a user acted through, when impersonated.' })),
    action: Type.String(),
    targetType: Type.String(),
    targetId: Type.String(),
    resourceId: Nullable(Type.String()),
    details: Type.Unknown({ description: 'What changed (before → after), never a secret.' }),
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
  },
  { title: 'AuditRecord' },
);

// ——— Console support: searching, the model, bulk changes ———

const SearchText = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Text the name contains, ignoring case (taken literally: % and _ are no wildcards).',
});

export const ResourceListQuery = Type.Object(
  {
    q: Type.Optional({
      ...SearchText,
      description:
        'Search instead: every resource you can read (not only where you start) whose name contains this, ignoring case, by name. Each carries its path.',
    }),
    externalId: Type.Optional({
      ...ExternalId,
      description:
        'Find instead: the resources you can read with this external id (of every type, unless type is given).',
    }),
    type: Type.Optional({ ...ResourceTypeName, description: 'With externalId: only resources of this type.' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    // Longer than an id: with q, the cursor holds the last name too.
    cursor: Type.Optional(Type.String({ maxLength: 2048, description: 'The nextCursor of the previous page.' })),
  },
  { additionalProperties: false },
);

export const UserListQuery = Type.Object(
  {
    q: Type.Optional({ ...SearchText, description: 'Only users whose email or name contains this, ignoring case.' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(Type.String({ maxLength: 80 })),
  },
  { additionalProperties: false },
);

export const TokenIds = Type.Object(
  {
    ids: Type.Array(Type.String({ pattern: '^tok_[A-Za-z0-9]{1,76}$', maxLength: 80 }), {
      minItems: 1,
      maxItems: 500,
      uniqueItems: true,
      description: 'Token ids (tok_…), each once.',
    }),
  },
  { additionalProperties: false },
);

export const BulkResults = Type.Object({
  results: Type.Array(
    Type.Object({
      id: Type.String(),
      ok: Type.Boolean(),
      code: Type.Optional(
        Type.String({ description: 'When not ok: the error code the single request would have answered with.' }),
      ),
    }),
    { description: 'One per id, in the order given.' },
  ),
});

export const Model = Type.Object(
  {
    resourceTypes: Type.Array(
      Type.Object({
        name: Type.String(),
        parents: Type.Array(Nullable(Type.String()), {
          description: 'Types it may sit under; null: it may be a root.',
        }),
      }),
    ),
    permissions: Type.Array(
      Type.Object({ name: Type.String(), description: Type.String({ description: 'What it allows.' }) }),
    ),
    levels: Type.Array(Type.Object({ name: Type.String(), permissions: Type.Array(Type.String()) }), {
      description: 'In rising order of power; roles on resources use the same names.',
    }),
    apiGroups: Type.Array(Type.Object({ name: Type.String(), description: Type.String() })),
    policy: Type.Object({
      expiresIn: Type.Array(OneOf(EXPIRES_IN), {
        description: "The lifetime presets a new token may be given: those within the server's maximum.",
      }),
      maxLifetimeDays: Nullable(Type.Number(), { description: 'The longest a token may live; null for no limit.' }),
      recoverableKeys: Type.Boolean({ description: 'Whether owners can see their keys again.' }),
      customKeys: Type.Object({
        allowed: Type.Boolean({ description: 'Whether administrators may choose a key value.' }),
        minLength: Type.Integer(),
      }),
      logging: Type.Array(Logging, { description: 'The logging modes a token may have.' }),
    }),
  },
  { title: 'Model', description: 'What this keygate offers.' },
);
