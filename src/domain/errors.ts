/**
 * The one registry of error codes. Every error body the API sends carries one of these codes;
 * its HTTP status is derived here and nowhere else, so code and status cannot drift apart.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid.' },
  MALFORMED_BODY: { status: 400, message: 'The request body could not be parsed.' },
  MALFORMED_REQUEST: { status: 400, message: 'The request could not be read as HTTP/1.1.' },
  MALFORMED_URL: { status: 400, message: 'The URL could not be decoded.' },
  AMBIGUOUS_CREDENTIALS: { status: 400, message: 'The request presents more than one different key.' },
  QUERY_KEY_DISABLED: {
    status: 400,
    message: 'Keys in the query string are switched off on this server; send the key in the X-API-Key header.',
  },
  UNAUTHENTICATED: { status: 401, message: 'Sign in or present an API key.' },
  INVALID_CREDENTIALS: { status: 401, message: 'The email address or password is wrong.' },
  KEY_MALFORMED: { status: 401, message: 'The API key is not in a valid format.' },
  KEY_INVALID: { status: 401, message: 'The API key is not valid.' },
  KEY_EXPIRED: { status: 401, message: 'The API key has expired.' },
  KEY_DISABLED: { status: 401, message: 'The API key is deactivated.' },
  CSRF_FAILED: {
    status: 403,
    message: 'A signed-in change must come from this site and carry the X-CSRF-Token from sign-in (or GET /me).',
  },
  CURRENT_PASSWORD_INVALID: { status: 403, message: 'The current password is wrong.' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this.' },
  INSUFFICIENT_PERMISSIONS: { status: 403, message: 'The caller lacks a permission this request needs.' },
  IP_NOT_ALLOWED: {
    status: 403,
    message: "The API key may not be used from this address (the token's IP allowlist does not hold it).",
  },
  API_GROUP_NOT_ALLOWED: { status: 403, message: 'This API key may not call endpoints of this API group.' },
  PERMISSION_ESCALATION: { status: 403, message: 'A token cannot hold more than the person who creates or edits it.' },
  ROLE_ESCALATION: { status: 403, message: 'You cannot give a role with more rights than your own.' },
  NOT_FOUND: { status: 404, message: 'Not found.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'There is no such endpoint.' },
  KEY_NOT_RECOVERABLE: {
    status: 404,
    message: "This token's key was not stored and cannot be shown again; roll the token for a new key.",
  },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed here.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time.' },
  CONFLICT: { status: 409, message: 'This conflicts with the current state.' },
  EMAIL_TAKEN: { status: 409, message: 'A user with this email address exists already.' },
  KEY_TAKEN: { status: 409, message: 'This key value is already in use; choose another.' },
  RESOURCE_NOT_EMPTY: { status: 409, message: 'The resource still has children; delete or move them first.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  URI_TOO_LONG: { status: 414, message: 'A part of the URL is too long.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'This content type is not supported.' },
  INVALID_PARENT: { status: 422, message: 'A resource of this type cannot be placed there.' },
  UNKNOWN_RESOURCE_TYPE: { status: 422, message: 'This resource type is not configured.' },
  UNKNOWN_PERMISSION: { status: 422, message: 'This permission is not defined.' },
  UNKNOWN_LEVEL: { status: 422, message: 'This permission level is not defined.' },
  UNKNOWN_API_GROUP: { status: 422, message: 'This API group is not defined.' },
  UNKNOWN_USER: { status: 422, message: 'There is no such user.' },
  INVALID_EXPIRY: { status: 422, message: 'The expiry is not valid.' },
  EXPIRY_TOO_LONG: { status: 422, message: "The expiry is later than this server's policy allows." },
  CUSTOM_KEY_NOT_ALLOWED: { status: 422, message: 'Choosing a key value is not allowed here.' },
  CUSTOM_KEY_INVALID: {
    status: 422,
    message:
      'The chosen key value is too short, has characters that are not allowed, or uses the generated-key prefix.',
  },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down.' },
  USAGE_EXCEEDED: { status: 429, message: 'The API key has no credits (remaining uses) left.' },
  INTERNAL: { status: 500, message: 'Something went wrong on our side; the request id identifies it in our logs.' },
  UNAVAILABLE: { status: 503, message: 'The service is not ready.' },
  UPSTREAM_UNAVAILABLE: { status: 502, message: 'The API behind the gateway cannot be reached.' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'The API behind the gateway did not answer in time.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error meant for the caller: a stable code, a human message and, where known, the field at fault. */
export class KeygateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message?: string, field?: string) {
    super(message ?? ERROR_CODES[code].message);
    this.name = 'KeygateError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.field = field;
  }
}

/** Shorthand: `fail('NOT_FOUND')` throws the registry's error. */
export function fail(code: ErrorCode, message?: string, field?: string): never {
  throw new KeygateError(code, message, field);
}
