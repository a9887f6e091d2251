import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { mayPlace, NATIVE_API_GROUP, type AccessModel } from '../domain/model.js';
import { parsePattern, type PatternSegment } from './route-table.js';
import type { DerivedRoutes, GatewayRoute, RegisterSpec, TargetRef } from './types.js';

/**
 * Derives the gateway's route table from an upstream's OpenAPI 3.0/3.1 document (issue 8, point 2),
 * and prints a table for the operator to check. Pure apart from `loadOpenApi`.
 */

type Obj = Record<string, unknown>;

const isObject = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A URL as shown in messages: no user, password or query string (they may hold a key). */
function shownSource(source: string): string {
  if (!/^https?:\/\//i.test(source)) return source;
  try {
    const url = new URL(source);
    return `${url.origin}${url.pathname}`;
  } catch {
    return 'the OpenAPI URL';
  }
}

/** Throws a clear Error unless `doc` is an OpenAPI 3.0 or 3.1 document. */
function assertOpenApi3(doc: unknown, label: string): asserts doc is Obj {
  if (!isObject(doc))
    throw new Error(`${label} is not an OpenAPI document (expected an object with an "openapi" field)`);
  if (doc.swagger !== undefined)
    throw new Error(
      `${label} is a Swagger ${String(doc.swagger)} document; keygate reads OpenAPI 3.0 and 3.1 (convert it first, e.g. with swagger2openapi)`,
    );
  const version = doc.openapi;
  if (version === undefined) throw new Error(`${label} is not an OpenAPI document (it has no "openapi" field)`);
  if (typeof version !== 'string')
    throw new Error(`${label}: the "openapi" field must be a version string such as "3.1.0" (quote it in YAML)`);
  if (!/^3\.[01](\.\d+)?(-.+)?$/.test(version))
    throw new Error(`${label} is OpenAPI ${version}; keygate reads OpenAPI 3.0 and 3.1`);
  if (doc.paths !== undefined && !isObject(doc.paths)) throw new Error(`${label}: "paths" must be an object`);
}

/**
 * Reads an OpenAPI 3.0/3.1 document, JSON or YAML, from a file path or an http(s) URL. Throws an
 * Error saying what is wrong when it cannot be read or parsed or is not OpenAPI 3.0/3.1.
 */
export async function loadOpenApi(source: string): Promise<unknown> {
  const shown = shownSource(source);
  let text: string;
  try {
    if (/^https?:\/\//i.test(source)) {
      const response = await fetch(source, {
        headers: { accept: 'application/json, application/yaml, text/yaml;q=0.9, */*;q=0.8' },
        signal: AbortSignal.timeout(30_000),
      });
      if (!response.ok) throw new Error(`the server answered ${response.status} ${response.statusText}`.trim());
      text = await response.text();
    } else {
      text = await readFile(source, 'utf8');
    }
  } catch (e) {
    throw new Error(`Cannot read the OpenAPI document ${shown}: ${errorText(e)}`);
  }
  let doc: unknown;
  try {
    const body = text.replace(/^\uFEFF/, '');
    doc = body.trimStart().startsWith('{') ? JSON.parse(body) : parseYaml(body);
  } catch (e) {
    throw new Error(`The OpenAPI document ${shown} is neither valid JSON nor valid YAML: ${errorText(e)}`);
  }
  assertOpenApi3(doc, `The document ${shown}`);
  return doc;
}

/** Follows local `$ref`s (`#/components/...`) to the object they name. */
function resolverFor(doc: Obj) {
  return function resolve(value: unknown, where: string): unknown {
    let current = value;
    const seen = new Set<string>();
    while (isObject(current) && typeof current.$ref === 'string') {
      const ref = current.$ref;
      if (!ref.startsWith('#'))
        throw new Error(`${where}: $ref ${ref} points outside the document; bundle the document into one file first`);
      if (seen.has(ref)) throw new Error(`${where}: $ref ${ref} refers to itself`);
      seen.add(ref);
      let at: unknown = doc;
      const pointer = ref.slice(1);
      if (pointer !== '') {
        if (!pointer.startsWith('/')) throw new Error(`${where}: $ref ${ref} is not a JSON pointer`);
        for (const raw of pointer.slice(1).split('/')) {
          let key: string;
          try {
            key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
          } catch {
            throw new Error(`${where}: $ref ${ref} is not a JSON pointer`);
          }
          at = isObject(at) && Object.hasOwn(at, key) ? at[key] : Array.isArray(at) ? at[Number(key)] : undefined;
          if (at === undefined) throw new Error(`${where}: $ref ${ref} does not resolve`);
        }
      }
      current = at;
    }
    return current;
  };
}
type Resolve = ReturnType<typeof resolverFor>;

/** Path part of the first server's URL, variables at their defaults, no trailing slash ('' for none). */
function basePath(doc: Obj): string {
  const servers = doc.servers;
  if (!Array.isArray(servers) || servers.length === 0) return '';
  const server = servers[0];
  if (!isObject(server) || typeof server.url !== 'string') throw new Error('servers[0] has no url');
  const variables = isObject(server.variables) ? server.variables : {};
  const url = server.url.replace(/\{([^{}]+)\}/g, (_, name: string) => {
    const variable = variables[name];
    if (isObject(variable) && typeof variable.default === 'string') return variable.default;
    throw new Error(`servers[0].url ${server.url}: the variable {${name}} has no default`);
  });
  let pathname: string;
  try {
    pathname = /^[a-z][a-z0-9+.-]*:/i.test(url)
      ? new URL(url).pathname
      : new URL(url, 'http://relative.invalid/').pathname;
  } catch {
    throw new Error(`servers[0].url ${server.url} is not a URL`);
  }
  // Request segments are compared decoded, so the table holds decoded literals too.
  const segments = pathname.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return segments.join('/').replace(/\/+$/, '');
}

const GROUP = /^[a-z][a-z0-9_-]*$/;

/** A tag as an API group name (^[a-z][a-z0-9_-]*$), or '' when nothing of it is usable. */
export function groupName(tag: string): string {
  return tag
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/[-_]+$/, '');
}

/** Resource types of the model by the words requests use for them. */
class TypeWords {
  private readonly byName = new Map<string, string>();
  private readonly byCollection = new Map<string, string>();

  constructor(model: AccessModel) {
    for (const type of Object.keys(model.resourceTypes)) {
      const word = type.toLowerCase();
      this.byName.set(word, type);
      for (const form of [word, `${word}s`, `${word}es`, word.endsWith('y') ? `${word.slice(0, -1)}ies` : word])
        if (!this.byCollection.has(form)) this.byCollection.set(form, type);
    }
  }

  /** `buildingId`, `building_id`, `BuildingID` → building. */
  ofIdName(name: string): string | undefined {
    const m = /^(.+?)[_-]?id$/i.exec(name);
    return m ? this.byName.get(m[1]!.toLowerCase()) : undefined;
  }

  /** `building`, `buildings` → building (the segment before an `{id}`, or what a POST creates). */
  ofCollection(segment: string): string | undefined {
    return this.byCollection.get(segment.toLowerCase());
  }
}

/** The operation's `x-keygate` extension, checked. */
interface KeygateExtension {
  apiGroup?: string;
  permission?: string;
  target?: TargetRef;
  register?: RegisterSpec;
  public?: boolean;
  skip?: boolean;
}

const EXTENSION_KEYS = ['apiGroup', 'permission', 'target', 'register', 'public', 'skip'];
const TARGET_KEYS = ['in', 'name', 'type'];
const REGISTER_KEYS = ['type', 'idField', 'parentField', 'nameField'];

function checkKeys(value: Obj, allowed: string[], what: string, where: string): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key))
      throw new Error(`${where}: ${what} has an unknown key "${key}" (allowed: ${allowed.join(', ')})`);
}

function optionalString(value: Obj, key: string, what: string, where: string): string | undefined {
  const v = value[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new Error(`${where}: ${what}.${key} must be a non-empty string`);
  return v;
}

/** Checks an operation's `x-keygate` value; throws an Error naming the operation when it is wrong. */
function parseExtension(value: unknown, where: string): KeygateExtension | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new Error(`${where}: x-keygate must be an object`);
  checkKeys(value, EXTENSION_KEYS, 'x-keygate', where);
  const extension: KeygateExtension = {};
  const apiGroup = optionalString(value, 'apiGroup', 'x-keygate', where);
  if (apiGroup !== undefined) {
    if (!GROUP.test(apiGroup)) throw new Error(`${where}: x-keygate.apiGroup must match ${GROUP.source}`);
    extension.apiGroup = apiGroup;
  }
  const permission = optionalString(value, 'permission', 'x-keygate', where);
  if (permission !== undefined) extension.permission = permission;
  for (const flag of ['public', 'skip'] as const) {
    const v = value[flag];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new Error(`${where}: x-keygate.${flag} must be true or false`);
    extension[flag] = v;
  }
  const target = value.target;
  if (target === 'token') extension.target = { in: 'token' };
  else if (isObject(target)) {
    checkKeys(target, TARGET_KEYS, 'x-keygate.target', where);
    if (target.in === 'token' && target.name === undefined && target.type === undefined)
      extension.target = { in: 'token' };
    else {
      if (target.in !== 'path' && target.in !== 'query' && target.in !== 'body')
        throw new Error(`${where}: x-keygate.target.in must be path, query or body (or the target 'token')`);
      const name = optionalString(target, 'name', 'x-keygate.target', where);
      if (name === undefined) throw new Error(`${where}: x-keygate.target.name is required`);
      const type = optionalString(target, 'type', 'x-keygate.target', where);
      extension.target = { in: target.in, name, ...(type === undefined ? {} : { type }) };
    }
  } else if (target !== undefined)
    throw new Error(`${where}: x-keygate.target must be 'token' or an object {in, name, type}`);
  const register = value.register;
  if (register !== undefined) {
    if (!isObject(register)) throw new Error(`${where}: x-keygate.register must be an object {type, idField, ...}`);
    checkKeys(register, REGISTER_KEYS, 'x-keygate.register', where);
    const type = optionalString(register, 'type', 'x-keygate.register', where);
    const idField = optionalString(register, 'idField', 'x-keygate.register', where);
    if (type === undefined || idField === undefined)
      throw new Error(`${where}: x-keygate.register needs a type and an idField`);
    const parentField = optionalString(register, 'parentField', 'x-keygate.register', where);
    const nameField = optionalString(register, 'nameField', 'x-keygate.register', where);
    extension.register = {
      type,
      idField,
      ...(parentField === undefined ? {} : { parentField }),
      ...(nameField === undefined ? {} : { nameField }),
    };
  }
  return extension;
}

/** Property names of an object schema (allOf merged), with the required ones; undefined if not an object. */
function objectSchema(
  schema: unknown,
  resolve: Resolve,
  where: string,
  depth = 0,
): { properties: string[]; required: Set<string> } | undefined {
  const s = resolve(schema, where);
  if (!isObject(s) || depth > 16) return undefined;
  const properties: string[] = [];
  const required = new Set<string>();
  let isObjectSchema = false;
  if (Array.isArray(s.allOf)) {
    for (const part of s.allOf) {
      const merged = objectSchema(part, resolve, where, depth + 1);
      if (!merged) continue;
      isObjectSchema = true;
      properties.push(...merged.properties);
      for (const r of merged.required) required.add(r);
    }
  }
  const type = s.type;
  const typeAllowsObject =
    type === undefined || type === 'object' || (Array.isArray(type) && (type as unknown[]).includes('object'));
  if (isObject(s.properties) && typeAllowsObject) {
    isObjectSchema = true;
    properties.push(...Object.keys(s.properties));
    if (Array.isArray(s.required)) for (const r of s.required) if (typeof r === 'string') required.add(r);
  }
  return isObjectSchema ? { properties, required } : undefined;
}

/** The schema of a JSON (preferred) or urlencoded-form entry of a content map. */
function jsonOrFormSchema(content: unknown): unknown {
  if (!isObject(content)) return undefined;
  let form: unknown;
  for (const [mediaType, media] of Object.entries(content)) {
    const type = mediaType.split(';')[0]!.trim().toLowerCase();
    if (!isObject(media)) continue;
    if (type === 'application/json' || type.endsWith('+json')) return media.schema;
    if (type === 'application/x-www-form-urlencoded') form ??= media.schema;
  }
  return form;
}

interface Candidate {
  name: string;
  type: string;
  required: boolean;
}

/** One candidate among several resource ids, preferring required ones; warns when it had to choose. */
function pick(candidates: Candidate[], what: string, label: string, warnings: string[]): Candidate | undefined {
  if (candidates.length <= 1) return candidates[0];
  const required = candidates.filter((c) => c.required);
  const pool = required.length > 0 ? required : candidates;
  const chosen = pool[0]!;
  if (pool.length > 1)
    warnings.push(
      `${label}: several ${what} name resources (${candidates.map((c) => c.name).join(', ')}); took ${chosen.name} (set x-keygate target if that is wrong)`,
    );
  return chosen;
}

/** The operation's parameters, path-item level first, operation level overriding by name and place. */
function parametersOf(item: Obj, op: Obj, resolve: Resolve, where: string): Obj[] {
  const byKey = new Map<string, Obj>();
  for (const list of [item.parameters, op.parameters]) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new Error(`${where}: parameters must be a list`);
    for (const entry of list) {
      const p = resolve(entry, where);
      if (!isObject(p) || typeof p.name !== 'string' || typeof p.in !== 'string')
        throw new Error(`${where}: a parameter has no name or no "in"`);
      byKey.set(`${p.in}:${p.name}`, p);
    }
  }
  return [...byKey.values()];
}

/**
 * Where the target resource is named, by issue 8's rules: the last path parameter naming a resource
 * type (`{buildingId}`, `{building_id}`, or `{id}` right after a `/building/` or `/buildings/`
 * segment), else a `{type}Id` property of the JSON or form body's object schema, else a `{type}Id`
 * query parameter, else the token's own resource.
 */
function deriveTarget(
  segments: PatternSegment[],
  op: Obj,
  parameters: Obj[],
  words: TypeWords,
  resolve: Resolve,
  label: string,
  warnings: string[],
): TargetRef {
  let fromPath: TargetRef | undefined;
  segments.forEach((segment, i) => {
    if (segment.kind !== 'param') return;
    const before = segments[i - 1];
    const type =
      words.ofIdName(segment.name) ??
      (segment.name.toLowerCase() === 'id' && before?.kind === 'static' ? words.ofCollection(before.value) : undefined);
    if (type !== undefined) fromPath = { in: 'path', name: segment.name, type };
  });
  if (fromPath) return fromPath;

  const body = resolve(op.requestBody, label);
  if (isObject(body)) {
    const schema = objectSchema(jsonOrFormSchema(resolve(body.content, label)), resolve, label);
    if (schema) {
      const candidates = schema.properties.flatMap((name) => {
        const type = words.ofIdName(name);
        return type === undefined ? [] : [{ name, type, required: schema.required.has(name) }];
      });
      const chosen = pick(candidates, 'body fields', label, warnings);
      if (chosen) return { in: 'body', name: chosen.name, type: chosen.type };
    }
  }

  const candidates = parameters.flatMap((p) => {
    const name = p.name as string;
    const type = p.in === 'query' ? words.ofIdName(name) : undefined;
    return type === undefined ? [] : [{ name, type, required: p.required === true }];
  });
  const chosen = pick(candidates, 'query parameters', label, warnings);
  if (chosen) return { in: 'query', name: chosen.name, type: chosen.type };
  return { in: 'token' };
}

/** Properties of the JSON object a 201 answer carries, if it is one. */
function createdObject(op: Obj, resolve: Resolve, label: string): Set<string> | undefined {
  const responses = resolve(op.responses, label);
  if (!isObject(responses)) return undefined;
  const created = resolve(responses['201'], label);
  if (!isObject(created) || !isObject(created.content)) return undefined;
  for (const [mediaType, media] of Object.entries(created.content)) {
    const type = mediaType.split(';')[0]!.trim().toLowerCase();
    if (!isObject(media) || !(type === 'application/json' || type.endsWith('+json'))) continue;
    const schema = objectSchema(media.schema, resolve, label);
    return schema ? new Set(schema.properties) : undefined;
  }
  return undefined;
}

/**
 * Registration of what a POST creates, derived only when nothing is guessed: the POST answers 201
 * with a JSON object that has an `id`; the path ends in a static segment naming a resource type
 * (`/building`, `/buildings`), which is the type created; the target names a resource of a type
 * that type may sit under (the created resource's parent is the target). When the path names a
 * type but the parent is not certain (the target is the token's own resource, or of a type the new
 * one may not sit under: the parent is then in another field) the operation gets a warning and
 * needs an explicit `x-keygate.register`; a created type the path does not name needs one too.
 */
function deriveRegister(
  method: string,
  segments: PatternSegment[],
  target: TargetRef,
  op: Obj,
  model: AccessModel,
  words: TypeWords,
  resolve: Resolve,
  label: string,
  warnings: string[],
): RegisterSpec | undefined {
  if (method !== 'POST') return undefined;
  const fields = createdObject(op, resolve, label);
  if (!fields?.has('id')) return undefined;
  const last = segments[segments.length - 1];
  const type = last?.kind === 'static' ? words.ofCollection(last.value) : undefined;
  // A path not naming a resource type creates something keygate does not model (a file): nothing to say.
  if (type === undefined) return undefined;
  if (target.in === 'token' || target.type === undefined || !mayPlace(model, type, target.type)) {
    warnings.push(
      `${label}: creates a ${type} but its parent is not the target, so it is not registered (set x-keygate register)`,
    );
    return undefined;
  }
  return { type, idField: 'id', ...(fields.has('name') ? { nameField: 'name' } : {}) };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/**
 * The route table an OpenAPI 3.0/3.1 document implies, by issue 8's rules (see deriveTarget and
 * deriveRegister), with each operation's `x-keygate` applied. Throws an Error naming the operation
 * for a malformed `x-keygate` or an unresolvable `$ref`.
 */
export function deriveRoutes(doc: unknown, model: AccessModel): DerivedRoutes {
  assertOpenApi3(doc, 'The document');
  const resolve = resolverFor(doc);
  const words = new TypeWords(model);
  const base = basePath(doc);
  const tagDescriptions = new Map<string, string>();
  if (Array.isArray(doc.tags))
    for (const tag of doc.tags)
      if (isObject(tag) && typeof tag.name === 'string' && typeof tag.description === 'string')
        tagDescriptions.set(tag.name, tag.description);

  const routes: GatewayRoute[] = [];
  const apiGroups: Record<string, string> = {};
  const warnings: string[] = [];
  const addGroup = (group: string, description: string) => {
    if (!Object.hasOwn(apiGroups, group)) apiGroups[group] = description;
  };

  for (const [pathKey, rawItem] of Object.entries(isObject(doc.paths) ? doc.paths : {})) {
    const item = resolve(rawItem, `path ${pathKey}`);
    if (!isObject(item)) throw new Error(`path ${pathKey}: not a path item object`);
    for (const [key, rawOp] of Object.entries(item)) {
      if (!METHODS.includes(key)) continue;
      const method = key.toUpperCase();
      const label = `${method} ${pathKey}`;
      const op = resolve(rawOp, label);
      if (!isObject(op)) throw new Error(`${label}: not an operation object`);
      const operationId = typeof op.operationId === 'string' ? op.operationId : undefined;
      const where = operationId === undefined ? label : `${label} (${operationId})`;
      const extension = parseExtension(op['x-keygate'], where);
      if (extension?.skip) {
        warnings.push(`${label}: skipped by x-keygate, the gateway refuses it`);
        continue;
      }
      const path = `${base}${pathKey}`;
      const segments = parsePattern(path);
      if (typeof segments === 'string') {
        warnings.push(`${label}: left out, the path ${segments}; the gateway refuses it`);
        continue;
      }
      const parameters = parametersOf(item, op, resolve, where);

      let apiGroup: string | undefined;
      const firstTag = Array.isArray(op.tags) && typeof op.tags[0] === 'string' ? op.tags[0] : undefined;
      if (firstTag !== undefined) {
        const group = groupName(firstTag);
        if (group === '' || group === NATIVE_API_GROUP)
          warnings.push(`${label}: the tag "${firstTag}" cannot be an API group name, so no API group`);
        else {
          apiGroup = group;
          addGroup(group, tagDescriptions.get(firstTag) ?? firstTag);
        }
      }
      if (extension?.apiGroup !== undefined) {
        apiGroup = extension.apiGroup;
        addGroup(apiGroup, `Set by x-keygate on ${where}.`);
      }

      const isPublic = extension?.public === true;
      const permission =
        extension?.permission ??
        (isPublic ? undefined : method === 'GET' || method === 'HEAD' ? 'resources:read' : 'resources:write');
      const target: TargetRef =
        extension?.target ??
        (isPublic ? { in: 'token' } : deriveTarget(segments, op, parameters, words, resolve, label, warnings));
      if (target.in === 'path' && !segments.some((s) => s.kind === 'param' && s.name === target.name))
        throw new Error(`${where}: x-keygate.target names the path parameter {${target.name}}, which the path lacks`);
      const register =
        extension?.register ??
        (isPublic ? undefined : deriveRegister(method, segments, target, op, model, words, resolve, label, warnings));

      if (!isPublic) {
        if (apiGroup === undefined && firstTag === undefined)
          warnings.push(`${label}: no tag, so no API group (tokens limited to groups pass too)`);
        if (target.in === 'token' && extension?.target === undefined)
          warnings.push(`${label}: no target, the token's own resource`);
      }

      const route: GatewayRoute = { method, path, target };
      if (apiGroup !== undefined) route.apiGroup = apiGroup;
      if (permission !== undefined) route.permission = permission;
      if (register !== undefined) route.register = register;
      if (isPublic) route.public = true;
      route.source = `${operationId ?? label}${extension ? ' +x-keygate' : ''}`;
      routes.push(route);
    }
  }
  return { routes, apiGroups, warnings };
}

/** A target in words: `path:buildingId (building)`, `token`. */
export function formatTarget(target: TargetRef): string {
  if (target.in === 'token') return 'token';
  return `${target.in}:${target.name}${target.type === undefined ? '' : ` (${target.type})`}`;
}

function formatRegister(register: RegisterSpec | undefined): string {
  if (!register) return '-';
  const parts = [`id=${register.idField}`, `parent=${register.parentField ?? 'target'}`];
  if (register.nameField !== undefined) parts.push(`name=${register.nameField}`);
  return `${register.type} ${parts.join(' ')}`;
}

/** The route table as aligned plain text, one route a line, for `keygate gateway routes`. */
export function formatRoutes(routes: readonly GatewayRoute[]): string {
  const header = ['METHOD', 'PATH', 'GROUP', 'PERMISSION', 'TARGET', 'REGISTER', 'SOURCE'];
  const rows = routes.map((r) => [
    r.method,
    r.path,
    r.apiGroup ?? '-',
    r.public ? 'public' : (r.permission ?? '-'),
    formatTarget(r.target),
    formatRegister(r.register),
    r.source ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
