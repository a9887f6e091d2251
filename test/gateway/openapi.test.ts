import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODEL } from '../../src/domain/model.js';
import { deriveRoutes, formatRoutes, groupName, loadOpenApi } from '../../src/gateway/openapi.js';
import { routeProblems, RouteTable } from '../../src/gateway/route-table.js';
import type { GatewayRoute } from '../../src/gateway/types.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const MADASTER = new URL('madaster.openapi.yaml', FIXTURES).pathname;
const BUILDINGS_31 = new URL('buildings.openapi31.json', FIXTURES).pathname;
const BASE = '/api/v3.0';

/** A minimal OpenAPI 3.0 document around some paths. */
const doc = (paths: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  openapi: '3.0.3',
  info: { title: 't', version: '1' },
  paths,
  ...extra,
});

const only = (paths: Record<string, unknown>, extra?: Record<string, unknown>) => {
  const derived = deriveRoutes(doc(paths, extra), DEFAULT_MODEL);
  assert.equal(derived.routes.length, 1);
  return { route: derived.routes[0]!, warnings: derived.warnings, apiGroups: derived.apiGroups };
};

describe('deriveRoutes from the Madaster document', async () => {
  const derived = deriveRoutes(await loadOpenApi(MADASTER), DEFAULT_MODEL);
  const find = (method: string, path: string): GatewayRoute | undefined =>
    derived.routes.find((r) => r.method === method && r.path === `${BASE}${path}`);

  it('derives a sound table (no problems against the default model)', () => {
    assert.deepEqual(routeProblems(derived.routes, DEFAULT_MODEL), []);
    assert.equal(derived.routes.length, 16);
  });

  it('path parameter targets: {buildingId} ($ref parameter), {accountId}, {id} after /folder/', () => {
    assert.deepEqual(find('GET', '/building/{buildingId}'), {
      method: 'GET',
      path: `${BASE}/building/{buildingId}`,
      apiGroup: 'buildings',
      permission: 'resources:read',
      target: { in: 'path', name: 'buildingId', type: 'building' },
      source: 'getBuilding',
    });
    assert.deepEqual(find('PUT', '/building/{buildingId}'), {
      method: 'PUT',
      path: `${BASE}/building/{buildingId}`,
      apiGroup: 'buildings',
      permission: 'resources:write',
      target: { in: 'path', name: 'buildingId', type: 'building' },
      source: 'updateBuilding',
    });
    assert.deepEqual(find('GET', '/folder/{id}')?.target, { in: 'path', name: 'id', type: 'folder' });
    assert.deepEqual(find('GET', '/building/{id}/passport')?.target, { in: 'path', name: 'id', type: 'building' });
    assert.deepEqual(find('GET', '/account/{accountId}')?.target, { in: 'path', name: 'accountId', type: 'account' });
    assert.deepEqual(find('GET', '/database/{databaseId}/element')?.target, {
      in: 'path',
      name: 'databaseId',
      type: 'database',
    });
  });

  it('path-item parameters apply to each operation; the first tag is the group', () => {
    for (const method of ['GET', 'POST']) {
      const r = find(method, '/building/{buildingId}/file');
      assert.deepEqual(r?.target, { in: 'path', name: 'buildingId', type: 'building' }, method);
      assert.equal(r?.apiGroup, 'files', 'the tag "Files" normalised');
    }
    // An octet-stream upload creating a file (not a resource type): write, nothing to register.
    assert.deepEqual(find('POST', '/building/{buildingId}/file'), {
      method: 'POST',
      path: `${BASE}/building/{buildingId}/file`,
      apiGroup: 'files',
      permission: 'resources:write',
      target: { in: 'path', name: 'buildingId', type: 'building' },
      source: 'uploadBuildingFile',
    });
  });

  it('a JSON body field as the target ($ref schema), and the 201 registered under it', () => {
    assert.deepEqual(find('POST', '/building'), {
      method: 'POST',
      path: `${BASE}/building`,
      apiGroup: 'buildings',
      permission: 'resources:write',
      target: { in: 'body', name: 'folderId', type: 'folder' },
      register: { type: 'building', idField: 'id', nameField: 'name' },
      source: 'createBuilding',
    });
  });

  it('a query parameter as the target, else the token (with a warning)', () => {
    assert.deepEqual(find('GET', '/building')?.target, { in: 'query', name: 'folderId', type: 'folder' });
    assert.deepEqual(find('GET', '/material')?.target, { in: 'query', name: 'accountId', type: 'account' });
    assert.deepEqual(find('GET', '/folder'), {
      method: 'GET',
      path: `${BASE}/folder`,
      apiGroup: 'folders',
      permission: 'resources:read',
      target: { in: 'token' },
      source: 'listFolders',
    });
    assert.ok(derived.warnings.includes("GET /folder: no target, the token's own resource"));
    assert.ok(derived.warnings.includes("GET /account: no target, the token's own resource"));
  });

  it('x-keygate overrides group, permission, target and register', () => {
    assert.deepEqual(find('DELETE', '/building/{buildingId}'), {
      method: 'DELETE',
      path: `${BASE}/building/{buildingId}`,
      apiGroup: 'buildings-admin',
      permission: 'resources:delete',
      target: { in: 'path', name: 'buildingId', type: 'building' },
      source: 'deleteBuilding +x-keygate',
    });
    assert.deepEqual(find('POST', '/folder'), {
      method: 'POST',
      path: `${BASE}/folder`,
      apiGroup: 'folders',
      permission: 'resources:write',
      target: { in: 'body', name: 'parentId', type: 'folder' },
      register: { type: 'folder', idField: 'id', parentField: 'parentId', nameField: 'name' },
      source: 'createFolder +x-keygate',
    });
  });

  it('a public operation: no group without a tag, no permission, the token as target', () => {
    assert.deepEqual(find('GET', '/ping'), {
      method: 'GET',
      path: `${BASE}/ping`,
      target: { in: 'token' },
      public: true,
      source: 'ping +x-keygate',
    });
    assert.ok(!derived.warnings.some((w) => w.startsWith('GET /ping')), 'a public route warns of nothing');
  });

  it('x-keygate skip leaves the operation out (refused) and says so', () => {
    assert.equal(
      derived.routes.find((r) => r.path.includes('/internal/')),
      undefined,
    );
    assert.ok(derived.warnings.includes('DELETE /internal/cache: skipped by x-keygate, the gateway refuses it'));
    assert.ok(!('internal' in derived.apiGroups), 'a skipped operation brings no group');
  });

  it('tags become API groups with their descriptions', () => {
    assert.deepEqual(derived.apiGroups, {
      accounts: 'Accounts (organisations) and their settings.',
      folders: 'Folders that group buildings and databases.',
      buildings: 'Buildings, their versions and material passports.',
      'buildings-admin': 'Set by x-keygate on DELETE /building/{buildingId} (deleteBuilding).',
      files: 'Source files (IFC, Excel) uploaded to a building.',
      databases: 'Product databases and their elements.',
      materials: 'The Madaster materials catalogue.',
    });
  });

  it('the derived table routes real request paths', () => {
    const table = new RouteTable(derived.routes);
    const id = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
    assert.deepEqual(table.match('GET', `${BASE}/building/${id}`)?.params, { buildingId: id });
    assert.equal(table.match('HEAD', `${BASE}/building/${id}/file`)?.route.source, 'listBuildingFiles');
    assert.equal(table.match('DELETE', `${BASE}/building/${id}`)?.route.permission, 'resources:delete');
    assert.equal(table.match('GET', `${BASE}/building/${id}/passport`)?.route.source, 'getBuildingPassport');
    assert.equal(table.match('DELETE', `${BASE}/internal/cache`), null);
    assert.equal(table.match('GET', '/building'), null, 'the base path is part of every route');
  });

  it('prints an aligned table', () => {
    const text = formatRoutes(derived.routes);
    const lines = text.split('\n');
    assert.equal(lines.length, derived.routes.length + 1);
    assert.match(lines[0]!, /^METHOD +PATH +GROUP +PERMISSION +TARGET +REGISTER +SOURCE$/);
    const column = lines[0]!.indexOf('TARGET');
    for (const line of lines.slice(1)) assert.notEqual(line[column - 1], undefined);
    assert.ok(lines.some((l) => /^GET +\/api\/v3\.0\/ping +- +public +token +- +ping \+x-keygate$/.test(l)));
    const create = lines.find((l) => l.includes('createBuilding'))!;
    assert.equal(create.slice(column).split(/ {2,}/)[0], 'body:folderId (folder)');
    assert.match(create, /building id=id parent=target name=name +createBuilding$/);
    assert.match(lines.find((l) => l.includes('getBuilding'))!, /path:buildingId \(building\)/);
    assert.match(lines.find((l) => l.includes('listFolders'))!, / token /);
  });
});

describe('deriveRoutes from an OpenAPI 3.1 JSON document', () => {
  it('relative server URL with a variable, form body, {id} after /buildings/, {building_id}', async () => {
    const derived = deriveRoutes(await loadOpenApi(BUILDINGS_31), DEFAULT_MODEL);
    assert.deepEqual(derived, {
      routes: [
        {
          method: 'POST',
          path: '/native/v2/buildings',
          apiGroup: 'building-register',
          permission: 'resources:write',
          target: { in: 'body', name: 'folder_id', type: 'folder' },
          register: { type: 'building', idField: 'id', nameField: 'name' },
          source: 'registerBuilding',
        },
        {
          method: 'GET',
          path: '/native/v2/buildings/{id}',
          apiGroup: 'building-register',
          permission: 'resources:read',
          target: { in: 'path', name: 'id', type: 'building' },
          source: 'getBuilding',
        },
        {
          method: 'GET',
          path: '/native/v2/buildings/{building_id}/elements',
          apiGroup: 'building-register',
          permission: 'resources:read',
          target: { in: 'path', name: 'building_id', type: 'building' },
          source: 'listElements',
        },
      ],
      apiGroups: { 'building-register': 'Buildings of the register.' },
      warnings: [],
    });
  });
});

describe('deriveRoutes: the rules one by one', () => {
  const ok = { '200': { description: 'ok' } };

  it('base path: absolute or relative server URL, no trailing slash; none without servers', () => {
    const p = { '/x': { get: { responses: ok } } };
    for (const [url, path] of [
      ['https://api.example.com/api/v3.0/', '/api/v3.0/x'],
      ['https://api.example.com', '/x'],
      ['/v1', '/v1/x'],
      ['v1', '/v1/x'],
      ['/', '/x'],
    ])
      assert.equal(only(p, { servers: [{ url }, { url: '/other' }] }).route.path, path, url);
    assert.equal(only(p).route.path, '/x');
  });

  it('the LAST path parameter naming a resource type is the target', () => {
    const { route } = only({ '/folder/{folderId}/building/{BuildingID}/part/{partId}': { get: { responses: ok } } });
    assert.deepEqual(route.target, { in: 'path', name: 'BuildingID', type: 'building' });
  });

  it('{id} counts only right after a segment naming a type', () => {
    const { route, warnings } = only({ '/report/{id}': { get: { tags: ['x'], responses: ok } } });
    assert.deepEqual(route.target, { in: 'token' });
    assert.deepEqual(warnings, ["GET /report/{id}: no target, the token's own resource"]);
  });

  it('body: only an object schema with a {type}Id property; allOf is merged; several: the required one', () => {
    const body = (schema: unknown, type = 'application/json') => ({
      '/things': { post: { requestBody: { content: { [type]: { schema } } }, responses: ok } },
    });
    assert.deepEqual(only(body({ type: 'object', properties: { buildingId: { type: 'string' } } })).route.target, {
      in: 'body',
      name: 'buildingId',
      type: 'building',
    });
    assert.deepEqual(
      only(body({ type: 'object', properties: { buildingId: {} } }, 'multipart/form-data')).route.target,
      { in: 'token' },
      'multipart bodies are not read',
    );
    assert.deepEqual(only(body({ type: 'array', items: { type: 'object' } })).route.target, { in: 'token' });
    assert.deepEqual(
      only(body({ allOf: [{ type: 'object', properties: { name: {} } }, { properties: { databaseId: {} } }] })).route
        .target,
      { in: 'body', name: 'databaseId', type: 'database' },
    );
    const several = only(
      body({ type: 'object', required: ['folderId'], properties: { accountId: {}, folderId: {}, buildingId: {} } }),
    );
    assert.deepEqual(several.route.target, { in: 'body', name: 'folderId', type: 'folder' });
    const guessed = only(body({ type: 'object', properties: { accountId: {}, folderId: {} } }));
    assert.deepEqual(guessed.route.target, { in: 'body', name: 'accountId', type: 'account' });
    assert.ok(guessed.warnings.some((w) => w.includes('several body fields name resources (accountId, folderId)')));
  });

  it('a body field wins over a query parameter', () => {
    const { route } = only({
      '/things': {
        post: {
          parameters: [{ name: 'accountId', in: 'query', schema: { type: 'string' } }],
          requestBody: { content: { 'application/json': { schema: { properties: { folderId: {} } } } } },
          responses: ok,
        },
      },
    });
    assert.deepEqual(route.target, { in: 'body', name: 'folderId', type: 'folder' });
  });

  it('path-item and operation parameters both count; header parameters never name the target', () => {
    const { route } = only({
      '/things': {
        parameters: [{ name: 'folderId', in: 'query' }],
        get: {
          parameters: [
            { name: 'folderId', in: 'header' },
            { name: 'database_id', in: 'query' },
          ],
          responses: ok,
        },
      },
    });
    assert.deepEqual(route.target, { in: 'query', name: 'folderId', type: 'folder' });
    const header = only({ '/t': { get: { parameters: [{ name: 'folderId', in: 'header' }], responses: ok } } });
    assert.deepEqual(header.route.target, { in: 'token' });
  });

  it('GET and HEAD read, every other method writes', () => {
    const item = Object.fromEntries(
      ['get', 'head', 'post', 'put', 'patch', 'delete', 'options'].map((m) => [m, { responses: ok }]),
    );
    const derived = deriveRoutes(doc({ '/x': item }), DEFAULT_MODEL);
    assert.deepEqual(
      derived.routes.map((r) => `${r.method}:${r.permission}`),
      [
        'GET:resources:read',
        'HEAD:resources:read',
        'POST:resources:write',
        'PUT:resources:write',
        'PATCH:resources:write',
        'DELETE:resources:write',
        'OPTIONS:resources:write',
      ],
    );
  });

  it('no tag: no group, and a warning', () => {
    const { route, warnings } = only({ '/x/{buildingId}': { get: { responses: ok } } });
    assert.equal(route.apiGroup, undefined);
    assert.deepEqual(warnings, ['GET /x/{buildingId}: no tag, so no API group (tokens limited to groups pass too)']);
  });

  it('tag names normalised to API group names; the description falls back to the tag', () => {
    assert.equal(groupName('Building Files'), 'building-files');
    assert.equal(groupName('  3D Models! '), 'd-models');
    assert.equal(groupName('Matériaux'), 'materiaux');
    assert.equal(groupName('snake_case'), 'snake_case');
    assert.equal(groupName('123'), '');
    const { route, apiGroups } = only({ '/x': { get: { tags: ['Building Files'], responses: ok } } });
    assert.equal(route.apiGroup, 'building-files');
    assert.deepEqual(apiGroups, { 'building-files': 'Building Files' });
  });

  it('a tag that cannot be a group (or would be native) gives no group and a warning', () => {
    for (const tag of ['123', 'native']) {
      const { route, warnings, apiGroups } = only({ '/x': { get: { tags: [tag], responses: ok } } });
      assert.equal(route.apiGroup, undefined);
      assert.deepEqual(apiGroups, {});
      assert.ok(warnings.some((w) => w.includes(`the tag "${tag}" cannot be an API group`)));
    }
  });

  it('register: only when the created type and its parent are certain', () => {
    const created = {
      '201': { description: 'c', content: { 'application/json': { schema: { properties: { id: {} } } } } },
    };
    const post = (path: string, extra: Record<string, unknown> = {}) =>
      only({ [path]: { post: { tags: ['t'], responses: created, ...extra } } });
    assert.deepEqual(post('/folder/{folderId}/buildings').route.register, { type: 'building', idField: 'id' });
    // A building may not sit under a building: the parent is somewhere else.
    const wrongParent = post('/building/{buildingId}/building');
    assert.equal(wrongParent.route.register, undefined);
    assert.ok(wrongParent.warnings.some((w) => w.includes('creates a building but its parent is not the target')));
    // The token's own resource is not assumed to be the parent.
    const noTarget = post('/building');
    assert.equal(noTarget.route.register, undefined);
    assert.ok(noTarget.warnings.some((w) => w.includes('set x-keygate register')));
    // No id in the answer, or a 200 rather than a 201: nothing is created.
    const noId = {
      '201': { description: 'c', content: { 'application/json': { schema: { properties: { ok: {} } } } } },
    };
    assert.equal(only({ '/folder/{folderId}/building': { post: { responses: noId } } }).route.register, undefined);
    assert.equal(
      only({ '/folder/{folderId}/building': { post: { responses: { '200': created['201'] } } } }).route.register,
      undefined,
    );
  });

  it('x-keygate target token, and public: false, are honoured', () => {
    const { route, warnings } = only({
      '/building/{buildingId}': {
        get: { tags: ['b'], 'x-keygate': { target: 'token', public: false }, responses: ok },
      },
    });
    assert.deepEqual(route.target, { in: 'token' });
    assert.equal(route.public, undefined);
    assert.deepEqual(warnings, [], 'an explicit token target is no guess');
  });

  it('a parameter inside a segment leaves the operation out, with a warning', () => {
    const derived = deriveRoutes(doc({ '/report.{format}': { get: { responses: ok } } }), DEFAULT_MODEL);
    assert.deepEqual(derived.routes, []);
    assert.match(derived.warnings[0]!, /^GET \/report\.\{format\}: left out, .*whole segment/);
  });

  it('$ref to components/parameters, requestBodies and responses resolve; a dangling one is an Error', () => {
    const components = {
      components: {
        parameters: { F: { name: 'folderId', in: 'query' } },
        requestBodies: { B: { content: { 'application/json': { schema: { $ref: '#/components/schemas/S' } } } } },
        schemas: { S: { type: 'object', properties: { databaseId: {} } } },
      },
    };
    assert.deepEqual(
      only({ '/x': { get: { parameters: [{ $ref: '#/components/parameters/F' }], responses: ok } } }, components).route
        .target,
      { in: 'query', name: 'folderId', type: 'folder' },
    );
    assert.deepEqual(
      only({ '/x': { post: { requestBody: { $ref: '#/components/requestBodies/B' }, responses: ok } } }, components)
        .route.target,
      { in: 'body', name: 'databaseId', type: 'database' },
    );
    assert.throws(
      () =>
        deriveRoutes(
          doc({ '/x': { get: { operationId: 'op', parameters: [{ $ref: '#/components/parameters/Nope' }] } } }),
          DEFAULT_MODEL,
        ),
      /GET \/x \(op\): \$ref #\/components\/parameters\/Nope does not resolve/,
    );
    assert.throws(
      () => deriveRoutes(doc({ '/x': { get: { parameters: [{ $ref: 'other.yaml#/P' }] } } }), DEFAULT_MODEL),
      /points outside the document/,
    );
  });
});

describe('bad documents and bad x-keygate', () => {
  const bad: [string, unknown, RegExp][] = [
    ['not an object', 'hello', /is not an OpenAPI document/],
    ['no openapi field', { info: {}, paths: {} }, /has no "openapi" field/],
    ['Swagger 2.0', { swagger: '2.0', paths: {} }, /Swagger 2\.0 document; keygate reads OpenAPI 3\.0 and 3\.1/],
    ['OpenAPI 4', { openapi: '4.0.0', paths: {} }, /is OpenAPI 4\.0\.0; keygate reads OpenAPI 3\.0 and 3\.1/],
    ['an unquoted version', { openapi: 3.1, paths: {} }, /must be a version string/],
  ];
  for (const [name, value, message] of bad)
    it(`deriveRoutes refuses ${name}`, () => assert.throws(() => deriveRoutes(value, DEFAULT_MODEL), message));

  const xk = (extension: unknown) => () =>
    deriveRoutes(
      doc({ '/building/{id}': { put: { operationId: 'putIt', 'x-keygate': extension, responses: {} } } }),
      DEFAULT_MODEL,
    );
  const badExtensions: [unknown, RegExp][] = [
    ['yes', /PUT \/building\/\{id\} \(putIt\): x-keygate must be an object/],
    [{ permision: 'resources:read' }, /\(putIt\): x-keygate has an unknown key "permision"/],
    [{ public: 'true' }, /\(putIt\): x-keygate\.public must be true or false/],
    [{ skip: 1 }, /x-keygate\.skip must be true or false/],
    [{ apiGroup: 'Buildings' }, /x-keygate\.apiGroup must match/],
    [{ permission: 7 }, /x-keygate\.permission must be a non-empty string/],
    [{ target: 'path' }, /x-keygate\.target must be 'token' or an object/],
    [{ target: { in: 'cookie', name: 'x' } }, /x-keygate\.target\.in must be path, query or body/],
    [{ target: { in: 'query' } }, /x-keygate\.target\.name is required/],
    [{ target: { in: 'query', name: 'a', kind: 'b' } }, /x-keygate\.target has an unknown key "kind"/],
    [{ target: { in: 'path', name: 'buildingId' } }, /\(putIt\): x-keygate\.target names the path parameter/],
    [{ register: { type: 'building' } }, /x-keygate\.register needs a type and an idField/],
    [{ register: { type: 'building', idField: 'id', parent: 'x' } }, /register has an unknown key "parent"/],
  ];
  for (const [extension, message] of badExtensions)
    it(`x-keygate ${JSON.stringify(extension)} is an Error naming the operation`, () =>
      assert.throws(xk(extension), message));

  it('x-keygate with every field set is taken as given', () => {
    const { routes } = xk({
      apiGroup: 'admin',
      permission: 'resources:delete',
      target: { in: 'query', name: 'b', type: 'building' },
      register: { type: 'building', idField: 'uuid', parentField: 'folder', nameField: 'title' },
      public: false,
      skip: false,
    })();
    assert.deepEqual(routes, [
      {
        method: 'PUT',
        path: '/building/{id}',
        apiGroup: 'admin',
        permission: 'resources:delete',
        target: { in: 'query', name: 'b', type: 'building' },
        register: { type: 'building', idField: 'uuid', parentField: 'folder', nameField: 'title' },
        source: 'putIt +x-keygate',
      },
    ]);
  });
});

describe('loadOpenApi', () => {
  let dir: string;
  let server: Server;
  let origin: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keygate-openapi-'));
    server = createServer((req, res) => {
      if (req.url === '/openapi.yaml') {
        res.setHeader('content-type', 'application/yaml');
        res.end("openapi: '3.1.0'\ninfo: {title: t, version: '1'}\npaths: {}\n");
      } else {
        res.statusCode = 404;
        res.end('no');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('reads YAML and JSON files', async () => {
    assert.equal(((await loadOpenApi(MADASTER)) as { openapi: string }).openapi, '3.0.3');
    assert.equal(((await loadOpenApi(BUILDINGS_31)) as { openapi: string }).openapi, '3.1.0');
  });

  it('reads a JSON file that starts with a byte-order mark', async () => {
    await writeFile(join(dir, 'bom.json'), '\uFEFF{"openapi": "3.0.3", "paths": {}}');
    assert.deepEqual(await loadOpenApi(join(dir, 'bom.json')), { openapi: '3.0.3', paths: {} });
  });

  it('reads from an http URL', async () => {
    assert.deepEqual(await loadOpenApi(`${origin}/openapi.yaml`), {
      openapi: '3.1.0',
      info: { title: 't', version: '1' },
      paths: {},
    });
  });

  it('says why a document cannot be used; never shows a URL query (it may hold a key)', async () => {
    await assert.rejects(
      loadOpenApi(join(dir, 'missing.yaml')),
      /Cannot read the OpenAPI document .*missing\.yaml: .*ENOENT/,
    );
    await assert.rejects(
      loadOpenApi(`${origin}/gone.yaml?key=secret`),
      (e: Error) => /answered 404/.test(e.message) && !e.message.includes('secret'),
    );
    const files: [string, string, RegExp][] = [
      ['broken.json', '{"openapi": ', /neither valid JSON nor valid YAML/],
      ['broken.yaml', 'openapi: [3.0\n  - x: {', /neither valid JSON nor valid YAML/],
      ['swagger.yaml', "swagger: '2.0'\ninfo: {title: t}\npaths: {}\n", /Swagger 2\.0 document/],
      ['text.yaml', 'just some text\n', /is not an OpenAPI document/],
      ['old.json', '{"openapi": "2.1.0"}', /is OpenAPI 2\.1\.0/],
    ];
    for (const [name, text, message] of files) {
      await writeFile(join(dir, name), text);
      await assert.rejects(loadOpenApi(join(dir, name)), message, name);
    }
  });
});
