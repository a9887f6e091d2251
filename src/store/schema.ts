/**
 * Table shapes as Kysely sees them. Times are ISO 8601 UTC text and flags are 0/1 integers in
 * both dialects, so one set of queries serves SQLite and PostgreSQL alike.
 */
export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string | null;
  system_role: 'admin' | 'user';
  active: number;
  created_at: string;
  updated_at: string;
}

export interface ResourcesTable {
  id: string;
  type: string;
  name: string;
  parent_id: string | null;
  created_at: string;
  updated_at: string;
  /** The platform's own id for the resource (unique per type), when it mirrors it into keygate. */
  external_id: string | null;
}

export interface MembershipsTable {
  resource_id: string;
  user_id: string;
  role: string;
  created_at: string;
}

export interface TokensTable {
  id: string;
  name: string;
  description: string;
  owner_id: string;
  resource_id: string | null;
  level: string | null;
  /** JSON array of permission names (explicit list; empty when `level` is set). */
  permissions: string;
  /** JSON array of API group names. */
  api_groups: string;
  expires_at: string | null;
  active: number;
  /** Id of the user who deactivated the token (null while active, or unknown for older rows). */
  deactivated_by: string | null;
  impersonate_user_id: string | null;
  logging: 'none' | 'request' | 'request+response';
  key_prefix: string;
  /** AES-256-GCM ciphertext of the key, only when recoverable keys are on. */
  encrypted_key: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  last_used_ip: string | null;
  /** Requests per window; null: the permission level's default (if any); 0: unlimited. */
  rate_limit: number | null;
  rate_window_ms: number | null;
  /** Whose requests share the count: the token's own (`token`, also when null) or all its owner's tokens. */
  rate_per: 'token' | 'owner' | null;
  /** Remaining uses; null: no credits (unlimited). Changed only by the one conditional UPDATE that spends them. */
  credits_remaining: number | string | null;
  /** Each refill sets `credits_remaining` to this. */
  credits_refill_amount: number | string | null;
  credits_refill_interval_ms: number | string | null;
  /** Epoch ms of the last refill (the start of the current interval). */
  credits_refilled_at: number | string | null;
  /** JSON array of addresses and CIDR ranges; null: any address. */
  ip_allowlist: string | null;
}

export interface TokenKeysTable {
  key_hash: string;
  token_id: string;
  /** Null for the current key; set when a roll leaves the old key valid for a grace period. */
  expires_at: string | null;
  created_at: string;
}

export interface SessionsTable {
  id_hash: string;
  user_id: string;
  created_at: string;
  expires_at: string;
}

export interface AuditEventsTable {
  id: string;
  at: string;
  /** `anonymous`: nobody signed in (a failed sign-in). */
  actor_type: 'user' | 'token' | 'system' | 'anonymous';
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string;
  resource_id: string | null;
  /** JSON object with what changed; never a key, hash or password. */
  details: string;
  ip: string | null;
  /**
   * The token the change was made through, whenever a token made it. For an impersonating token
   * the actor is the impersonated user; otherwise the actor is this token itself.
   */
  via_token_id: string | null;
  user_agent: string | null;
}

/** One request that presented a key. Times are epoch milliseconds; no key, hash or password is ever stored. */
export interface AccessLogTable {
  at: number;
  id: string;
  request_id: string;
  token_id: string | null;
  owner_id: string | null;
  resource_id: string | null;
  method: string;
  /** The route pattern (`/api/v1.0/tokens/:id`); null when no route matched. */
  route: string | null;
  /** The concrete path, without the query string. */
  path: string;
  api_version: string | null;
  status: number;
  duration_us: number;
  ip: string | null;
  user_agent: string | null;
  /** The key's decision code (VALID, KEY_EXPIRED …) or the error code the request was answered with. */
  outcome: string;
  /** Where the key came from (`header:x-api-key` …); null when the credentials could not be read. */
  carrier: string | null;
  /** For a key that resolved to no token: its public prefix and a short fingerprint, never the key. */
  key_prefix: string | null;
  key_fingerprint: string | null;
  /** JSON of the redacted request (and response) headers and bodies, when the token logs them. */
  capture: string | null;
}

/** Per-token request counts per hour and per day, summed from the access log as its batches are written. */
export interface TokenUsageTable {
  token_id: string;
  span: 'hour' | 'day';
  /** Start of the bucket, epoch milliseconds (UTC). */
  bucket: number;
  requests: number;
  refusals: number;
  errors: number;
}

/** A webhook: per resource, or system-wide when `resource_id` is null. */
export interface WebhooksTable {
  id: string;
  resource_id: string | null;
  url: string;
  /** The signing secret; shown to its creator once, never listed. */
  secret: string;
  /** JSON array of event types; empty for every event. */
  events: string;
  active: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** The outbox: one row per event per webhook, written before anything is sent. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  /** The JSON body sent, exactly as signed. Never a key, hash or secret. */
  payload: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  next_attempt_at: string;
  /** The HTTP status of the last answer; null when none came. */
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

/** Expiry notices already sent, per token and the expiry they were for. */
export interface TokenNoticesTable {
  token_id: string;
  /** `expiring:<days>` or `expired`. */
  kind: string;
  expires_at: string;
  created_at: string;
}

/** The addresses a token has been used from. */
export interface TokenAddressesTable {
  token_id: string;
  ip: string;
  first_seen_at: string;
}

export interface Database {
  users: UsersTable;
  resources: ResourcesTable;
  memberships: MembershipsTable;
  tokens: TokensTable;
  token_keys: TokenKeysTable;
  sessions: SessionsTable;
  audit_events: AuditEventsTable;
  access_log: AccessLogTable;
  token_usage: TokenUsageTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  token_notices: TokenNoticesTable;
  token_addresses: TokenAddressesTable;
}
