import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import createClient from 'openapi-fetch';
import { loadConfig } from '../../src/config.js';
import { randomBase62 } from '../../src/domain/keys.js';
import { verifyIdentity } from '../../src/gateway/identity.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { asUser, PASSWORD } from '../support/client.js';
import { DIALECTS } from '../support/harness.js';
import { assertNoSecretsAtRest, noteSecret } from '../support/secret-scan.js';
import { startUpstream } from '../support/upstream.js';
import type { paths } from './fixtures/madaster.gen.js';

const FIXTURE = join(import.meta.dirname, 'fixtures/madaster.openapi.yaml');

/** Madaster, in miniature: buildings by UUID, created in folders; it trusts only signed identities. */
function fakeMadaster(secret: () => string) {
  const buildings = new Map<string, { id: string; folderId: string; name: string }>();
  return startUpstream((req, res, body) => {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    // Public operations come without an identity; everything else must carry a signed one.
    if (req.url === '/api/v3.0/ping') return json(200, { status: 'ok' });
    if (!verifyIdentity(secret(), req.headers, req.method ?? '', req.url ?? ''))
      return json(401, { message: 'unsigned' });
    const url = new URL(req.url ?? '/', 'http://upstream');
    const one = /^\/api\/v3\.0\/building\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && one) {
      const b = buildings.get(one[1]!);
      return b ? json(200, b) : json(404, { message: 'no such building' });
    }
    if (req.method === 'GET' && url.pathname === '/api/v3.0/building')
      return json(
        200,
        [...buildings.values()].filter((b) => b.folderId === url.searchParams.get('folderId')),
      );
    if (req.method === 'POST' && url.pathname === '/api/v3.0/building') {
      const input = JSON.parse(body.toString('utf8')) as { folderId: string; name: string };
      const created = { id: randomUUID(), folderId: input.folderId, name: input.name };
      buildings.set(created.id, created);
      return json(201, created);
    }
    return json(404, { message: 'not here' });
  });
}

for (const dialect of DIALECTS) {
  describe(`a client generated from the upstream's OpenAPI document, through keygate gateway [${dialect.name}]`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keygate-gw-e2e-'));
    const schema = dialect.url ? `t_${randomBase62(12).toLowerCase()}` : undefined;
    let server: RunningServer;
    let upstream: Awaited<ReturnType<typeof fakeMadaster>>;
    let secret = '';
    const folder = { inside: randomUUID(), outside: randomUUID() };
    let key = '';

    before(async () => {
      upstream = await fakeMadaster(() => secret);
      server = await startServer(
        loadConfig({
          PORT: '0',
          HOST: '127.0.0.1',
          KEYGATE_DATA_DIR: dataDir,
          KEYGATE_DATABASE_URL: dialect.url ?? '',
          KEYGATE_DATABASE_SCHEMA: schema ?? '',
          KEYGATE_LOG_LEVEL: 'silent',
          KEYGATE_ADMIN_EMAIL: 'admin@example.com',
          KEYGATE_ADMIN_PASSWORD: PASSWORD,
          KEYGATE_GATEWAY_UPSTREAM: upstream.url,
          KEYGATE_GATEWAY_OPENAPI: FIXTURE,
          KEYGATE_GATEWAY_PORT: '0',
        }),
      );
      // No secret configured: one was made and kept beside the database, for the upstream to read.
      const secretFile = join(dataDir, 'gateway-secret');
      assert.ok(existsSync(secretFile));
      const { readFileSync } = await import('node:fs');
      // Not noted as a minted secret: the data directory is where it is meant to be kept.
      secret = readFileSync(secretFile, 'utf8').trim();

      const kg = server.keygate;
      const admin = await asUser(kg, (await kg.users.find('admin@example.com'))!.id);
      await kg.resources.bulkUpsert(
        admin,
        [
          { externalId: 'acme', type: 'account', name: 'Acme' },
          { externalId: folder.inside, type: 'folder', name: 'Amsterdam', parentExternalId: 'acme' },
          { externalId: folder.outside, type: 'folder', name: 'Rotterdam', parentExternalId: 'acme' },
        ],
        null,
      );
      const inside = await kg.resources.resolveRef(folder.inside, 'folder');
      // The document's tags became API groups a token can be limited to.
      assert.ok('buildings' in kg.config.model.apiGroups);
      key = (
        await kg.tokens.create(admin, inside, { name: 'script', level: 'manager', apiGroups: ['buildings'] }, null)
      ).key;
      noteSecret(key);
    });
    after(async () => {
      const kg = server?.keygate;
      if (kg) await assertNoSecretsAtRest(kg, dataDir);
      if (kg && schema) await kg.stores.db.schema.dropSchema(schema).ifExists().cascade().execute();
      await server?.stop();
      await upstream?.close();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('creates and reads in scope, and is refused out of scope, in the envelope', async () => {
      assert.ok(server.gateway);
      const client = createClient<paths>({ baseUrl: `${server.gateway.url}/api/v3.0`, headers: { 'X-API-Key': key } });

      const created = await client.POST('/building', { body: { folderId: folder.inside, name: 'Het Hoofdkantoor' } });
      assert.equal(created.response.status, 201, JSON.stringify(created.error));
      const id = created.data!.id;
      // Registered from the 201: the next call reaches it by the upstream's own id.
      const read = await client.GET('/building/{buildingId}', { params: { path: { buildingId: id } } });
      assert.equal(
        read.response.status,
        200,
        `${JSON.stringify(read.error)} ${JSON.stringify(Object.fromEntries(read.response.headers))}`,
      );
      assert.equal(read.data?.name, 'Het Hoofdkantoor');
      const listed = await client.GET('/building', { params: { query: { folderId: folder.inside } } });
      assert.deepEqual(
        listed.data?.map((b) => b.id),
        [id],
      );

      const outside = await client.POST('/building', { body: { folderId: folder.outside, name: 'Elders' } });
      assert.equal(outside.response.status, 404);
      assert.equal((outside.error as unknown as { error: { code: string } }).error.code, 'NOT_FOUND');
      const listOutside = await client.GET('/building', { params: { query: { folderId: folder.outside } } });
      assert.equal(listOutside.response.status, 404);
      const anonymous = createClient<paths>({ baseUrl: `${server.gateway.url}/api/v3.0` });
      const refused = await anonymous.GET('/building/{buildingId}', { params: { path: { buildingId: id } } });
      assert.equal(refused.response.status, 401);
      assert.equal((refused.error as unknown as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
      assert.equal((await anonymous.GET('/ping')).response.status, 200);
    });

    it('reports the upstream in /health', async () => {
      const health = (await (await fetch(`${server.url}/health`)).json()) as { upstreams: { state: string }[] };
      assert.equal(health.upstreams.length, 1);
      assert.equal(health.upstreams[0]!.state, 'up');
    });
  });
}
