import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CHANGELOG } from '../../src/http/changelog.js';
import { TokenCreate, TokenPatch, VerifyRequest } from '../../src/schemas.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import { API_VERSIONS, deprecationHeaders, type ApiVersion } from '../../src/http/versions.js';
import { createTestEnv, forEachDialect } from '../support/harness.js';
import { call } from '../support/client.js';

/**
 * The unversioned endpoints: health, the version list, the changelog (JSON and Atom), the
 * OpenAPI document (generated from the validating schemas, covering every route) and the docs page.
 */

type OpenApi = {
  openapi: string;
  info: { version: string; title: string };
  paths: Record<string, Record<string, { responses?: Record<string, any>; requestBody?: any }>>;
  components: { schemas: Record<string, any> };
};

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** The app's real route table, from the router's own printout: "METHOD /path" for every route. */
export function routeTable(app: FastifyTypebox): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = [...m[1]!].length / 4;
    const path = (depth > 0 ? stack[depth - 1]! : '') + m[2]!;
    stack[depth] = path;
    stack.length = depth + 1;
    for (const method of (m[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      out.add(`${method} ${path}`);
  }
  return out;
}

/** A path template as OpenAPI writes it: `:id` → `{id}`. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Text of the first `<tag>…</tag>` in some XML. */
function tagText(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`).exec(xml)?.[1];
}

function assertAtomFeed(xml: string, base: string): void {
  assert.match(xml, /^<\?xml version="1.0" encoding="utf-8"\?>/);
  const feed = /<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom">([\s\S]*)<\/feed>\s*$/.exec(xml)?.[1];
  assert.ok(feed, 'one Atom <feed> element');
  assert.ok(tagText(feed, 'id'), 'the feed has an id');
  assert.ok(tagText(feed, 'title'), 'the feed has a title');
  assert.ok(!Number.isNaN(Date.parse(tagText(feed, 'updated')!)), 'the feed has an updated time');
  assert.match(feed, new RegExp(`<link rel="self" href="${base.replace(/[.]/g, '\\.')}/api/changelog\\.atom"/>`));
  const entries = [...feed.matchAll(/<entry>([\s\S]*?)<\/entry>/g)].map((m) => m[1]!);
  assert.equal(entries.length, CHANGELOG.length, 'one <entry> per change');
  for (const [i, entry] of entries.entries()) {
    assert.equal(tagText(entry, 'id'), `urn:keygate:changelog:${CHANGELOG[i]!.id}`);
    assert.ok(tagText(entry, 'title')!.includes(CHANGELOG[i]!.title));
    assert.equal(tagText(entry, 'updated'), CHANGELOG[i]!.date);
    assert.match(entry, /<link href="http[^"]+"\/>/);
    assert.ok(tagText(entry, 'content'));
  }
  // No unescaped markup in text: every < starts a tag we know.
  for (const tag of xml.matchAll(/<\/?([A-Za-z?][^\s/>]*)/g))
    assert.ok(
      ['?xml', 'feed', 'id', 'title', 'updated', 'link', 'author', 'name', 'entry', 'content'].includes(tag[1]!),
      tag[0],
    );
}

forEachDialect('meta endpoints', (env, dialect) => {
  let doc: OpenApi;

  it('GET /health answers ok with the database dialect', async () => {
    const r = await call(env().app, 'GET', '/health');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok', database: dialect });
  });

  it('GET /api/versions lists v1.0 as current, with its base URL and OpenAPI link', async () => {
    const { app } = env();
    const r = await call(app, 'GET', '/api/versions');
    assert.equal(r.status, 200);
    const v1 = r.body.versions.find((v: { version: string }) => v.version === 'v1.0');
    assert.ok(v1, JSON.stringify(r.body));
    assert.equal(v1.status, 'current');
    assert.equal(v1.baseUrl, '/api/v1.0');
    assert.equal(v1.openapi, '/api/v1.0/openapi.json');
    assert.equal(v1.sunsetAt, null);
    assert.equal(v1.deprecatedAt, null);
    assert.ok(!Number.isNaN(Date.parse(v1.releasedAt)));
    for (const v of r.body.versions)
      assert.equal((await call(app, 'GET', v.openapi)).status, 200, `${v.openapi} answers`);
  });

  it('GET /api/changelog answers JSON entries', async () => {
    const r = await call(env().app, 'GET', '/api/changelog');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.ok(r.body.entries.length > 0);
    for (const e of r.body.entries) {
      assert.deepEqual(Object.keys(e).sort(), ['body', 'date', 'id', 'title', 'version']);
      assert.ok(!Number.isNaN(Date.parse(e.date)));
    }
    assert.ok(r.body.entries.some((e: { version: string }) => e.version === 'v1.0'));
  });

  it('GET /api/changelog with Accept: application/atom+xml answers an Atom feed', async () => {
    const r = await call(env().app, 'GET', '/api/changelog', {
      headers: { accept: 'application/atom+xml', host: 'keygate.example' },
    });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/atom\+xml/);
    assertAtomFeed(String(r.body), 'http://keygate.example');
  });

  it('GET /api/changelog.atom answers the same feed, for feed readers', async () => {
    const r = await call(env().app, 'GET', '/api/changelog.atom', { headers: { host: 'keygate.example' } });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/atom\+xml/);
    assertAtomFeed(String(r.body), 'http://keygate.example');
  });

  it('GET /api/v1.0/openapi.json is an OpenAPI 3.1.0 document for v1.0', async () => {
    const r = await call(env().app, 'GET', '/api/v1.0/openapi.json');
    assert.equal(r.status, 200);
    doc = r.body;
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.version, 'v1.0');
    assert.ok(doc.components.schemas.Error, 'the Error schema is a component');
    assert.deepEqual(doc.components.schemas.Error.properties.error.required.sort(), ['code', 'message', 'requestId']);
  });

  it('documents the routes the contract names', () => {
    const expected = [
      'POST /api/v1.0/session',
      'DELETE /api/v1.0/session',
      'GET /api/v1.0/me',
      'POST /api/v1.0/users',
      'GET /api/v1.0/users',
      'GET /api/v1.0/users/{id}',
      'PATCH /api/v1.0/users/{id}',
      'POST /api/v1.0/resources',
      'GET /api/v1.0/resources/{id}',
      'GET /api/v1.0/resources/{id}/children',
      'GET /api/v1.0/resources/{id}/members',
      'PUT /api/v1.0/resources/{id}/members/{userId}',
      'POST /api/v1.0/resources/{id}/tokens',
      'GET /api/v1.0/resources/{id}/tokens',
      'GET /api/v1.0/tokens',
      'GET /api/v1.0/tokens/{id}',
      'PATCH /api/v1.0/tokens/{id}',
      'DELETE /api/v1.0/tokens/{id}',
      'POST /api/v1.0/tokens/{id}/activate',
      'POST /api/v1.0/tokens/{id}/deactivate',
      'POST /api/v1.0/tokens/{id}/roll',
      'POST /api/v1.0/verify',
      'GET /health',
      'GET /api/versions',
      'GET /api/changelog',
    ];
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => METHODS.has(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const missing = expected.filter((e) => !documented.has(e));
    assert.deepEqual(missing, [], `routes missing from the OpenAPI document: ${missing.join(', ')}`);
  });

  it('documents every route the app really has, and nothing it does not have', () => {
    const real = routeTable(env().app);
    assert.ok(real.size > 25, `the route table was read (${real.size} routes)`);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops)
          .filter((m) => METHODS.has(m))
          .map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    // HEAD is Fastify's automatic twin of GET; the docs page, the document itself and the console
    // (its start page and its static assets, the only wildcard route) are not API operations.
    const undocumented = [...real]
      .filter((r) => !r.startsWith('HEAD '))
      .filter((r) => !/ \/docs/.test(r) && !r.endsWith('/openapi.json'))
      .filter((r) => r !== 'GET /' && !r.endsWith('*'))
      .map((r) => r.replace(/ (.*)$/, (_m, p: string) => ` ${openApiPath(p)}`))
      .filter((r) => !documented.has(r));
    assert.deepEqual(undocumented, [], `routes the OpenAPI document leaves out: ${undocumented.join(', ')}`);
    const realPaths = new Set([...real].map((r) => r.replace(/ (.*)$/, (_m, p: string) => ` ${openApiPath(p)}`)));
    const phantom = [...documented].filter((d) => !realPaths.has(d));
    assert.deepEqual(phantom, [], `documented operations the app does not have: ${phantom.join(', ')}`);
  });

  it('gives every operation the Error envelope for 4XX (and 5XX) responses', () => {
    const lacking: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!METHODS.has(method)) continue;
        for (const range of ['4XX', '5XX']) {
          const schema = op.responses?.[range]?.content?.['application/json']?.schema;
          if (schema?.$ref !== '#/components/schemas/Error') lacking.push(`${method.toUpperCase()} ${path} ${range}`);
        }
      }
    }
    assert.deepEqual(lacking, []);
  });

  it('documents request bodies from the very schemas that validate them', () => {
    const bodyOf = (path: string, method: string) =>
      doc.paths[path]?.[method]?.requestBody?.content?.['application/json']?.schema;
    const keys = (schema: { properties?: object }) => Object.keys(schema.properties ?? {}).sort();
    for (const [path, method, schema] of [
      ['/api/v1.0/resources/{id}/tokens', 'post', TokenCreate],
      ['/api/v1.0/tokens', 'post', TokenCreate],
      ['/api/v1.0/tokens/{id}', 'patch', TokenPatch],
      ['/api/v1.0/verify', 'post', VerifyRequest],
    ] as const) {
      const documented = bodyOf(path, method);
      assert.ok(documented, `${method} ${path} has a JSON request body`);
      assert.deepEqual(keys(documented), keys(schema), `${method} ${path}`);
      assert.deepEqual(
        [...(documented.required ?? [])].sort(),
        [...(schema.required ?? [])].sort(),
        `${method} ${path} required`,
      );
      assert.equal(documented.additionalProperties, false, `${method} ${path} is closed, as validation is`);
      for (const [name, prop] of Object.entries(schema.properties) as [
        string,
        { maxLength?: number; pattern?: string },
      ][]) {
        if (prop.maxLength !== undefined)
          assert.equal(documented.properties[name].maxLength, prop.maxLength, `${path} ${name} maxLength`);
      }
    }
  });

  it('serves the interactive reference at /docs (Swagger UI), pointing at the v1.0 document', async () => {
    const { app } = env();
    for (const url of ['/docs', '/docs/']) {
      const r = await call(app, 'GET', url);
      assert.equal(r.status, 200, url);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.match(String(r.body), /<html/i);
      assert.match(String(r.body), /swagger/i);
    }
    const init = await call(app, 'GET', '/docs/static/swagger-initializer.js');
    assert.equal(init.status, 200);
    assert.ok(String(init.body).includes('/api/v1.0/openapi.json'), 'the page loads the versioned document');
  });

  it('adds no Deprecation or Sunset header to the current version', async () => {
    const r = await call(env().app, 'GET', '/api/v1.0/me');
    assert.equal(r.headers.deprecation, undefined);
    assert.equal(r.headers.sunset, undefined);
  });
});

describe('deprecationHeaders', () => {
  const base: ApiVersion = {
    version: 'v0.9',
    status: 'current',
    releasedAt: '2025-01-01',
    deprecatedAt: null,
    sunsetAt: null,
    register: () => {},
  };

  it('adds nothing for a current version', () => {
    assert.deepEqual(deprecationHeaders(base), {});
    assert.deepEqual(deprecationHeaders(API_VERSIONS[0]!), {});
  });

  it('adds Deprecation (RFC 9745: @epoch-seconds), Sunset (an HTTP date) and a link for a deprecated version', () => {
    const h = deprecationHeaders({
      ...base,
      status: 'deprecated',
      deprecatedAt: '2026-06-01T00:00:00Z',
      sunsetAt: '2027-01-01T00:00:00Z',
    });
    assert.equal(h.deprecation, `@${Date.UTC(2026, 5, 1) / 1000}`);
    assert.equal(h.sunset, 'Fri, 01 Jan 2027 00:00:00 GMT');
    assert.match(h.link!, /rel="deprecation"/);
  });

  it('adds Deprecation alone when no sunset is set', () => {
    const h = deprecationHeaders({ ...base, status: 'deprecated', deprecatedAt: '2026-06-01' });
    assert.ok(h.deprecation);
    assert.equal(h.sunset, undefined);
  });
});

describe('a deprecated version beside the current one', () => {
  const old: ApiVersion = {
    version: 'v0.9',
    status: 'deprecated',
    releasedAt: '2025-01-01',
    deprecatedAt: '2026-06-01T00:00:00Z',
    sunsetAt: '2027-01-01T00:00:00Z',
    register(app) {
      app.get('/ping', { schema: { summary: 'Ping (old)' } }, async () => ({ pong: true }));
    },
  };
  let env: Awaited<ReturnType<typeof createTestEnv>>;

  before(async () => {
    // The version list is module state: the old version is in it for this suite only (the last in the file).
    API_VERSIONS.push(old);
    env = await createTestEnv(undefined);
  });
  after(async () => {
    API_VERSIONS.splice(API_VERSIONS.indexOf(old), 1);
    await env?.dispose();
  });

  it('marks every answer of the old version, success or error, with Deprecation and Sunset', async () => {
    const refused = await call(env.app, 'GET', '/api/v0.9/ping');
    assert.equal(refused.status, 401, 'the old version authenticates like the current one');
    assert.equal(refused.headers.deprecation, `@${Date.UTC(2026, 5, 1) / 1000}`);
    assert.equal(refused.headers.sunset, 'Fri, 01 Jan 2027 00:00:00 GMT');
    const current = await call(env.app, 'GET', '/api/v1.0/me');
    assert.equal(current.headers.deprecation, undefined);
  });

  it('lists it in /api/versions with its status and dates, and documents it separately', async () => {
    const r = await call(env.app, 'GET', '/api/versions');
    const v = r.body.versions.find((x: { version: string }) => x.version === 'v0.9');
    assert.equal(v.status, 'deprecated');
    assert.equal(v.sunsetAt, '2027-01-01T00:00:00Z');
    const oldDoc = (await call(env.app, 'GET', '/api/v0.9/openapi.json')).body as OpenApi;
    assert.ok(oldDoc.paths['/api/v0.9/ping']);
    assert.ok(!Object.keys(oldDoc.paths).some((p) => p.startsWith('/api/v1.0/')), 'v0.9 does not list v1.0 routes');
    const currentDoc = (await call(env.app, 'GET', '/api/v1.0/openapi.json')).body as OpenApi;
    assert.ok(!Object.keys(currentDoc.paths).some((p) => p.startsWith('/api/v0.9/')), 'v1.0 does not list v0.9 routes');
  });
});
