/**
 * What the access log may keep of a request or response: headers and bodies with every secret
 * replaced and every part capped. Pure: the HTTP layer decides when to capture, this decides what.
 */

export const REDACTED = '[redacted]';

/** Headers whose values are credentials or sessions, in any request or response. */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'x-apikey',
  'cookie',
  'set-cookie',
  'x-csrf-token',
]);

/**
 * Field names whose values are secrets wherever they appear in a body or query: the key carriers
 * (`key`, `apiToken`, `API_Key`), passwords, secrets, CSRF tokens, encrypted keys.
 */
const SECRET_FIELD_RE =
  /^(key|api_?key|api_?token|access_?token|token_?key|csrf_?token|secret|.*password.*|.*secret.*|encrypted_?key)$/i;

export interface Captured {
  headers: Record<string, string>;
  /** The body as text (JSON re-serialised after redaction), or null when there was none. */
  body: string | null;
  /** True when the header block or the body was cut at the cap. */
  truncated: boolean;
}

/** A field name as APIs name fields (letters, digits, `_ - . $ [ ]`, up to 64); others are redacted. */
const ORDINARY_NAME = /^[A-Za-z0-9_$.[\]-]{1,64}$/;

/** Whether a field of that name holds a secret. */
export function isSecretField(name: string): boolean {
  return SECRET_FIELD_RE.test(name);
}

/**
 * A pattern for anything shaped like a key of this deployment (its prefix, then 20 or more base62
 * characters), so a key echoed in an unexpected field — an error message, a note — is caught too.
 */
export function keyPattern(prefix: string): RegExp {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${escaped}[0-9A-Za-z]{20,}`, 'g');
}

/** Replaces anything shaped like a key in a string. */
export function scrubKeys(text: string, pattern: RegExp): string {
  pattern.lastIndex = 0;
  return pattern.test(text) ? text.replace(pattern, REDACTED) : text;
}

/** A deep copy of a parsed body with secret fields and key-shaped strings replaced. */
export function redactValue(value: unknown, pattern: RegExp, depth = 0): unknown {
  if (typeof value === 'string') return scrubKeys(value, pattern);
  if (value === null || typeof value !== 'object') return value;
  // Deeper than any body keygate accepts: not walked further, and not kept.
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, pattern, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(value)) {
    // A name unlike a field's is the caller's text (a form parser makes JSON sent as a form one
    // field named by the whole text, keys and passwords and all): it is not kept.
    out[ORDINARY_NAME.test(name) ? scrubKeys(name, pattern) : REDACTED] =
      isSecretField(name) && v !== null && v !== undefined ? REDACTED : redactValue(v, pattern, depth + 1);
  }
  return out;
}

/** Cuts text to at most `limit` bytes of UTF-8 without splitting a character. */
export function capText(text: string, limit: number): { text: string; truncated: boolean } {
  // A UTF-16 unit is at most 3 UTF-8 bytes: short texts need no measuring.
  if (text.length * 3 <= limit) return { text, truncated: false };
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= limit) return { text, truncated: false };
  let end = limit;
  // Step back off continuation bytes (10xxxxxx) so the cut falls between characters.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { text: new TextDecoder().decode(bytes.subarray(0, end)), truncated: true };
}

/** Headers with secret values replaced, key-shaped strings scrubbed, and the block capped. */
export function redactHeaders(
  headers: Record<string, string | string[] | number | undefined>,
  pattern: RegExp,
  limit: number,
): { headers: Record<string, string>; truncated: boolean } {
  const out: Record<string, string> = {};
  let used = 0;
  for (const [rawName, rawValue] of Object.entries(headers)) {
    if (rawValue === undefined) continue;
    const name = rawName.toLowerCase();
    const value = Array.isArray(rawValue) ? rawValue.join(', ') : String(rawValue);
    const kept = SECRET_HEADERS.has(name) ? REDACTED : scrubKeys(value, pattern);
    used += name.length + kept.length + 4;
    if (used > limit) return { headers: out, truncated: true };
    out[name] = kept;
  }
  return { headers: out, truncated: false };
}

/**
 * A body as the log may keep it: JSON (parsed objects, or text that parses) with secret fields
 * replaced; form-encoded text with secret fields replaced; any other text scrubbed of key-shaped
 * strings; then capped.
 */
export function redactBody(
  body: unknown,
  contentType: string | undefined,
  pattern: RegExp,
  limit: number,
): { body: string | null; truncated: boolean } {
  if (body === undefined || body === null || body === '') return { body: null, truncated: false };
  let text: string;
  const type = (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
  if (typeof body === 'object' && !(body instanceof Uint8Array)) {
    text = JSON.stringify(redactValue(body, pattern));
  } else {
    const raw = typeof body === 'string' ? body : new TextDecoder().decode(body as Uint8Array);
    text = redactText(raw, type, pattern);
  }
  const capped = capText(text, limit);
  return { body: capped.text, truncated: capped.truncated };
}

function redactText(raw: string, type: string, pattern: RegExp): string {
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return JSON.stringify(redactValue(JSON.parse(raw), pattern));
    } catch {
      // Not JSON after all: kept as text, scrubbed below.
    }
  }
  if (type === 'application/x-www-form-urlencoded') return redactQuery(raw, pattern);
  return scrubKeys(raw, pattern);
}

/** A query or form string with secret fields' values replaced. */
export function redactQuery(query: string, pattern: RegExp): string {
  if (query === '') return query;
  const params = new URLSearchParams(query);
  const out = new URLSearchParams();
  for (const [name, value] of params) out.append(name, isSecretField(name) ? REDACTED : scrubKeys(value, pattern));
  return out.toString();
}
