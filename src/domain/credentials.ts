/**
 * Finds the API key in a request, in every place the source pages allow, with no framework
 * dependency: the server, the gateway and the SDK middleware all call this one function, so
 * they cannot disagree about what counts as a presented key. It never throws.
 */
export type CredentialSource =
  | 'header:x-api-key'
  | 'header:x-apikey'
  | 'header:authorization'
  | 'query:key'
  | 'query:apiToken'
  | 'form:key'
  | 'json:API_Key';

export interface CredentialInput {
  /** Header names in lower case, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /**
   * Every header line as sent, names and values alternating (Node's `rawHeaders`). When given,
   * the credential headers are read from it: Node keeps only the first `Authorization` and joins
   * repeated `X-API-Key` lines with ", ", which would hide a second, different key.
   */
  rawHeaders?: readonly string[] | undefined;
  /** Parsed query string; values may be strings or arrays of strings. */
  query?: unknown;
  /** Parsed body, if any. */
  body?: unknown;
  /** The request's Content-Type header. */
  contentType?: string | undefined;
}

export type CredentialResult =
  | { kind: 'none' }
  | { kind: 'key'; key: string; sources: CredentialSource[] }
  | { kind: 'error'; code: 'AMBIGUOUS_CREDENTIALS' | 'QUERY_KEY_DISABLED' };

export interface ExtractOptions {
  /** When false, a key in the query string is refused rather than read. */
  allowQueryKeys: boolean;
}

const AUTH_SCHEME_RE = /^(apitoken|bearer)[ \t]+(\S+)[ \t]*$/i;

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  return [];
}

function mediaType(contentType: string | undefined): string {
  if (typeof contentType !== 'string') return '';
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

function ownProperty(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  return Object.hasOwn(obj, name) ? (obj as Record<string, unknown>)[name] : undefined;
}

/**
 * Every value of one credential header, from the raw lines when there are any. Only names of the
 * same length are compared, so the scan over a request's few headers stays cheap.
 */
function headerValues(input: CredentialInput, name: string): string[] {
  const raw = input.rawHeaders;
  if (!raw) return strings(input.headers?.[name]);
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const n = raw[i]!;
    if (n.length === name.length && n.toLowerCase() === name && raw[i + 1] !== '') values.push(raw[i + 1]!);
  }
  return values;
}

/** Extracts the presented key, or says why the request's credentials cannot be used. */
export function extractCredential(input: CredentialInput, options: ExtractOptions): CredentialResult {
  const found: { key: string; source: CredentialSource }[] = [];
  const add = (source: CredentialSource, values: string[]) => {
    for (const v of values) found.push({ key: v.trim(), source });
  };
  add('header:x-api-key', headerValues(input, 'x-api-key'));
  add('header:x-apikey', headerValues(input, 'x-apikey'));
  for (const value of headerValues(input, 'authorization')) {
    // Other schemes (Basic, Negotiate …) belong to someone else: an upstream API may use them.
    const m = AUTH_SCHEME_RE.exec(value);
    if (m) add('header:authorization', [m[2]!]);
  }
  const queryValues = [...strings(ownProperty(input.query, 'key')), ...strings(ownProperty(input.query, 'apiToken'))];
  if (queryValues.length > 0) {
    if (!options.allowQueryKeys) return { kind: 'error', code: 'QUERY_KEY_DISABLED' };
    add('query:key', strings(ownProperty(input.query, 'key')));
    add('query:apiToken', strings(ownProperty(input.query, 'apiToken')));
  }
  const type = mediaType(input.contentType);
  if (type === 'application/x-www-form-urlencoded') add('form:key', strings(ownProperty(input.body, 'key')));
  if (type === 'application/json') add('json:API_Key', strings(ownProperty(input.body, 'API_Key')));

  const keys = found.filter((f) => f.key !== '');
  if (keys.length === 0) return { kind: 'none' };
  const key = keys[0]!.key;
  if (keys.some((f) => f.key !== key)) return { kind: 'error', code: 'AMBIGUOUS_CREDENTIALS' };
  return { kind: 'key', key, sources: [...new Set(keys.map((f) => f.source))] };
}
