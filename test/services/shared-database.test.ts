import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DIALECTS, createTestCluster, type TestEnv } from '../support/harness.js';

const TTL_MS = 30_000;

interface Answer {
  status: number;
  body: any;
}

/** One server process as a client sees it: a base URL and the key it is called with. */
function client(base: string, key: string) {
  return async (method: string, path: string, body?: unknown): Promise<Answer> => {
    const res = await fetch(`${base}/api/v1.0${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  };
}

/** The envelope of a 404: what a row another process deleted must answer, never a 500. */
function assertNotFound(answer: Answer, what: string): void {
  assert.equal(answer.status, 404, `${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body?.error?.code, 'NOT_FOUND', what);
  assert.match(answer.body.error.requestId, /\S/);
}

for (const dialect of DIALECTS) {
  describe(`two processes over one database [${dialect.name}]`, () => {
    let now = Date.parse('2026-03-01T00:00:00.000Z');
    let cluster: Awaited<ReturnType<typeof createTestCluster>>;
    let a: TestEnv;
    let b: TestEnv;
    let onA: ReturnType<typeof client>;
    let onB: ReturnType<typeof client>;
    let baseOfB: string;

    before(async () => {
      cluster = await createTestCluster(dialect.url, 2, {
        env: { KEYGATE_CACHE_TTL_MS: String(TTL_MS) },
        clock: () => new Date(now),
      });
      [a, b] = cluster.instances as [TestEnv, TestEnv];
      const admin = await a.kg.users.create({ email: 'ops@example.com', systemRole: 'admin' }, 'system');
      const user = await a.kg.cache.user(admin.id);
      assert.ok(user);
      const { key } = await a.kg.tokens.create(
        { kind: 'user', user },
        null,
        { name: 'ops', level: 'administrator' },
        null,
      );
      const bases: string[] = [];
      for (const { app } of [a, b]) {
        await app.listen({ port: 0, host: '127.0.0.1' });
        bases.push(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
      }
      onA = client(bases[0]!, key);
      baseOfB = bases[1]!;
      onB = client(baseOfB, key);
    });
    after(async () => {
      await cluster?.dispose();
    });

    it('a resource deleted by one process is 404 on the other, at once for its row and within the TTL for the tree', async () => {
      const account = await onA('POST', '/resources', { type: 'account', name: 'Acme' });
      assert.equal(account.status, 201);
      const folder = await onA('POST', '/resources', { type: 'folder', name: 'F', parentId: account.body.id });
      assert.equal(folder.status, 201);
      const id: string = folder.body.id;
      const token = await onA('POST', `/resources/${id}/tokens`, { name: 'deploy', level: 'reader' });
      assert.equal(token.status, 201);

      // B reads the folder, its children, members and tokens: its cache now holds the folder's place in the tree.
      for (const path of [`/resources/${id}`, `/resources/${id}/children`, `/resources/${id}/members`]) {
        assert.equal((await onB('GET', path)).status, 200, path);
      }
      assert.equal((await onB('GET', `/resources/${id}/tokens`)).status, 200);
      assert.equal((await client(baseOfB, token.body.key)('GET', '/me')).status, 200);

      assert.equal((await onA('DELETE', `/resources/${id}`)).status, 204);

      // What reads or writes the row itself knows at once, though B's cached tree still has the folder.
      assertNotFound(await onB('POST', `/resources/${id}/tokens`, { name: 'late' }), 'add a token');
      assertNotFound(await onB('PUT', `/resources/${id}/members/ops@example.com`, { role: 'reader' }), 'add a member');
      assertNotFound(await onB('POST', '/resources', { type: 'folder', name: 'child', parentId: id }), 'add a child');
      assertNotFound(await onB('GET', `/resources/${id}`), 'get');
      assertNotFound(await onB('PATCH', `/resources/${id}`, { name: 'G' }), 'rename');
      assertNotFound(await onB('DELETE', `/resources/${id}`), 'delete again');
      // What reads only the cached tree may be stale, but never fails.
      for (const path of [`/resources/${id}/children`, `/resources/${id}/members`, `/resources/${id}/tokens`]) {
        const answer = await onB('GET', path);
        assert.ok(answer.status === 200 || answer.status === 404, `${path}: ${answer.status}`);
      }

      now += TTL_MS;
      for (const path of [`/resources/${id}/children`, `/resources/${id}/members`, `/resources/${id}/tokens`]) {
        assertNotFound(await onB('GET', path), `${path} after the TTL`);
      }
      const gone = await client(baseOfB, token.body.key)('GET', '/me');
      assert.equal(gone.status, 401, "the deleted resource's token no longer works on B");
      assert.equal((await onB('GET', `/resources/${account.body.id}`)).status, 200, 'its parent is still there');
    });

    it('a token deleted by one process is 404 on the other, and its key stops there within the TTL', async () => {
      const account = await onA('POST', '/resources', { type: 'account', name: 'Tokens' });
      const token = await onA('POST', `/resources/${account.body.id}/tokens`, { name: 'ci', level: 'manager' });
      assert.equal(token.status, 201);
      const id: string = token.body.id;
      const asToken = client(baseOfB, token.body.key);
      assert.equal((await asToken('GET', '/me')).status, 200);
      assert.equal((await onB('GET', `/tokens/${id}`)).status, 200);

      assert.equal((await onA('DELETE', `/tokens/${id}`)).status, 204);

      assertNotFound(await onB('GET', `/tokens/${id}`), 'get');
      assertNotFound(await onB('PATCH', `/tokens/${id}`, { name: 'renamed' }), 'update');
      assertNotFound(await onB('POST', `/tokens/${id}/deactivate`), 'deactivate');
      assertNotFound(await onB('DELETE', `/tokens/${id}`), 'delete again');
      const stale = await asToken('GET', '/me');
      assert.ok(stale.status === 200 || stale.status === 401, `within the TTL: ${stale.status}`);

      now += TTL_MS;
      const gone = await asToken('GET', '/me');
      assert.equal(gone.status, 401);
      assert.equal(gone.body.error.code, 'KEY_INVALID');
    });
  });
}
