import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { it } from 'node:test';
import { ERROR_CODES } from '../../src/domain/errors.js';
import {
  createClient,
  ERROR_CLASSES,
  KeygateError,
  NotFoundError,
  unwrap,
  ValidationFailedError,
  type KeygateClient,
} from '../../sdk/src/index.js';
import { csrfTokenFor } from '../../src/http/csrf.js';
import { call, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

/**
 * The generated client against a live keygate over real HTTP: every operation of the OpenAPI
 * document is called once (the table must cover the document, so a new route needs a line here),
 * none answers 5xx, and every error answer arrives as its registry class.
 */

type Call = () => Promise<unknown>;

forEachDialect('SDK client against a live keygate', (env) => {
  let client: KeygateClient;
  /** As a system administrator signed in: the users group is not open to tokens. */
  let signedIn: KeygateClient;
  let base: string;
  const ids = { account: '', folder: '', spare: '', token: '', user: '', member: '', webhook: '', admin: '' };

  it('sets up: a listening server, an administrator token, a folder', async () => {
    const { app, kg } = env();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const admin = await userWithSession(app, kg, 'admin');
    ids.admin = admin.id;
    signedIn = createClient({
      baseUrl: base,
      headers: { cookie: `keygate_session=${admin.cookie}`, 'x-csrf-token': csrfTokenFor(admin.cookie) },
    });
    const account = await call(app, 'POST', '/api/v1.0/resources', {
      cookie: admin.cookie,
      body: { type: 'account', name: 'A' },
    });
    ids.account = account.body.id;
    const minted = await call(app, 'POST', `/api/v1.0/resources/${ids.account}/tokens`, {
      cookie: admin.cookie,
      body: { name: 'sdk', level: 'administrator' },
    });
    assert.equal(minted.status, 201, JSON.stringify(minted.body));
    client = createClient({ baseUrl: base, key: minted.body.key });
    const folder = await unwrap(
      client.POST('/api/v1.0/resources', { body: { type: 'folder', name: 'F', parentId: ids.account } }),
    );
    ids.folder = folder.id;
    ids.spare = (
      await unwrap(client.POST('/api/v1.0/resources', { body: { type: 'folder', name: 'G', parentId: ids.account } }))
    ).id;
    const token = await unwrap(
      client.POST('/api/v1.0/resources/{id}/tokens', { params: { path: { id: ids.folder } }, body: { name: 't' } }),
    );
    ids.token = token.id;
    ids.user = token.ownerId;
    const member = await kg.users.create({ email: `m-${Date.now()}@example.com`, password: 'x'.repeat(16) }, 'system');
    ids.member = member.id;
  });

  it('returns typed data and throws typed errors', async () => {
    const page = await unwrap(client.GET('/api/v1.0/resources/{id}/tokens', { params: { path: { id: ids.folder } } }));
    assert.ok(page.items.some((t) => t.id === ids.token));
    await assert.rejects(client.GET('/api/v1.0/tokens/{id}', { params: { path: { id: 'tok_missing' } } }), (err) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.status, 404);
      assert.match(err.requestId ?? '', /\S/);
      return true;
    });
    await assert.rejects(
      client.POST('/api/v1.0/resources', { body: { type: 'folder', name: '' } }),
      (err) => err instanceof ValidationFailedError && err.field === 'name',
    );
  });

  it('calls every operation once: none answers 5xx, every refusal is its registry class', async () => {
    const { id: folder } = { id: ids.folder };
    const p = (id: string) => ({ params: { path: { id } } });
    const table: Record<string, Call> = {
      'GET /health': () => client.GET('/health'),
      'GET /ready': () => client.GET('/ready'),
      'GET /metrics': () => client.GET('/metrics', { parseAs: 'text' }),
      'GET /api/versions': () => client.GET('/api/versions'),
      'GET /api/changelog': () => client.GET('/api/changelog'),
      'GET /api/changelog.atom': () => client.GET('/api/changelog.atom', { parseAs: 'text' }),
      'GET /api/v1.0/me': () => client.GET('/api/v1.0/me'),
      'GET /api/v1.0/me/expiring': () => client.GET('/api/v1.0/me/expiring'),
      'GET /api/v1.0/model': () => client.GET('/api/v1.0/model'),
      'POST /api/v1.0/users': () =>
        signedIn.POST('/api/v1.0/users', { body: { email: `n-${Date.now()}@example.com`, password: 'y'.repeat(16) } }),
      'GET /api/v1.0/users': () => signedIn.GET('/api/v1.0/users'),
      'GET /api/v1.0/users/{id}': () => signedIn.GET('/api/v1.0/users/{id}', p(ids.user)),
      'PATCH /api/v1.0/users/{id}': () =>
        signedIn.PATCH('/api/v1.0/users/{id}', { ...p(ids.member), body: { active: true } }),
      'POST /api/v1.0/resources': () =>
        client.POST('/api/v1.0/resources', { body: { type: 'folder', name: 'H', parentId: ids.account } }),
      'GET /api/v1.0/resources': () => client.GET('/api/v1.0/resources'),
      'POST /api/v1.0/resources/bulk': () =>
        client.POST('/api/v1.0/resources/bulk', {
          body: { resources: [{ type: 'folder', name: 'bulk', parentId: ids.account }] },
        } as never),
      'GET /api/v1.0/resources/{id}': () => client.GET('/api/v1.0/resources/{id}', p(folder)),
      'PATCH /api/v1.0/resources/{id}': () =>
        client.PATCH('/api/v1.0/resources/{id}', { ...p(folder), body: { name: 'F renamed' } }),
      'GET /api/v1.0/resources/{id}/children': () => client.GET('/api/v1.0/resources/{id}/children', p(ids.account)),
      'GET /api/v1.0/resources/{id}/members': () => client.GET('/api/v1.0/resources/{id}/members', p(folder)),
      'PUT /api/v1.0/resources/{id}/members/{userId}': () =>
        client.PUT('/api/v1.0/resources/{id}/members/{userId}', {
          params: { path: { id: folder, userId: ids.member } },
          body: { role: 'reader' },
        } as never),
      'DELETE /api/v1.0/resources/{id}/members/{userId}': () =>
        client.DELETE('/api/v1.0/resources/{id}/members/{userId}', {
          params: { path: { id: folder, userId: ids.member } },
        }),
      'POST /api/v1.0/resources/{id}/tokens': () =>
        client.POST('/api/v1.0/resources/{id}/tokens', { ...p(folder), body: { name: 'another' } }),
      'GET /api/v1.0/resources/{id}/tokens': () => client.GET('/api/v1.0/resources/{id}/tokens', p(folder)),
      'POST /api/v1.0/tokens': () => client.POST('/api/v1.0/tokens', { body: { name: 'personal' } } as never),
      'GET /api/v1.0/tokens': () => client.GET('/api/v1.0/tokens'),
      'GET /api/v1.0/tokens/{id}': () => client.GET('/api/v1.0/tokens/{id}', p(ids.token)),
      'PATCH /api/v1.0/tokens/{id}': () =>
        client.PATCH('/api/v1.0/tokens/{id}', { ...p(ids.token), body: { description: 'from the SDK' } }),
      'POST /api/v1.0/tokens/{id}/deactivate': () => client.POST('/api/v1.0/tokens/{id}/deactivate', p(ids.token)),
      'POST /api/v1.0/tokens/{id}/activate': () => client.POST('/api/v1.0/tokens/{id}/activate', p(ids.token)),
      'POST /api/v1.0/tokens/deactivate': () =>
        client.POST('/api/v1.0/tokens/deactivate', { body: { ids: ['tok_missing'] } } as never),
      'POST /api/v1.0/tokens/{id}/roll': () => client.POST('/api/v1.0/tokens/{id}/roll', { ...p(ids.token), body: {} }),
      'GET /api/v1.0/tokens/{id}/key': () => client.GET('/api/v1.0/tokens/{id}/key', p(ids.token)),
      'GET /api/v1.0/tokens/{id}/usage': () => client.GET('/api/v1.0/tokens/{id}/usage', p(ids.token)),
      'POST /api/v1.0/verify': () => client.POST('/api/v1.0/verify', { body: { key: 'kg_not_a_key' } }),
      // Not a key of this server: refused before anything is looked up (a live key would be switched off).
      'POST /api/v1.0/revoke': () => client.POST('/api/v1.0/revoke', { body: { key: 'kg_not_a_key' } }),
      // Not configured here: answered as a route that does not exist.
      'POST /api/v1.0/secret-scanning/github': () => client.POST('/api/v1.0/secret-scanning/github', { body: [] }),
      // A stream that never ends by itself: opened (or refused), then let go.
      'GET /api/v1.0/events': async () => {
        const { data } = await client.GET('/api/v1.0/events', { parseAs: 'stream' });
        await data?.cancel();
      },
      'GET /api/v1.0/logs/access/stats': () => client.GET('/api/v1.0/logs/access/stats'),
      'GET /api/v1.0/logs/access': () => client.GET('/api/v1.0/logs/access'),
      'GET /api/v1.0/logs/access/export': () => client.GET('/api/v1.0/logs/access/export', { parseAs: 'text' }),
      'GET /api/v1.0/logs/audit': () => client.GET('/api/v1.0/logs/audit'),
      'GET /api/v1.0/logs/audit/export': () => client.GET('/api/v1.0/logs/audit/export', { parseAs: 'text' }),
      'POST /api/v1.0/webhooks': async () => {
        const { data } = await client.POST('/api/v1.0/webhooks', {
          body: { url: 'https://hooks.example.com/keygate', resourceId: ids.account },
        });
        if (data) ids.webhook = data.id;
      },
      'GET /api/v1.0/webhooks': () => client.GET('/api/v1.0/webhooks'),
      'GET /api/v1.0/webhooks/{id}': () => client.GET('/api/v1.0/webhooks/{id}', p(ids.webhook || 'wh_missing')),
      'PATCH /api/v1.0/webhooks/{id}': () =>
        client.PATCH('/api/v1.0/webhooks/{id}', { ...p(ids.webhook || 'wh_missing'), body: { active: false } }),
      'POST /api/v1.0/webhooks/{id}/rotate-secret': () =>
        client.POST('/api/v1.0/webhooks/{id}/rotate-secret', p(ids.webhook || 'wh_missing')),
      'GET /api/v1.0/webhooks/{id}/deliveries': () =>
        client.GET('/api/v1.0/webhooks/{id}/deliveries', p(ids.webhook || 'wh_missing')),
      'POST /api/v1.0/webhooks/{id}/deliveries/{deliveryId}/redeliver': () =>
        client.POST('/api/v1.0/webhooks/{id}/deliveries/{deliveryId}/redeliver', {
          params: { path: { id: ids.webhook || 'wh_missing', deliveryId: 'whd_missing' } },
        }),
      'POST /api/v1.0/webhooks/{id}/ping': () => client.POST('/api/v1.0/webhooks/{id}/ping', p('wh_missing')),
      'DELETE /api/v1.0/webhooks/{id}': () => client.DELETE('/api/v1.0/webhooks/{id}', p(ids.webhook || 'wh_missing')),
      'POST /api/v1.0/session': () =>
        client.POST('/api/v1.0/session', { body: { email: 'nobody@example.com', password: 'wrong password' } }),
      'DELETE /api/v1.0/session': () => client.DELETE('/api/v1.0/session'),
      'DELETE /api/v1.0/tokens/{id}': () => client.DELETE('/api/v1.0/tokens/{id}', p(ids.token)),
      'DELETE /api/v1.0/resources/{id}': () => client.DELETE('/api/v1.0/resources/{id}', p(ids.spare)),
    };

    const document = env().app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`),
    );
    assert.deepEqual(Object.keys(table).sort(), operations.sort(), 'the table covers every documented operation');

    const outcomes: Record<string, string> = {};
    for (const [operation, run] of Object.entries(table)) {
      try {
        await run();
        outcomes[operation] = 'ok';
      } catch (err) {
        assert.ok(err instanceof KeygateError, `${operation}: ${err}`);
        assert.ok(err.status < 500, `${operation}: ${err.status} ${err.code} ${err.message}`);
        const Class = ERROR_CLASSES[err.code as keyof typeof ERROR_CLASSES];
        assert.ok(Class && err instanceof Class, `${operation}: ${err.code} arrives as its class`);
        assert.equal(err.status, ERROR_CODES[err.code as keyof typeof ERROR_CODES].status);
        outcomes[operation] = err.code;
      }
    }
    // Every route group answered at least one call with success.
    for (const group of ['resources', 'tokens', 'users', 'verify', 'logs', 'webhooks']) {
      assert.ok(
        Object.entries(outcomes).some(([op, outcome]) => op.includes(`/${group}`) && outcome === 'ok'),
        `${group}: ${JSON.stringify(outcomes)}`,
      );
    }
  });
});
