import type { AccessModel } from '../domain/model.js';
import type { GatewayRoute, RouteMatch } from './types.js';

/**
 * The gateway's route table compiled to a segment trie: one walk per request, no regular
 * expressions, the path split once. Pure, so the proxy, `keygate gateway routes` and the tests
 * share it.
 *
 * Matching rules (the proxy relies on them):
 * - a `{name}` segment matches exactly one non-empty segment; its value is percent-decoded;
 * - at every position a static segment beats a parameter, whatever the table order (the walk
 *   falls back to the parameter when the static branch has no route for the method);
 * - the method is taken exactly, then `GET` for a `HEAD`, then `*`;
 * - `/building/` and `/building` are different paths: a trailing slash matches only a pattern that
 *   has one (upstreams differ on whether they are the same, so the gateway does not guess);
 * - empty segments elsewhere (`//`), dot segments (`.`, `..`, also percent-encoded), a bad percent
 *   escape, and a parameter value that decodes to a `/` or `\` never match: an upstream that
 *   normalises or decodes them would route the request somewhere else than the table checked.
 */

/** One segment of a parsed pattern: a literal, or a parameter with its name. */
export type PatternSegment = { kind: 'static'; value: string } | { kind: 'param'; name: string };

const METHOD = /^[A-Z][A-Z0-9_-]*$/;
const PARAM = /^\{([^{}/]+)\}$/;

/**
 * Parses a route pattern (`/api/v3.0/building/{id}`) into segments, or answers why it is malformed.
 * The pattern's own trailing slash is kept as an empty last segment.
 */
export function parsePattern(pattern: string): PatternSegment[] | string {
  if (!pattern.startsWith('/')) return 'must start with /';
  const parts = pattern.slice(1).split('/');
  const segments: PatternSegment[] = [];
  const names = new Set<string>();
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '' && i < parts.length - 1) return 'has an empty segment (//)';
    const param = PARAM.exec(part);
    if (param) {
      const name = param[1]!;
      if (names.has(name)) return `names the parameter {${name}} twice`;
      names.add(name);
      segments.push({ kind: 'param', name });
      continue;
    }
    if (part.includes('{') || part.includes('}'))
      return `segment "${part}" mixes a parameter with text (a parameter must be a whole segment)`;
    if (part === '.' || part === '..') return 'has a dot segment';
    segments.push({ kind: 'static', value: part });
  }
  return segments;
}

/** The parameter names of a well-formed pattern, in order (empty for a malformed one). */
export function patternParams(pattern: string): string[] {
  const segments = parsePattern(pattern);
  if (typeof segments === 'string') return [];
  return segments.flatMap((s) => (s.kind === 'param' ? [s.name] : []));
}

interface Leaf {
  route: GatewayRoute;
  /** Parameter name for each parameter position of the path, in order. */
  paramNames: string[];
}

interface TrieNode {
  statics: Map<string, TrieNode> | null;
  param: TrieNode | null;
  /** Routes ending here, by method (`*` included). */
  leaves: Map<string, Leaf> | null;
}

const node = (): TrieNode => ({ statics: null, param: null, leaves: null });

/** Percent-decodes one segment; null for a bad escape. */
function decodeSegment(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** The shape of a pattern for duplicate detection: `/building/{id}` and `/building/{x}` collide. */
function shapeOf(segments: PatternSegment[]): string {
  return segments.map((s) => (s.kind === 'param' ? '{}' : s.value)).join('/');
}

/** A compiled route table: answers which route a request falls under, with its path parameters. */
export class RouteTable {
  readonly routes: readonly GatewayRoute[];
  private readonly root: TrieNode = node();

  /**
   * Compiles the routes. Throws on a malformed method or pattern (check `routeProblems` first for a
   * full list); of two routes with the same method and path shape, the first one counts.
   */
  constructor(routes: readonly GatewayRoute[]) {
    this.routes = routes;
    for (const route of routes) {
      if (route.method !== '*' && !METHOD.test(route.method))
        throw new Error(`route ${route.method} ${route.path}: the method must be upper case or *`);
      const segments = parsePattern(route.path);
      if (typeof segments === 'string') throw new Error(`route ${route.method} ${route.path}: the path ${segments}`);
      let at = this.root;
      const paramNames: string[] = [];
      for (const segment of segments) {
        if (segment.kind === 'param') {
          paramNames.push(segment.name);
          at.param ??= node();
          at = at.param;
        } else {
          at.statics ??= new Map();
          let next = at.statics.get(segment.value);
          if (!next) {
            next = node();
            at.statics.set(segment.value, next);
          }
          at = next;
        }
      }
      at.leaves ??= new Map();
      if (!at.leaves.has(route.method)) at.leaves.set(route.method, { route, paramNames });
    }
  }

  /**
   * The route a request falls under, or null. `path` is the raw path as received (percent-encoded,
   * without the query string); never throws, whatever the input.
   */
  match(method: string, path: string): RouteMatch | null {
    if (typeof path !== 'string' || path.charCodeAt(0) !== 47 /* / */) return null;
    // Decoded in place: this runs on every request, so one array.
    const segments = path.slice(1).split('/');
    const last = segments.length - 1;
    for (let i = 0; i <= last; i++) {
      const segment = segments[i]!;
      if (segment === '') {
        if (i < last) return null;
        continue;
      }
      if (segment.charCodeAt(0) === 46 /* . */ && (segment === '.' || segment === '..')) return null;
      if (segment.includes('%')) {
        const value = decodeSegment(segment);
        if (value === null || value === '.' || value === '..') return null;
        segments[i] = value;
      }
    }
    const values: string[] = [];
    const leaf = this.walk(this.root, segments, 0, method, values);
    if (!leaf) return null;
    const params: Record<string, string> = {};
    for (let i = 0; i < leaf.paramNames.length; i++) params[leaf.paramNames[i]!] = values[i]!;
    return { route: leaf.route, params };
  }

  /** Depth-first, static before parameter; `values` collects the parameter values on the way. */
  private walk(at: TrieNode, segments: string[], i: number, method: string, values: string[]): Leaf | null {
    if (i === segments.length) {
      const leaves = at.leaves;
      if (!leaves) return null;
      return leaves.get(method) ?? (method === 'HEAD' ? leaves.get('GET') : undefined) ?? leaves.get('*') ?? null;
    }
    const segment = segments[i]!;
    const next = at.statics?.get(segment);
    if (next) {
      const found = this.walk(next, segments, i + 1, method, values);
      if (found) return found;
    }
    if (at.param && segment !== '' && !segment.includes('/') && !segment.includes('\\')) {
      values.push(segment);
      const found = this.walk(at.param, segments, i + 1, method, values);
      if (found) return found;
      values.pop();
    }
    return null;
  }
}

/**
 * What is wrong with a route table against the access model: malformed methods or patterns,
 * duplicate method and path, unknown permissions or resource types, a path target that is not a
 * parameter of its pattern. Empty when sound. API groups are not checked: derived tables bring
 * their own (from the document's tags).
 */
export function routeProblems(routes: readonly GatewayRoute[], model: AccessModel): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const knownType = (type: string) => Object.hasOwn(model.resourceTypes, type);
  for (const route of routes) {
    const where = `route ${route.method} ${route.path}`;
    if (route.method !== '*' && !METHOD.test(route.method))
      problems.push(`${where}: the method must be upper case or *`);
    const segments = parsePattern(route.path);
    if (typeof segments === 'string') {
      problems.push(`${where}: the path ${segments}`);
    } else {
      const key = `${route.method} ${shapeOf(segments)}`;
      const first = seen.get(key);
      if (first !== undefined) problems.push(`${where}: duplicates ${first}`);
      else seen.set(key, `${route.method} ${route.path}`);
      const { target } = route;
      if (target.in === 'path' && !segments.some((s) => s.kind === 'param' && s.name === target.name))
        problems.push(`${where}: the target path parameter {${target.name}} is not in the path`);
    }
    if (route.permission !== undefined && !Object.hasOwn(model.permissions, route.permission))
      problems.push(`${where}: unknown permission ${route.permission}`);
    if (route.target.in !== 'token') {
      if (route.target.name === '') problems.push(`${where}: the target has no name`);
      if (route.target.type !== undefined && !knownType(route.target.type))
        problems.push(`${where}: unknown resource type ${route.target.type} in the target`);
    }
    if (route.register) {
      if (!knownType(route.register.type))
        problems.push(`${where}: unknown resource type ${route.register.type} to register`);
      if (route.register.idField === '') problems.push(`${where}: register has no idField`);
    }
  }
  return problems;
}
