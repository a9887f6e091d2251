import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { nameCursor } from '../../src/domain/cursor.js';
import { KeygateError } from '../../src/domain/errors.js';
import { EXPIRES_IN, offeredExpiresIn, resolveExpiry } from '../../src/domain/expiry.js';
import { DEFAULT_MODEL } from '../../src/domain/model.js';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { assertError, call, userWithSession, type Reply } from '../support/client.js';

type Session = { id: string; email: string; cookie: string };
type Who = { cookie: string } | { key: string };

const DAY = 86_400_000;

/** Calls the v1.0 API as someone. */
function requester(env: () => TestEnv) {
  return (method: string, url: string, who: Who | null, body?: unknown): Promise<Reply> =>
    call(env().app, method, `/api/v1.0${url}`, { ...(who ?? {}), ...(body !== undefined ? { body } : {}) });
}

/** Asserts a 400 VALIDATION_FAILED that names the field. */
function assertInvalid(reply: Reply, field: string): void {
  assertError(reply, 400, 'VALIDATION_FAILED');
  assert.equal(reply.body.error.field, field, JSON.stringify(reply.body));
}

describe('offeredExpiresIn: exactly the presets resolveExpiry accepts', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  for (const max of [null, 29 * DAY, 30 * DAY, 100 * DAY, 365 * DAY, 729 * DAY, 730 * DAY, 5000 * DAY]) {
    it(`max lifetime ${max === null ? 'none' : `${max / DAY}d`}`, () => {
      const offered = offeredExpiresIn(max);
      for (const preset of EXPIRES_IN) {
        let accepted = true;
        try {
          resolveExpiry({ expiresIn: preset }, now, max);
        } catch (err) {
          assert.ok(err instanceof KeygateError && err.code === 'EXPIRY_TOO_LONG', String(err));
          accepted = false;
        }
        assert.equal(offered.includes(preset), accepted, preset);
      }
    });
  }
});

forEachDialect('GET /model', (env) => {
  const req = requester(env);
  let admin: Session;
  let account: string;

  before(async () => {
    admin = await userWithSession(env().app, env().kg, 'admin');
    account = (await req('POST', '/resources', admin, { type: 'account', name: 'Model' })).body.id;
  });

  it('tells a signed-in user the model, in the configured order, and the token policy', async () => {
    const plain = await userWithSession(env().app, env().kg, 'user');
    const res = await req('GET', '/model', plain);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.resourceTypes, [
      { name: 'account', parents: [null] },
      { name: 'folder', parents: ['account', 'folder'] },
      { name: 'building', parents: ['account', 'folder'] },
      { name: 'database', parents: ['account', 'folder'] },
    ]);
    assert.deepEqual(
      res.body.permissions,
      Object.entries(DEFAULT_MODEL.permissions).map(([name, description]) => ({ name, description })),
    );
    assert.deepEqual(
      res.body.levels.map((l: { name: string }) => l.name),
      ['reader', 'manager', 'administrator'],
    );
    assert.deepEqual(res.body.levels[0].permissions, DEFAULT_MODEL.levels.reader);
    assert.deepEqual(
      res.body.apiGroups.map((g: { name: string }) => g.name),
      Object.keys(DEFAULT_MODEL.apiGroups),
    );
    assert.deepEqual(res.body.policy, {
      expiresIn: ['30d', '90d', '1y', '2y', 'never'],
      maxLifetimeDays: null,
      recoverableKeys: false,
      customKeys: { allowed: true, minLength: 24 },
      logging: ['none', 'request', 'request+response'],
    });
  });

  it('answers any token, whatever its API groups; nobody without credentials', async () => {
    const token = await req('POST', `/resources/${account}/tokens`, admin, {
      name: 'verify only',
      apiGroups: ['verify'],
    });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    const res = await req('GET', '/model', { key: token.body.key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.policy.maxLifetimeDays, null);
    assertError(await req('GET', '/model', null), 401, 'UNAUTHENTICATED');
  });

  it('is in the OpenAPI document, as is bulk deactivation', async () => {
    const doc = (await call(env().app, 'GET', '/api/v1.0/openapi.json')).body;
    assert.match(doc.paths['/api/v1.0/model'].get.summary, /What this keygate offers/);
    assert.ok(doc.paths['/api/v1.0/model'].get.responses['200']);
    assert.equal(doc.paths['/api/v1.0/tokens/deactivate'].post.summary, 'Deactivate many tokens');
    assert.ok(doc.paths['/api/v1.0/tokens/{id}/deactivate'].post, 'the single route is still there');
    assert.ok(
      doc.paths['/api/v1.0/resources'].get.parameters.some((p: { name: string }) => p.name === 'q'),
      'GET /resources documents q',
    );
    assert.ok(doc.paths['/api/v1.0/users'].get.parameters.some((p: { name: string }) => p.name === 'q'));
  });
});

forEachDialect(
  'GET /model under a lifetime limit',
  (env) => {
    const req = requester(env);
    it('offers only the presets within the limit, and each offered one is accepted', async () => {
      const admin = await userWithSession(env().app, env().kg, 'admin');
      const res = await req('GET', '/model', admin);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.policy, {
        expiresIn: ['30d', '90d'],
        maxLifetimeDays: 100,
        recoverableKeys: false,
        customKeys: { allowed: false, minLength: 32 },
        logging: ['none', 'request', 'request+response'],
      });
      const account = (await req('POST', '/resources', admin, { type: 'account', name: 'Limited' })).body.id;
      for (const expiresIn of res.body.policy.expiresIn)
        assert.equal((await req('POST', `/resources/${account}/tokens`, admin, { name: 't', expiresIn })).status, 201);
      assertError(
        await req('POST', `/resources/${account}/tokens`, admin, { name: 't', expiresIn: '1y' }),
        422,
        'EXPIRY_TOO_LONG',
      );
    });
  },
  { KEYGATE_MAX_TOKEN_LIFETIME: '100d', KEYGATE_ALLOW_CUSTOM_KEYS: 'false', KEYGATE_CUSTOM_KEY_MIN_LENGTH: '32' },
);

forEachDialect('resource search and paths', (env) => {
  const req = requester(env);
  let admin: Session;
  /**
   * Acme (account) > Alpha Team (folder) > alpha house (building); Acme > Beta (folder) > wild
   * names; Secret Alpha (account) > alpha hidden (folder).
   */
  const ids: Record<string, string> = {};

  const create = async (key: string, type: string, name: string, parent?: string) => {
    const res = await req('POST', '/resources', admin, { type, name, ...(parent ? { parentId: ids[parent] } : {}) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    ids[key] = res.body.id;
  };
  const member = async (role: string, on: string): Promise<Session> => {
    const u = await userWithSession(env().app, env().kg, 'user');
    const put = await req('PUT', `/resources/${ids[on]}/members/${u.id}`, admin, { role });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    return u;
  };
  const search = async (who: Who, q: string, extra = ''): Promise<Reply> => {
    const res = await req('GET', `/resources?q=${encodeURIComponent(q)}${extra}`, who);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res;
  };
  const names = (res: Reply) => res.body.items.map((r: { name: string }) => r.name).sort();

  before(async () => {
    admin = await userWithSession(env().app, env().kg, 'admin');
    await create('A', 'account', 'Acme');
    await create('F', 'folder', 'Alpha Team', 'A');
    await create('B', 'building', 'alpha house', 'F');
    await create('F2', 'folder', 'Beta', 'A');
    await create('pct', 'building', '100% pure', 'F2');
    await create('pctX', 'building', '100X pure', 'F2');
    await create('us', 'building', 'under_score', 'F2');
    await create('usX', 'building', 'underXscore', 'F2');
    await create('bs', 'building', 'back\\slash', 'F2');
    await create('X', 'account', 'Secret Alpha');
    await create('XF', 'folder', 'alpha hidden', 'X');
  });

  it('an administrator finds every match, ignoring case, with full paths', async () => {
    const res = await search(admin, 'ALPHA');
    assert.deepEqual(names(res), ['Alpha Team', 'Secret Alpha', 'alpha hidden', 'alpha house'].sort());
    const byName = Object.fromEntries(res.body.items.map((r: { name: string }) => [r.name, r]));
    assert.deepEqual(byName['alpha house'].path, [
      { id: ids.A, type: 'account', name: 'Acme' },
      { id: ids.F, type: 'folder', name: 'Alpha Team' },
    ]);
    assert.deepEqual(byName['Secret Alpha'].path, [], 'a root has an empty path');
    assert.deepEqual(names(await search(admin, 'alpha')), names(res));
  });

  it('takes % _ and \\ literally', async () => {
    assert.deepEqual(names(await search(admin, '%')), ['100% pure']);
    assert.deepEqual(names(await search(admin, '0%')), ['100% pure']);
    assert.deepEqual(names(await search(admin, 'r_s')), ['under_score']);
    assert.deepEqual(names(await search(admin, '\\')), ['back\\slash']);
    assert.deepEqual(names(await search(admin, '\\s')), ['back\\slash']);
  });

  it('a member finds only within their reach, and their paths start at their entry point', async () => {
    const onF = await member('reader', 'F');
    const res = await search(onF, 'a');
    assert.deepEqual(names(res), ['Alpha Team', 'alpha house'].sort());
    const byName = Object.fromEntries(res.body.items.map((r: { name: string }) => [r.name, r]));
    assert.deepEqual(byName['Alpha Team'].path, []);
    assert.deepEqual(byName['alpha house'].path, [{ id: ids.F, type: 'folder', name: 'Alpha Team' }]);
    const shown = await req('GET', `/resources/${ids.B}`, onF);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body.path, [{ id: ids.F, type: 'folder', name: 'Alpha Team' }]);

    const onA = await member('manager', 'A');
    const fromTop = await req('GET', `/resources/${ids.B}`, onA);
    assert.deepEqual(
      fromTop.body.path.map((s: { name: string }) => s.name),
      ['Acme', 'Alpha Team'],
    );
    assert.deepEqual(names(await search(onA, 'alpha')), ['Alpha Team', 'alpha house'].sort());
  });

  it('an attacker never finds nor learns the name of a resource outside their reach', async () => {
    const attacker = await member('administrator', 'F2');
    const outside = ['Acme', 'Alpha Team', 'alpha house', 'Secret Alpha', 'alpha hidden'];
    const probes = ['a', 'A', 'Secret', 'alpha', 'acme', 'e', ' ', '%', '_', 'Acme'];
    for (const q of probes) {
      const res = await search(attacker, q);
      for (const r of res.body.items) assert.ok(r.id === ids.F2 || r.path.some((s: { id: string }) => s.id === ids.F2));
      for (const name of outside) assert.ok(!JSON.stringify(res.body).includes(name), `${q} leaked ${name}`);
    }
    // A cursor names a position only: one forged to start before everything still shows only the reach.
    const forged = await search(attacker, 'e', `&cursor=${nameCursor({ name: '', id: '' })}`);
    assert.deepEqual(names(forged), ['100% pure', '100X pure', 'Beta', 'underXscore', 'under_score'].sort());
    for (const name of outside) assert.ok(!JSON.stringify(forged.body).includes(name));
    // Inside the reach, paths stop at the entry point: the account above is not named.
    const deep = await search(attacker, 'pure');
    for (const r of deep.body.items) assert.deepEqual(r.path, [{ id: ids.F2, type: 'folder', name: 'Beta' }]);
    // Showing or listing below a resource outside the reach is 404, as before.
    assertError(await req('GET', `/resources/${ids.X}`, attacker), 404, 'NOT_FOUND');
    assertError(await req('GET', `/resources/${ids.A}`, attacker), 404, 'NOT_FOUND');

    // With no role anywhere, nothing at all.
    const nobody = await userWithSession(env().app, env().kg, 'user');
    for (const q of probes) assert.deepEqual((await search(nobody, q)).body.items, []);
  });

  it('a token finds only within its own subtree, even where its owner reaches further', async () => {
    const onA = await member('manager', 'A');
    const token = await req('POST', `/resources/${ids.F}/tokens`, onA, { name: 'scoped', apiGroups: ['resources'] });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    const res = await search({ key: token.body.key }, 'a');
    assert.deepEqual(names(res), ['Alpha Team', 'alpha house'].sort());
    for (const r of res.body.items)
      assert.ok(!JSON.stringify(r.path).includes('Acme'), 'its owner sees Acme; it does not');
    const shown = await req('GET', `/resources/${ids.B}`, { key: token.body.key });
    assert.deepEqual(shown.body.path, [{ id: ids.F, type: 'folder', name: 'Alpha Team' }]);
  });

  it('pages by name with limit and cursor', async () => {
    for (const letter of ['e', 'c', 'a', 'd', 'b']) await create(`p${letter}`, 'building', `pager${letter}`, 'F2');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const extra: string = `&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await search(admin, 'pager', extra);
      seen.push(...res.body.items.map((r: { name: string }) => r.name));
      for (const r of res.body.items) assert.equal(r.path.length, 2);
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    assert.deepEqual(seen, ['pagera', 'pagerb', 'pagerc', 'pagerd', 'pagere']);
    assert.equal(pages, 3);
  });

  it('other answers carry no path', async () => {
    const list = await req('GET', '/resources', admin);
    assert.equal(list.status, 200);
    for (const r of list.body.items) assert.equal(r.path, undefined);
    const children = await req('GET', `/resources/${ids.A}/children`, admin);
    assert.equal(children.status, 200, JSON.stringify(children.body));
    for (const r of children.body.items) assert.equal(r.path, undefined);
    const renamed = await req('PATCH', `/resources/${ids.usX}`, admin, { name: 'underXscore' });
    assert.equal(renamed.body.path, undefined);
  });

  it('refuses a bad q, limit or cursor with 400 naming the field', async () => {
    assertInvalid(await req('GET', '/resources?q=', admin), 'q');
    assertInvalid(await req('GET', `/resources?q=${'a'.repeat(201)}`, admin), 'q');
    assertInvalid(await req('GET', '/resources?q=a&limit=0', admin), 'limit');
    assertInvalid(await req('GET', '/resources?q=a&cursor=not!ours', admin), 'cursor');
    assertInvalid(await req('GET', `/resources?q=a&cursor=${ids.A}`, admin), 'cursor');
  });
});

forEachDialect('user search', (env) => {
  const req = requester(env);
  let admin: Session;
  const found: Record<string, string> = {};

  before(async () => {
    admin = await userWithSession(env().app, env().kg, 'admin');
    const make = async (key: string, address: string, name: string) => {
      const row = await env().kg.users.create({ email: address, name }, 'system');
      found[key] = row.id;
    };
    await make('zelda', 'Zelda.Hyrule@example.org', 'Princess');
    await make('link', 'link@example.org', 'Hero of ZELDA time');
    await make('pct', 'percent@example.org', '100% sure');
    await make('under', 'under_score@example.org', 'Under');
    await make('other', 'underXscore@example.org', 'Other');
  });

  const ids = (res: Reply) => res.body.items.map((u: { id: string }) => u.id).sort();

  it('matches email or name, ignoring case, and pages', async () => {
    const res = await req('GET', '/users?q=zElDa', admin);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(ids(res), [found.zelda, found.link].sort());
    const first = await req('GET', '/users?q=zelda&limit=1', admin);
    assert.equal(first.body.items.length, 1);
    assert.ok(first.body.nextCursor);
    const second = await req('GET', `/users?q=zelda&limit=1&cursor=${first.body.nextCursor}`, admin);
    assert.deepEqual([first.body.items[0].id, second.body.items[0].id].sort(), [found.zelda, found.link].sort());
    const third = await req('GET', `/users?q=zelda&limit=1&cursor=${second.body.nextCursor}`, admin);
    assert.deepEqual(third.body.items, []);
  });

  it('takes % and _ literally', async () => {
    assert.deepEqual(ids(await req('GET', `/users?q=${encodeURIComponent('%')}`, admin)), [found.pct]);
    assert.deepEqual(ids(await req('GET', '/users?q=under_', admin)), [found.under]);
  });

  it('is for administrators only, and refuses a bad q naming it', async () => {
    const plain = await userWithSession(env().app, env().kg, 'user');
    assertError(await req('GET', '/users?q=zelda', plain), 403, 'FORBIDDEN');
    assertInvalid(await req('GET', '/users?q=', admin), 'q');
    assertInvalid(await req('GET', `/users?q=${'x'.repeat(201)}`, admin), 'q');
    const all = await req('GET', '/users?limit=500', admin);
    assert.ok(all.body.items.length >= 6, 'without q, everyone as before');
  });
});

forEachDialect('bulk token deactivation', (env) => {
  const req = requester(env);
  let admin: Session;
  let account: string;
  let other: string;

  const token = async (who: Who, resourceId: string, name = 't'): Promise<string> => {
    const res = await req('POST', `/resources/${resourceId}/tokens`, who, { name });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  };
  const member = async (role: string, on: string): Promise<Session> => {
    const u = await userWithSession(env().app, env().kg, 'user');
    assert.equal((await req('PUT', `/resources/${on}/members/${u.id}`, admin, { role })).status, 200);
    return u;
  };
  const state = async (id: string) => (await env().kg.stores.tokens.findById(id))?.active;

  before(async () => {
    admin = await userWithSession(env().app, env().kg, 'admin');
    account = (await req('POST', '/resources', admin, { type: 'account', name: 'Bulk' })).body.id;
    other = (await req('POST', '/resources', admin, { type: 'account', name: 'Elsewhere' })).body.id;
  });

  it('deactivates each, in order, with one audit record each; out of reach is NOT_FOUND as alone', async () => {
    const owner = await member('reader', account);
    const mine1 = await token(owner, account, 'one');
    const mine2 = await token(owner, account, 'two');
    const elsewhere = await token(admin, other, 'not yours');
    const unknown = 'tok_doesnotexist0000000000';
    const res = await req('POST', '/tokens/deactivate', owner, { ids: [mine2, unknown, elsewhere, mine1] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.results, [
      { id: mine2, ok: true },
      { id: unknown, ok: false, code: 'NOT_FOUND' },
      { id: elsewhere, ok: false, code: 'NOT_FOUND' },
      { id: mine1, ok: true },
    ]);
    assert.equal(await state(mine1), 0);
    assert.equal(await state(mine2), 0);
    assert.equal(await state(elsewhere), 1, 'out of reach: untouched');
    for (const id of [mine1, mine2]) {
      const rows = (await env().kg.stores.audit.forTarget('token', id)).filter((r) => r.action === 'token.deactivate');
      assert.equal(rows.length, 1, 'one token.deactivate record each');
      assert.equal(rows[0]!.actor_id, owner.id);
    }
    assert.deepEqual(
      await env()
        .kg.stores.audit.forTarget('token', elsewhere)
        .then((r) => r.map((x) => x.action)),
      ['token.create'],
    );
    // The single route says the same about the token out of reach.
    assertError(await req('POST', `/tokens/${elsewhere}/deactivate`, owner), 404, 'NOT_FOUND');
    // Again: harmless, each still ok.
    const again = await req('POST', '/tokens/deactivate', owner, { ids: [mine1] });
    assert.deepEqual(again.body.results, [{ id: mine1, ok: true }]);
  });

  it("gives each refusal the single route's code", async () => {
    const owner = await member('reader', account);
    const theirs = await token(owner, account, 'theirs');
    const manager = await member('manager', account);
    const res = await req('POST', '/tokens/deactivate', manager, { ids: [theirs] });
    assert.equal(res.status, 200);
    const [result] = res.body.results;
    assert.equal(result.ok, false);
    const single = await req('POST', `/tokens/${theirs}/deactivate`, manager);
    assert.ok(single.status >= 400, JSON.stringify(single.body));
    assert.equal(result.code, single.body.error.code);
    assert.equal(await state(theirs), 1);
    // Someone with tokens:manage there may.
    const administrator = await member('administrator', account);
    const done = await req('POST', '/tokens/deactivate', administrator, { ids: [theirs] });
    assert.deepEqual(done.body.results, [{ id: theirs, ok: true }]);
    assert.equal(await state(theirs), 0);
  });

  it('does not collide with /tokens/{id}', async () => {
    const id = await token(admin, account, 'single');
    const single = await req('POST', `/tokens/${id}/deactivate`, admin);
    assert.equal(single.status, 200);
    assert.equal(single.body.active, false);
    assertError(await req('GET', '/tokens/deactivate', admin), 404, 'NOT_FOUND');
  });

  it('refuses bad input with 400 naming the field', async () => {
    const id = await token(admin, account);
    assertInvalid(await req('POST', '/tokens/deactivate', admin, {}), 'ids');
    assertInvalid(await req('POST', '/tokens/deactivate', admin, { ids: [] }), 'ids');
    assertInvalid(await req('POST', '/tokens/deactivate', admin, { ids: [id, id] }), 'ids');
    assertInvalid(await req('POST', '/tokens/deactivate', admin, { ids: [id, 'res_abc'] }), 'ids.1');
    const many = Array.from({ length: 501 }, (_, i) => `tok_${String(i).padStart(20, '0')}`);
    assertInvalid(await req('POST', '/tokens/deactivate', admin, { ids: many }), 'ids');
    assertInvalid(await req('POST', '/tokens/deactivate', admin, { ids: [id], extra: 1 }), 'extra');
    assert.equal(await state(id), 1, 'nothing done');
  });
});

/** A model with a level below reader that cannot read resources: its role names a resource get() refuses. */
const AUDITOR_MODEL = join(mkdtempSync(join(tmpdir(), 'keygate-model-')), 'keygate.json');
writeFileSync(AUDITOR_MODEL, JSON.stringify({ levels: { auditor: ['logs:read'], ...DEFAULT_MODEL.levels } }));

forEachDialect(
  'resource search where a role cannot read',
  (env) => {
    const req = requester(env);
    const ids: Record<string, string> = {};

    it('leaves out what get() refuses, and still fills each page', async () => {
      const admin = await userWithSession(env().app, env().kg, 'admin');
      const make = async (key: string, type: string, name: string, parent?: string) => {
        const res = await req('POST', '/resources', admin, {
          type,
          name,
          ...(parent ? { parentId: ids[parent] } : {}),
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        ids[key] = res.body.id;
      };
      await make('A', 'account', 'Acme');
      await make('F', 'folder', 'Alpha Team', 'A');
      await make('B', 'building', 'alpha house', 'F');
      const u = await userWithSession(env().app, env().kg, 'user');
      for (const [on, role] of [
        ['A', 'auditor'],
        ['F', 'reader'],
      ] as const)
        assert.equal((await req('PUT', `/resources/${ids[on]}/members/${u.id}`, admin, { role })).status, 200);
      assertError(await req('GET', `/resources/${ids.A}`, u), 403, 'INSUFFICIENT_PERMISSIONS');

      const seen: { name: string; path: { name: string }[] }[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 5; pages++) {
        const res: Reply = await req('GET', `/resources?q=a&limit=1${cursor ? `&cursor=${cursor}` : ''}`, u);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        // Acme sorts first but is refused: the page is filled from further on, not left short.
        if (pages < 2) assert.equal(res.body.items.length, 1, `page ${pages + 1} is full`);
        seen.push(...res.body.items);
        cursor = res.body.nextCursor;
        if (cursor === null) break;
      }
      assert.deepEqual(seen.map((r) => r.name).sort(), ['Alpha Team', 'alpha house'].sort());
      assert.ok(!JSON.stringify(seen).includes('Acme'), 'neither found nor in a path');

      const auditorOnly = await userWithSession(env().app, env().kg, 'user');
      assert.equal(
        (await req('PUT', `/resources/${ids.A}/members/${auditorOnly.id}`, admin, { role: 'auditor' })).status,
        200,
      );
      assert.deepEqual((await req('GET', '/resources?q=a', auditorOnly)).body.items, []);
    });
  },
  { KEYGATE_CONFIG: AUDITOR_MODEL },
);
