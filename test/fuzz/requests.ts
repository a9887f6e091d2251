import fc from 'fast-check';
import { generateKey } from '../../src/domain/keys.js';
import { PASSWORD } from '../support/client.js';
import type { Operation, Schema } from './operations.js';
import { WEBHOOK_URL, type PrincipalName, type TargetKind, type World } from './world.js';

/**
 * fast-check arbitraries for requests to one documented operation, and the code that turns one
 * into bytes. Generated requests are symbolic — "the second target token", "a 10,000-deep array",
 * "the admin's key in X-ApiKey" — and made concrete only when sent: a counterexample prints short
 * and never holds a key, and ids stay real after the world replaced what a request deleted.
 */

// ---------------------------------------------------------------------------------------------
// Placeholders: printable, resolved at send time.

/** A real id (or a target user's email), by index into the world's current targets. */
export class Ref {
  constructor(
    readonly kind: TargetKind | 'email',
    readonly index: number,
  ) {}
  [fc.toStringMethod](): string {
    return `<${this.kind} ${this.index}>`;
  }
}

/** Text too big (or not even JSON) to keep in a counterexample: expanded as raw JSON text when sent. */
export class Big {
  constructor(
    readonly shape: 'deep-array' | 'deep-object' | 'long-string' | 'raw',
    readonly size: number,
    readonly text = '',
  ) {}
  /** The JSON text this stands for. */
  json(): string {
    if (this.shape === 'deep-array') return `${'['.repeat(this.size)}${']'.repeat(this.size)}`;
    if (this.shape === 'deep-object') return `${'{"a":'.repeat(this.size)}1${'}'.repeat(this.size)}`;
    if (this.shape === 'long-string') return `"${'x'.repeat(this.size)}"`;
    return this.text;
  }
  /** As a form or query value. */
  plain(): string {
    return this.shape === 'long-string' ? 'x'.repeat(this.size) : this.json();
  }
  [fc.toStringMethod](): string {
    return this.shape === 'raw' ? `<raw ${this.text}>` : `<${this.shape} ${this.size}>`;
  }
}

// ---------------------------------------------------------------------------------------------
// The symbolic request.

export type Carrier =
  | 'x-api-key'
  | 'x-apikey'
  | 'apiToken'
  | 'bearer'
  | 'query:key'
  | 'query:apiToken'
  | 'form'
  | 'json';
export const CARRIERS: Carrier[] = [
  'x-api-key',
  'x-apikey',
  'apiToken',
  'bearer',
  'query:key',
  'query:apiToken',
  'form',
  'json',
];

/** Whose key a carrier holds: a principal's, one never issued, one with a broken checksum, or none. */
export type KeyOf = PrincipalName | 'unissued' | 'malformed' | 'blank';

export type CredentialSpec =
  | { as: 'none' }
  | { as: 'cookie'; who: PrincipalName; csrf: 'right' | 'missing' | 'wrong' | 'twice'; crossSite: boolean }
  | { as: 'keys'; placements: { carrier: Carrier; key: KeyOf }[]; cookie?: PrincipalName }
  | { as: 'header'; name: string; value: string };

export type BodySpec =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'form'; value: unknown; raw?: string }
  | { kind: 'text'; text: string }
  | { kind: 'invalid-utf8'; value: unknown; bytes: number[] }
  | { kind: 'truncated-json'; value: unknown; cut: number }
  | { kind: 'multipart'; value: unknown };

/** What Content-Type to send: the natural one for the body, none, one from the list, or two. */
export type ContentTypeSpec =
  | { as: 'natural' }
  | { as: 'none' }
  | { as: 'given'; value: string }
  | { as: 'two'; values: [string, string] };

export interface RequestSpec {
  params: (Ref | Big | string)[];
  query: [string, unknown][];
  rawQuery: string | undefined;
  body: BodySpec;
  contentType: ContentTypeSpec;
  credential: CredentialSpec;
  /** GitHub's secret-scanning route: sign the exact bytes sent with the test's GitHub key, so the handler runs. */
  sign: boolean;
  /** The operation's documented header parameters, with whatever text. */
  headers: [string, string][];
}

// ---------------------------------------------------------------------------------------------
// Values.

const DEEP = 10_000;

/** Values of the wrong type or beyond any sensible range, for any field. */
const WRONG: unknown[] = [
  -1,
  0,
  1.5,
  -0.000001,
  2 ** 31,
  2 ** 53 + 2,
  -(2 ** 63),
  1e308,
  -1e308,
  new Big('raw', 0, '1e999'),
  new Big('raw', 0, '-1e999'),
  new Big('raw', 0, '123456789012345678901234567890'),
  new Big('raw', 0, '-0'),
  new Big('raw', 0, '1E-400'),
  '',
  ' ',
  'NaN',
  'Infinity',
  '-1',
  '1e3',
  '0x10',
  'null',
  'true',
  true,
  false,
  null,
  [],
  [null],
  [[[]]],
  {},
  { $gt: '' },
  { length: 1 },
  'a'.repeat(300),
  '\u0000',
  '\uD800',
  'a\u0000b',
  '日本語テキスト',
  '💥🔑',
  '\u202Eevil',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '../../etc/passwd',
  '%00',
  '2001-02-30T25:61:61Z',
  new Big('long-string', 70_000),
  new Big('deep-array', DEEP),
  new Big('deep-object', DEEP),
];

/** Extra property names: prototype keys and names careless code may trust. */
const EXTRA_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'API_Key',
  'key',
  'id',
  'ownerId',
  'createdBy',
  'systemRole',
  'active',
  '$where',
  '',
  'a.b',
  'x'.repeat(200),
];

/** Values a field of this name plausibly takes, so requests also reach the services, not only validation. */
function hinted(name: string): fc.Arbitrary<unknown> | undefined {
  const ref = (kind: TargetKind | 'email') => fc.nat(9).map((i) => new Ref(kind, i));
  switch (name) {
    case 'parentId':
    case 'resourceId':
    case 'targetId':
      return ref('resource');
    case 'impersonate':
      return fc.oneof(ref('user'), ref('email'));
    case 'userId':
    case 'ownerId':
    case 'owner':
    case 'actorId':
      return ref('user');
    case 'tokenId':
      return ref('token');
    case 'type':
      return fc.constantFrom('account', 'folder', 'building', 'database', 'keygate_api_key', 'nope');
    case 'role':
    case 'level':
      return fc.constantFrom('reader', 'manager', 'administrator', 'owner', 'toString', '__proto__');
    case 'email':
      return fc.constantFrom('fuzz-new@example.com', 'FUZZ-NEW@example.com', 'not-an-email', 'a@b');
    case 'password':
    case 'currentPassword':
      return fc.constantFrom(PASSWORD, 'short', 'p'.repeat(1024), 'p'.repeat(1025));
    case 'url':
      return fc.constantFrom(
        WEBHOOK_URL,
        'https://user:pw@example.com/',
        'http://169.254.169.254/',
        'ftp://x',
        'not a url',
      );
    case 'key':
    case 'token':
      return fc.constantFrom('unissued' as const, 'malformed' as const).map((k) => new KeyValue(k));
    case 'name':
      return fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.constantFrom(' ', 'Δ name', '\t'));
    case 'ids':
      return fc.array(ref('token'), { minLength: 1, maxLength: 3 });
    default:
      return undefined;
  }
}

/** A key value in a body field that is judged or reported (never a principal's: it would be revoked). */
export class KeyValue {
  constructor(readonly of: 'unissued' | 'malformed') {}
  [fc.toStringMethod](): string {
    return `<${this.of} key>`;
  }
}

const SAFE_PATTERN_LIMIT = 64;

/** A value that fits the schema (mostly): the starting point the mutations bend. */
export function valueFor(schema: Schema | undefined, name = '', depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return fc.jsonValue({ maxDepth: 1 });
  const hint = name ? hinted(name) : undefined;
  if (hint && schema.type !== 'array')
    return fc.oneof({ weight: 3, arbitrary: hint }, { weight: 1, arbitrary: plain(schema, name, depth) });
  return plain(schema, name, depth);
}

function plain(schema: Schema, name: string, depth: number): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches && branches.length > 0) return fc.oneof(...branches.map((b) => valueFor(b, name, depth + 1)));
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((t) => plain({ ...schema, type: t }, name, depth)));
  switch (types[0]) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? -1000, -(2 ** 31)),
        max: Math.min(schema.maximum ?? 1000, 2 ** 31),
      });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1000, noNaN: true });
    case 'array': {
      const item = valueFor(schema.items, name === 'ids' ? 'tokenId' : name, depth + 1);
      const min = schema.minItems ?? 0;
      return fc.array(item, { minLength: min, maxLength: Math.min(schema.maxItems ?? 3, min + 3) });
    }
    case 'object':
      return objectFor(schema, depth);
    case 'string':
      return stringFor(schema);
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

function stringFor(schema: Schema): fc.Arbitrary<string> {
  if (schema.format === 'date-time')
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString());
  if (schema.format === 'email') return fc.emailAddress().map((e) => e.slice(0, schema.maxLength ?? 320));
  const max = Math.min(schema.maxLength ?? 40, 40);
  const min = Math.min(schema.minLength ?? 0, max);
  if (schema.pattern && schema.pattern.length <= SAFE_PATTERN_LIMIT) {
    try {
      return (
        fc
          .stringMatching(new RegExp(schema.pattern))
          // Padded with itself, not filtered: a filter for long matches of a short-biased generator never ends.
          .map((s) => (s.length >= min ? s : s.repeat(Math.ceil(min / Math.max(1, s.length))).padEnd(min, 'a')))
          .map((s) => s.slice(0, schema.maxLength ?? 80))
      );
    } catch {
      // A pattern fast-check cannot generate from: any text will do, validation decides.
    }
  }
  return fc.string({ minLength: min, maxLength: max });
}

function objectFor(schema: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const entries = Object.entries(props);
  if (entries.length === 0)
    return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, v] of entries) model[k] = valueFor(v, k, depth + 1);
  const some = fc.record(model, { requiredKeys: [...required] }) as fc.Arbitrary<Record<string, unknown>>;
  if (required.size === 0) return some;
  // Only what is required, more often than not: many optional fields together often conflict
  // (a level and a permission list), and a request should also get through to the service.
  const needed = Object.fromEntries(Object.entries(model).filter(([k]) => required.has(k)));
  return fc.oneof(fc.record(needed) as fc.Arbitrary<Record<string, unknown>>, some);
}

/** Sets a property as data, even `__proto__` (plain assignment would set the prototype instead). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  return obj;
}

const wrongValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...WRONG) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
);

/** Bends a valid value: a field of the wrong type, an extra or missing one, the wrong top-level type, deep nesting. */
function mutated(valid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  return fc.oneof(
    { weight: 10, arbitrary: valid },
    {
      weight: 4,
      arbitrary: fc.tuple(valid, fc.nat(), wrongValue).map(([v, i, w]) => {
        if (!isObject(v)) return w;
        const keys = Object.keys(v);
        if (keys.length === 0) return setOwn({}, 'name', w);
        return setOwn({ ...v }, keys[i % keys.length]!, w);
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(...EXTRA_NAMES), wrongValue)
        .map(([v, k, w]) => (isObject(v) ? setOwn({ ...v }, k, w) : v)),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(valid, fc.nat()).map(([v, i]) => {
        if (!isObject(v)) return v;
        const keys = Object.keys(v);
        const out = { ...v };
        if (keys.length > 0) delete out[keys[i % keys.length]!];
        return out;
      }),
    },
    { weight: 1, arbitrary: valid.map((v) => [v]) },
    { weight: 2, arbitrary: wrongValue },
    { weight: 1, arbitrary: fc.constantFrom(new Big('deep-array', DEEP), new Big('deep-object', DEEP)) },
    // Beyond the default body limit (1 MiB): refused by size, never read into memory whole.
    { weight: 1, arbitrary: valid.map((v) => (isObject(v) ? { ...v, name: new Big('long-string', 1_100_000) } : v)) },
  );
}

const INVALID_UTF8: number[][] = [
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x80],
  [0xe2, 0x82],
  [0xf4, 0x90, 0x80, 0x80],
];

const FORM_RAW = [
  'a=%zz',
  'name=%ff%fe',
  '&&&',
  '=x',
  'a[b][c]=1',
  'name=1&name=2',
  '%',
  'key',
  'name=a%00b',
  `name=${'%41'.repeat(5000)}`,
];

function bodyFor(op: Operation): fc.Arbitrary<BodySpec> {
  const valid = op.body
    ? valueFor(op.body)
    : fc.dictionary(fc.constantFrom('name', 'id', 'x'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 });
  const value = mutated(valid);
  return fc.oneof(
    { weight: op.body ? 1 : 4, arbitrary: fc.constant<BodySpec>({ kind: 'none' }) },
    { weight: 14, arbitrary: value.map((v): BodySpec => ({ kind: 'json', value: v })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(value, fc.option(fc.constantFrom(...FORM_RAW), { nil: undefined }))
        .map(
          ([v, raw]): BodySpec => (raw === undefined ? { kind: 'form', value: v } : { kind: 'form', value: v, raw }),
        ),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map((text): BodySpec => ({ kind: 'text', text })) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(valid, fc.constantFrom(...INVALID_UTF8))
        .map(([v, bytes]): BodySpec => ({ kind: 'invalid-utf8', value: v, bytes })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(valid, fc.nat()).map(([v, cut]): BodySpec => ({ kind: 'truncated-json', value: v, cut })),
    },
    { weight: 1, arbitrary: valid.map((v): BodySpec => ({ kind: 'multipart', value: v })) },
  );
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset=UTF-8',
  'application/json; charset="utf-8"',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/problem+json',
  'application/json, text/plain',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'text/plain',
  'text/plain; charset=utf-8',
  'text/html',
  'text/xml',
  'multipart/form-data',
  'multipart/form-data; boundary=fuzz',
  'application/octet-stream',
  '*/*',
  ';',
  'application/',
  'json',
  '',
];

function contentTypeFor(): fc.Arbitrary<ContentTypeSpec> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant<ContentTypeSpec>({ as: 'natural' }) },
    { weight: 1, arbitrary: fc.constant<ContentTypeSpec>({ as: 'none' }) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(...CONTENT_TYPES).map((value): ContentTypeSpec => ({ as: 'given', value })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...CONTENT_TYPES.slice(0, 13)), fc.constantFrom(...CONTENT_TYPES.slice(10, 14)))
        .map(([a, b]): ContentTypeSpec => ({ as: 'two', values: [a, b] })),
    },
  );
}

/** Path segments that are not ids: nonsense, encodings, very long. */
const SEGMENTS = [
  'x',
  'res_',
  'tok_',
  'usr_',
  'tok_AAAAAAAAAAAAAAAAAAAA',
  '0',
  '-1',
  '1e999',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  '%20',
  '%2F',
  '%25',
  '%zz',
  '%00',
  '%C0%AF',
  '%ED%A0%80',
  '..',
  '%2e%2e',
  'a%20b',
  '%F0%9F%92%A5',
  new Big('long-string', 499),
  new Big('long-string', 501),
];

function paramFor(kind: TargetKind): fc.Arbitrary<Ref | Big | string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.nat(9).map((i) => new Ref(kind, i)) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom<TargetKind | 'email'>('resource', 'user', 'token', 'webhook', 'delivery', 'email'),
          fc.nat(9),
        )
        .map(([k, i]) => new Ref(k, i)),
    },
    { weight: 2, arbitrary: fc.constantFrom(...SEGMENTS) },
    { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 12 }).map(encodeURIComponent) },
  );
}

const QUERY_WRONG = [
  '',
  'abc',
  '-1',
  '0',
  '1.5',
  '1e999',
  'NaN',
  '99999999999999999999',
  'null',
  '[]',
  '{}',
  'true',
  '*',
  '%00',
  '\u0000',
  '\uD800',
  new Big('long-string', 2000),
  '2001-13-45',
  '2001-01-01T00:00:00Z',
];
const RAW_QUERY = [
  '%zz',
  'a=%',
  '&&=',
  'limit[]=1',
  'limit[a]=1',
  'limit=1&limit=2',
  '=%00',
  '__proto__=1',
  'constructor[prototype]=1',
  'a=%ff',
  '%E0%A4%A',
];

function queryFor(op: Operation): fc.Arbitrary<[string, unknown][]> {
  const perParam = op.query.map(({ name, schema }) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constant<[string, unknown][]>([]) },
      { weight: 3, arbitrary: valueFor(schema, name).map((v): [string, unknown][] => [[name, v]]) },
      { weight: 2, arbitrary: fc.constantFrom(...QUERY_WRONG).map((v): [string, unknown][] => [[name, v]]) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(valueFor(schema, name), fc.constantFrom(...QUERY_WRONG))
          .map(([a, b]): [string, unknown][] => [
            [name, a],
            [name, b],
          ]),
      },
    ),
  );
  const extra = fc.array(
    fc.tuple(
      fc.constantFrom('limit', 'cursor', 'q', 'format', 'x', '__proto__', 'toString', 'key[]', 'state'),
      fc.constantFrom(...QUERY_WRONG),
    ),
    { maxLength: 2 },
  );
  return fc.tuple(fc.tuple(...perParam), extra).map(([parts, more]) => [...parts.flat(), ...more]);
}

const PRINCIPALS: PrincipalName[] = ['admin', 'reader'];

function credentialFor(op: Operation): fc.Arbitrary<CredentialSpec> {
  const principal = fc.constantFrom(...PRINCIPALS);
  const keyOf = fc.oneof(
    { weight: 6, arbitrary: principal },
    { weight: 1, arbitrary: fc.constantFrom<KeyOf>('unissued', 'malformed', 'blank') },
  );
  const one = fc
    .tuple(fc.constantFrom(...CARRIERS), principal)
    .map(([carrier, key]): CredentialSpec => ({ as: 'keys', placements: [{ carrier, key }] }));
  return fc.oneof(
    { weight: op.public ? 4 : 2, arbitrary: fc.constant<CredentialSpec>({ as: 'none' }) },
    { weight: 6, arbitrary: one },
    {
      weight: 4,
      arbitrary: fc
        .record({
          who: principal,
          csrf: fc.constantFrom('right', 'right', 'missing', 'wrong', 'twice'),
          crossSite: fc.boolean(),
        })
        .map(
          (c): CredentialSpec => ({ as: 'cookie', ...(c as Omit<Extract<CredentialSpec, { as: 'cookie' }>, 'as'>) }),
        ),
    },
    // Every carrier at once, with the same key.
    {
      weight: 2,
      arbitrary: principal.map(
        (key): CredentialSpec => ({ as: 'keys', placements: CARRIERS.map((carrier) => ({ carrier, key })) }),
      ),
    },
    // Every carrier at once, or some, with keys that may differ (and may be repeated: duplicate headers).
    {
      weight: 3,
      arbitrary: fc
        .tuple(
          fc.array(fc.record({ carrier: fc.constantFrom(...CARRIERS), key: keyOf }), { minLength: 2, maxLength: 10 }),
          fc.option(principal, { nil: undefined }),
        )
        .map(
          ([placements, cookie]): CredentialSpec =>
            cookie ? { as: 'keys', placements, cookie } : { as: 'keys', placements },
        ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom('authorization', 'x-api-key', 'x-apikey', 'cookie'),
          fc.constantFrom(
            'Basic dXNlcjpwdw==',
            'Bearer',
            'Bearer  ',
            'apiToken a b',
            'Bearer kg_',
            'keygate_session=',
            'keygate_session=x; keygate_session=y',
            'kg_'.padEnd(300, 'A'),
            '\t',
            ',',
          ),
        )
        .map(([name, value]): CredentialSpec => ({ as: 'header', name, value })),
    },
  );
}

/**
 * A request made in good faith: a body that fits the schema, its natural content type, real ids,
 * one principal presenting itself properly. These reach the services, and so do their refusals.
 */
function wellMeant(op: Operation): fc.Arbitrary<RequestSpec> {
  const takesBody = op.body !== undefined;
  return fc.record({
    params: fc.tuple(...op.params.map((p) => fc.nat(9).map((i): Ref | Big | string => new Ref(p.kind, i)))),
    query: fc
      .tuple(...op.query.map(({ name, schema }) => fc.option(valueFor(schema, name), { nil: undefined, freq: 2 })))
      .map((values) =>
        values.flatMap((v, i): [string, unknown][] => (v === undefined ? [] : [[op.query[i]!.name, v]])),
      ),
    rawQuery: fc.constant(undefined),
    body: takesBody
      ? valueFor(op.body).map((value): BodySpec => ({ kind: 'json', value }))
      : fc.constant<BodySpec>({ kind: 'none' }),
    contentType: fc.constant<ContentTypeSpec>({ as: 'natural' }),
    credential: fc.oneof(
      fc
        .tuple(fc.constantFrom(...CARRIERS), fc.constantFrom(...PRINCIPALS))
        .map(([carrier, key]): CredentialSpec => ({ as: 'keys', placements: [{ carrier, key }] })),
      fc
        .constantFrom(...PRINCIPALS)
        .map((who): CredentialSpec => ({ as: 'cookie', who, csrf: 'right', crossSite: false })),
    ),
    sign: fc.constant(op.path.includes('secret-scanning')),
    headers: fc.constant([]),
  });
}

/** Requests for one operation: some well meant, most hostile. */
export function requestFor(op: Operation): fc.Arbitrary<RequestSpec> {
  return fc.oneof({ weight: 1, arbitrary: wellMeant(op) }, { weight: 2, arbitrary: hostile(op) });
}

/** Requests that bend everything: body, types, content type, query, credentials. */
function hostile(op: Operation): fc.Arbitrary<RequestSpec> {
  return fc.record({
    params: fc.tuple(...op.params.map((p) => paramFor(p.kind))),
    query: queryFor(op),
    rawQuery: fc.option(fc.constantFrom(...RAW_QUERY), { nil: undefined, freq: 8 }),
    body:
      op.method === 'GET' || op.method === 'DELETE'
        ? fc.oneof(
            { weight: 6, arbitrary: fc.constant<BodySpec>({ kind: 'none' }) },
            { weight: 1, arbitrary: bodyFor(op) },
          )
        : bodyFor(op),
    contentType: contentTypeFor(),
    credential: credentialFor(op),
    sign: op.path.includes('secret-scanning') ? fc.boolean() : fc.constant(false),
    headers: fc
      .tuple(
        ...op.headers.map(() =>
          fc.option(
            fc.oneof(
              fc.stringMatching(/^[\x20-\x7e]{0,100}$/),
              fc.constantFrom('', 'MEUCIQ==', 'not base64!', 'x'.repeat(1001)),
            ),
            { nil: undefined },
          ),
        ),
      )
      .map((values) =>
        values.flatMap((v, i): [string, string][] => (v === undefined ? [] : [[op.headers[i]!.name, v]])),
      ),
  });
}

// ---------------------------------------------------------------------------------------------
// Making a request concrete.

export interface Concrete {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  payload: Buffer | undefined;
}

/** A key already made concrete (a carrier's), kept as is by the encoder. */
class KeyValueResolved {
  constructor(readonly value: string) {}
  toJSON(): string {
    return this.value;
  }
  toString(): string {
    return this.value;
  }
}

/** Resolves placeholders to today's ids and keys; Big values become sentinels replaced in the text. */
class Encoder {
  readonly bigs: Big[] = [];
  constructor(
    readonly world: World,
    readonly prefix: string,
  ) {}

  ref(r: Ref): string {
    if (r.kind === 'email') return this.world.targetEmails[r.index % this.world.targetEmails.length]!;
    const list = this.world.targets[r.kind];
    return list[r.index % list.length]!;
  }

  key(of: KeyOf | 'unissued' | 'malformed'): string {
    if (of === 'admin' || of === 'reader') return this.world.keys[of];
    if (of === 'unissued') return generateKey(this.prefix);
    if (of === 'malformed') return `${this.prefix}${'A'.repeat(36)}`;
    return '';
  }

  /** A JSON-able copy, placeholders resolved (Big as sentinel strings). */
  resolve(v: unknown, depth = 0): unknown {
    if (v instanceof Ref) return this.ref(v);
    if (v instanceof KeyValue) return this.key(v.of);
    if (v instanceof KeyValueResolved) return v.value;
    if (v instanceof Big) {
      this.bigs.push(v);
      // A private-use character: JSON.stringify keeps it as is, and no generated text holds it.
      return `\uE000BIG${this.bigs.length - 1}\uE000`;
    }
    if (Array.isArray(v)) return v.map((x) => this.resolve(x, depth + 1));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) setOwn(out, k, this.resolve(x, depth + 1));
      return out;
    }
    return v;
  }

  json(v: unknown): string {
    const text = JSON.stringify(this.resolve(v)) ?? 'null';
    return text.replace(/"\uE000BIG(\d+)\uE000"/g, (_, i: string) => this.bigs[Number(i)]!.json());
  }

  /** A flat value for a form field or query parameter. */
  flat(v: unknown): string {
    if (v instanceof Big) return v.plain();
    const r = this.resolve(v);
    if (typeof r === 'string')
      return r.replace(/\uE000BIG(\d+)\uE000/g, (_, i: string) => this.bigs[Number(i)]!.plain());
    return this.json(v);
  }

  form(v: unknown): URLSearchParams {
    const form = new URLSearchParams();
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Big))
      for (const [k, x] of Object.entries(v)) {
        if (Array.isArray(x)) for (const item of x) form.append(k, this.flat(item));
        else form.append(k, this.flat(x));
      }
    else form.append('value', this.flat(v));
    return form;
  }
}

const NATURAL: Record<BodySpec['kind'], string | undefined> = {
  none: undefined,
  json: 'application/json',
  form: 'application/x-www-form-urlencoded',
  text: 'text/plain',
  'invalid-utf8': 'application/json',
  'truncated-json': 'application/json',
  multipart: 'multipart/form-data; boundary=fuzz',
};

/** Whether a body is an object a JSON or form key carrier can be put in. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Big) && !(v instanceof Ref);
}

/**
 * The request as bytes and headers. `signer` signs the body for GitHub's route. Keys go only into
 * carriers, never into a field that is stored (a key at rest would fail the suite's secret scan).
 */
export function concrete(
  op: Operation,
  spec: RequestSpec,
  world: World,
  prefix: string,
  signer?: (body: Buffer) => { keyId: string; signature: string },
): Concrete {
  const enc = new Encoder(world, prefix);
  let i = 0;
  const path = op.path.replace(/\{\w+\}/g, () => {
    const p = spec.params[i++];
    if (p instanceof Ref) return encodeURIComponent(enc.ref(p));
    return p instanceof Big ? p.plain() : (p ?? 'x');
  });
  const query = new URLSearchParams();
  for (const [k, v] of spec.query) query.append(k, enc.flat(v));
  const headers: Record<string, string | string[]> = {};
  const add = (name: string, value: string) => {
    const had = headers[name];
    headers[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  };

  let body = spec.body;
  const cred = spec.credential;
  if (cred.as === 'cookie') {
    add('cookie', `keygate_session=${world.cookies[cred.who]}`);
    if (cred.csrf === 'right') add('x-csrf-token', world.csrf(cred.who));
    if (cred.csrf === 'wrong') add('x-csrf-token', world.csrf(cred.who === 'admin' ? 'reader' : 'admin'));
    if (cred.csrf === 'twice') {
      add('x-csrf-token', world.csrf(cred.who));
      add('x-csrf-token', world.csrf(cred.who));
    }
    if (cred.crossSite) add('origin', 'https://evil.example');
  } else if (cred.as === 'header') {
    add(cred.name, cred.value);
  } else if (cred.as === 'keys') {
    if (cred.cookie) add('cookie', `keygate_session=${world.cookies[cred.cookie]}`);
    for (const { carrier, key } of cred.placements) {
      const value = enc.key(key);
      if (carrier === 'x-api-key' || carrier === 'x-apikey') add(carrier, value);
      else if (carrier === 'apiToken' || carrier === 'bearer')
        add('authorization', `${carrier === 'bearer' ? 'Bearer' : 'apiToken'} ${value}`);
      else if (carrier === 'query:key') query.append('key', value);
      else if (carrier === 'query:apiToken') query.append('apiToken', value);
      else {
        // A body carrier makes the body an object of its kind (a JSON array or a text body cannot carry a key).
        const kind = carrier === 'form' ? 'form' : 'json';
        const base = (body.kind === 'json' || body.kind === 'form') && isPlainObject(body.value) ? body.value : {};
        const field = carrier === 'form' ? 'key' : 'API_Key';
        const had = base[field];
        // A second key for the same field becomes a list (form: a repeated field).
        const next = had === undefined ? new KeyValueResolved(value) : [had, new KeyValueResolved(value)].flat();
        body = { kind, value: setOwn({ ...base }, field, next) };
      }
    }
  }

  let payload: Buffer | undefined;
  switch (body.kind) {
    case 'none':
      break;
    case 'json':
      payload = Buffer.from(enc.json(body.value));
      break;
    case 'form':
      payload = Buffer.from([enc.form(body.value).toString(), body.raw].filter(Boolean).join('&'));
      break;
    case 'text':
      payload = Buffer.from(body.text);
      break;
    case 'invalid-utf8': {
      const text = Buffer.from(enc.json(body.value));
      const at = Math.max(1, text.indexOf('":"') + 3);
      payload = Buffer.concat([text.subarray(0, at), Buffer.from(body.bytes), text.subarray(at)]);
      break;
    }
    case 'truncated-json': {
      const text = Buffer.from(enc.json(body.value));
      payload = text.subarray(0, text.length > 1 ? 1 + (body.cut % (text.length - 1)) : 0);
      break;
    }
    case 'multipart': {
      const form = enc.form(body.value);
      const parts = [...form].map(([k, v]) => `--fuzz\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
      payload = Buffer.from(`${parts.join('')}--fuzz--\r\n`);
      break;
    }
  }

  const ct = spec.contentType;
  const natural = NATURAL[body.kind];
  if (ct.as === 'natural' && natural) add('content-type', natural);
  else if (ct.as === 'given') add('content-type', ct.value);
  else if (ct.as === 'two') {
    add('content-type', ct.values[0]);
    add('content-type', ct.values[1]);
  }
  for (const [name, value] of spec.headers) add(name, value);
  if (spec.sign && signer && payload) {
    const s = signer(payload);
    add('github-public-key-identifier', s.keyId);
    add('github-public-key-signature', s.signature);
  }
  const search = [query.toString(), spec.rawQuery].filter(Boolean).join('&');
  return { method: op.method, url: search ? `${path}?${search}` : path, headers, payload };
}

/** A body value as JSON text, placeholders resolved (for the raw socket pass). */
export function encodeJson(value: unknown, world: World, prefix: string): string {
  return new Encoder(world, prefix).json(value);
}
