import assert from 'node:assert/strict';
import type { FastifyTypebox } from '../../src/http/types.js';
import type { TargetKind } from './world.js';

/** A JSON Schema as the OpenAPI document gives it (only what the generator reads). */
export interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  $ref?: string;
}

/** One documented operation: what the fuzzer needs to aim at it. */
export interface Operation {
  method: string;
  /** The documented path, with `{name}` parameters. */
  path: string;
  /** Path parameters in order, each with the kind of object its id names. */
  params: { name: string; kind: TargetKind }[];
  query: { name: string; schema: Schema }[];
  headers: { name: string; schema: Schema }[];
  /** The JSON body schema, when the operation takes a body. */
  body: Schema | undefined;
  /** Public operations (`security: []`) take no credentials. */
  public: boolean;
}

/**
 * The documented operations today. A smaller count means the document lost routes (or the
 * fuzzer lost its way into it); raise it when routes are added.
 */
export const EXPECTED_OPERATIONS = 56;

/** Operations that must be in the document by name: a route list that parses but misses these is wrong. */
const MUST_HAVE = [
  'POST /api/v1.0/resources/{id}/tokens',
  'PATCH /api/v1.0/tokens/{id}',
  'POST /api/v1.0/tokens/{id}/roll',
  'POST /api/v1.0/verify',
  'POST /api/v1.0/session',
  'PUT /api/v1.0/resources/{id}/members/{userId}',
  'POST /api/v1.0/webhooks',
  'POST /api/v1.0/revoke',
];

/** The kind of object a path parameter names, from its name and the collection before it. */
function paramKind(path: string, name: string): TargetKind {
  if (name === 'userId') return 'user';
  if (name === 'deliveryId') return 'delivery';
  const collection = /\/api\/v[\d.]+\/(\w+)\//.exec(path)?.[1];
  if (collection === 'users') return 'user';
  if (collection === 'tokens') return 'token';
  if (collection === 'webhooks') return 'webhook';
  return 'resource';
}

/** Resolves local `$ref`s (`#/components/schemas/X` or a bare `$id`) against the document. */
function resolver(doc: { components?: { schemas?: Record<string, Schema> } }) {
  const schemas = doc.components?.schemas ?? {};
  const resolve = (s: Schema | undefined, depth = 0): Schema | undefined => {
    if (!s || depth > 20) return s;
    if (s.$ref) return resolve(schemas[s.$ref.replace(/^#\/components\/schemas\//, '')], depth + 1);
    const out: Schema = { ...s };
    if (s.properties)
      out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, resolve(v, depth + 1)!]));
    if (s.items) out.items = resolve(s.items, depth + 1);
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const)
      if (s[key]) out[key] = s[key]!.map((x) => resolve(x, depth + 1)!);
    return out;
  };
  return resolve;
}

/**
 * Every operation of keygate's own OpenAPI document, fetched from the app. Fails when the
 * document lists fewer operations than expected, so the fuzzer can never test nothing.
 */
export async function documentedOperations(app: FastifyTypebox): Promise<Operation[]> {
  const res = await app.inject({ method: 'GET', url: '/api/v1.0/openapi.json' });
  assert.equal(res.statusCode, 200, 'the OpenAPI document is served');
  const doc = res.json() as {
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: { in: string; name: string; schema?: Schema }[];
          requestBody?: { content: Record<string, { schema: Schema }> };
          security?: unknown[];
        }
      >
    >;
    components?: { schemas?: Record<string, Schema> };
  };
  const resolve = resolver(doc);
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths ?? {}))
    for (const [method, op] of Object.entries(methods)) {
      const parameters = op.parameters ?? [];
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
      ops.push({
        method: method.toUpperCase(),
        path,
        params: names.map((name) => ({ name, kind: paramKind(path, name) })),
        query: parameters
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, schema: resolve(p.schema) ?? {} })),
        headers: parameters
          .filter((p) => p.in === 'header')
          .map((p) => ({ name: p.name, schema: resolve(p.schema) ?? {} })),
        body: resolve(op.requestBody?.content['application/json']?.schema),
        public: Array.isArray(op.security) && op.security.length === 0,
      });
    }
  assert.ok(
    ops.length >= EXPECTED_OPERATIONS,
    `the OpenAPI document lists ${ops.length} operations; expected at least ${EXPECTED_OPERATIONS}`,
  );
  const listed = new Set(ops.map((o) => `${o.method} ${o.path}`));
  for (const name of MUST_HAVE) assert.ok(listed.has(name), `${name} is in the document`);
  return ops;
}
