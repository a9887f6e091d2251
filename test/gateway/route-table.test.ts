import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_MODEL } from '../../src/domain/model.js';
import { parsePattern, routeProblems, RouteTable } from '../../src/gateway/route-table.js';
import type { GatewayRoute } from '../../src/gateway/types.js';

const route = (method: string, path: string, extra: Partial<GatewayRoute> = {}): GatewayRoute => ({
  method,
  path,
  target: { in: 'token' },
  source: `${method} ${path}`,
  ...extra,
});

/** Which route (by its source) a request falls under, and its parameters. */
function hit(table: RouteTable, method: string, path: string) {
  const m = table.match(method, path);
  return m ? { source: m.route.source, params: m.params } : null;
}

const ROUTES: GatewayRoute[] = [
  route('GET', '/api/building/{id}'),
  route('GET', '/api/building/search'),
  route('POST', '/api/building/{buildingId}/file'),
  route('GET', '/api/building/{buildingId}/file'),
  route('GET', '/api/building'),
  route('PUT', '/api/{kind}/{id}'),
  route('*', '/api/any/{x}'),
  route('GET', '/api/slash/'),
  route('GET', '/'),
];

describe('RouteTable.match', () => {
  const table = new RouteTable(ROUTES);

  it('matches a parameter segment and names it as the pattern does', () => {
    assert.deepEqual(hit(table, 'GET', '/api/building/b-1'), {
      source: 'GET /api/building/{id}',
      params: { id: 'b-1' },
    });
    assert.deepEqual(hit(table, 'POST', '/api/building/b-2/file'), {
      source: 'POST /api/building/{buildingId}/file',
      params: { buildingId: 'b-2' },
    });
    assert.deepEqual(hit(table, 'GET', '/'), { source: 'GET /', params: {} });
  });

  it('prefers a static segment to a parameter, whatever the table order', () => {
    assert.equal(hit(table, 'GET', '/api/building/search')?.source, 'GET /api/building/search');
    const reversed = new RouteTable([...ROUTES].reverse());
    assert.equal(hit(reversed, 'GET', '/api/building/search')?.source, 'GET /api/building/search');
    assert.equal(hit(reversed, 'GET', '/api/building/x')?.source, 'GET /api/building/{id}');
  });

  it('falls back to the parameter branch when the static one has no route for the method', () => {
    // PUT /api/building/search: the static branch only knows GET there; `/api/{kind}/{id}` takes it.
    assert.deepEqual(hit(table, 'PUT', '/api/building/search'), {
      source: 'PUT /api/{kind}/{id}',
      params: { kind: 'building', id: 'search' },
    });
  });

  it('needs exactly one non-empty segment per parameter', () => {
    assert.equal(hit(table, 'GET', '/api/building/a/b'), null);
    assert.equal(hit(table, 'GET', '/api/building/'), null, '/api/building/ is not /api/building');
    assert.equal(hit(table, 'POST', '/api/building//file'), null);
  });

  it('keeps /x and /x/ apart: a trailing slash matches only a pattern with one', () => {
    assert.equal(hit(table, 'GET', '/api/building')?.source, 'GET /api/building');
    assert.equal(hit(table, 'GET', '/api/building/'), null);
    assert.equal(hit(table, 'GET', '/api/slash/')?.source, 'GET /api/slash/');
    assert.equal(hit(table, 'GET', '/api/slash'), null);
  });

  it('percent-decodes parameters and static segments; a bad escape is no match, not a throw', () => {
    assert.deepEqual(hit(table, 'GET', '/api/building/caf%C3%A9%20b')?.params, { id: 'café b' });
    assert.equal(hit(table, 'GET', '/api/%62uilding/search')?.source, 'GET /api/building/search');
    for (const bad of ['/api/building/%', '/api/building/%zz', '/api/building/%C3', '/api/%E0%A4%A/x'])
      assert.equal(table.match('GET', bad), null, bad);
  });

  it('never matches a parameter that decodes to a path separator', () => {
    assert.equal(table.match('GET', '/api/building/a%2Fb'), null);
    assert.equal(table.match('GET', '/api/building/a%5Cb'), null);
    assert.equal(table.match('GET', '/api/building/a\\b'), null);
  });

  it('never matches dot segments or empty segments, encoded or not', () => {
    for (const path of [
      '/api/building/..',
      '/api/building/.',
      '/api/x/../building/b1',
      '/api/./building/b1',
      '/api/building/%2e%2e',
      '/api/building/%2E',
      '//api/building/b1',
      '/api//building',
      '',
      'api/building',
      '*',
    ])
      assert.equal(table.match('GET', path), null, path);
  });

  it('answers HEAD with the GET route, and * matches any method', () => {
    assert.equal(hit(table, 'HEAD', '/api/building/b1')?.source, 'GET /api/building/{id}');
    assert.equal(hit(table, 'DELETE', '/api/building/b1'), null);
    for (const method of ['GET', 'HEAD', 'DELETE', 'PATCH', 'BREW'])
      assert.deepEqual(hit(table, method, '/api/any/1'), { source: '* /api/any/{x}', params: { x: '1' } });
  });

  it('takes an exact method before the HEAD fallback and before *', () => {
    const t = new RouteTable([
      route('*', '/r'),
      route('GET', '/r'),
      route('HEAD', '/r'),
      route('*', '/s'),
      route('GET', '/s'),
    ]);
    assert.equal(hit(t, 'HEAD', '/r')?.source, 'HEAD /r');
    assert.equal(hit(t, 'HEAD', '/s')?.source, 'GET /s');
    assert.equal(hit(t, 'POST', '/s')?.source, '* /s');
  });

  it('keeps the first of two routes with the same method and shape', () => {
    const t = new RouteTable([route('GET', '/b/{id}'), route('GET', '/b/{other}')]);
    assert.deepEqual(hit(t, 'GET', '/b/1'), { source: 'GET /b/{id}', params: { id: '1' } });
  });

  it('refuses to compile a malformed route', () => {
    assert.throws(() => new RouteTable([route('get', '/a')]), /upper case/);
    assert.throws(() => new RouteTable([route('GET', 'a')]), /must start with \//);
    assert.throws(() => new RouteTable([route('GET', '/a/file.{ext}')]), /whole segment/);
  });

  it('never throws, whatever the method and path (property)', () => {
    const segment = fc.oneof(
      fc.constantFrom('api', 'building', 'search', 'any', 'slash', '', '.', '..', '%', '%2e', '%2F', '%C3', '%zz'),
      fc.string(),
    );
    const path = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }).map((s) => `/${s}`),
      fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`),
    );
    const method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', '*', ''), fc.string());
    fc.assert(
      fc.property(method, path, (m, p) => {
        const result = table.match(m, p);
        if (result) {
          assert.ok(!p.includes('//') && !/\/\.\.?(\/|$)/.test(p));
          for (const value of Object.values(result.params)) assert.ok(value !== '' && !value.includes('/'));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('parsePattern', () => {
  it('splits a pattern into static and parameter segments', () => {
    assert.deepEqual(parsePattern('/api/v3.0/building/{id}'), [
      { kind: 'static', value: 'api' },
      { kind: 'static', value: 'v3.0' },
      { kind: 'static', value: 'building' },
      { kind: 'param', name: 'id' },
    ]);
  });

  it('says why a pattern is malformed', () => {
    assert.match(parsePattern('/a//b') as string, /empty segment/);
    assert.match(parsePattern('/a/{id}/{id}') as string, /twice/);
    assert.match(parsePattern('/a/../b') as string, /dot segment/);
    assert.match(parsePattern('/a/{id') as string, /whole segment/);
  });
});

describe('routeProblems', () => {
  it('is empty for a sound table', () => {
    assert.deepEqual(
      routeProblems(
        [
          route('GET', '/b/{id}', {
            permission: 'resources:read',
            target: { in: 'path', name: 'id', type: 'building' },
          }),
          route('POST', '/b', {
            permission: 'resources:write',
            apiGroup: 'not-in-the-model',
            target: { in: 'body', name: 'folderId', type: 'folder' },
            register: { type: 'building', idField: 'id' },
          }),
        ],
        DEFAULT_MODEL,
      ),
      [],
    );
  });

  it('names every problem', () => {
    const problems = routeProblems(
      [
        route('GET', '/b/{id}', { permission: 'resources:peek' }),
        route('GET', '/b/{other}'),
        route('get', '/c'),
        route('GET', '/d//e'),
        route('GET', '/f/{id}', { target: { in: 'path', name: 'fId', type: 'fleet' } }),
        route('POST', '/g', { register: { type: 'ship', idField: 'id' } }),
      ],
      DEFAULT_MODEL,
    );
    assert.deepEqual(problems, [
      'route GET /b/{id}: unknown permission resources:peek',
      'route GET /b/{other}: duplicates GET /b/{id}',
      'route get /c: the method must be upper case or *',
      'route GET /d//e: the path has an empty segment (//)',
      'route GET /f/{id}: the target path parameter {fId} is not in the path',
      'route GET /f/{id}: unknown resource type fleet in the target',
      'route POST /g: unknown resource type ship to register',
    ]);
  });
});
