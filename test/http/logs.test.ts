import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import type { Keygate } from '../../src/keygate.js';
import type { AccessLogRow } from '../../src/store/access-log.js';
import type { AuditRow } from '../../src/store/audit.js';
import { asUser, assertError, call, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

/** Reading the access log and the audit trail: filters, keyset paging, and who may read which record. */

const BASE = Date.UTC(2030, 0, 15, 12);

/** An access-log row with everything a filter looks at; the rest plain. */
function row(over: Partial<AccessLogRow> & Pick<AccessLogRow, 'at' | 'id'>): AccessLogRow {
  return {
    request_id: `req-${over.id}`,
    token_id: null,
    owner_id: null,
    resource_id: null,
    method: 'GET',
    route: '/api/v1.0/me',
    path: '/api/v1.0/me',
    api_version: 'v1.0',
    status: 200,
    duration_us: 1500,
    ip: '10.0.0.1',
    user_agent: 'test',
    outcome: 'VALID',
    carrier: 'header:x-api-key',
    key_prefix: null,
    key_fingerprint: null,
    capture: null,
    ...over,
  };
}

function auditRow(over: Partial<AuditRow> & Pick<AuditRow, 'id' | 'at'>): AuditRow {
  return {
    actor_type: 'user',
    actor_id: null,
    action: 'token.created',
    target_type: 'token',
    target_id: 'tok_x',
    resource_id: null,
    details: '{"name":"x"}',
    ip: null,
    via_token_id: null,
    user_agent: null,
    ...over,
  };
}

const STATUSES = [200, 201, 404, 500, 401];

forEachDialect('reading the access log and the audit trail', (env) => {
  let kg: Keygate;
  const tree = { a: '', f: '', b: '', x: '' };
  type Who = 'admin' | 'mgrA' | 'mgrF' | 'adminF' | 'readerF' | 'owner' | 'unrelated';
  const who = {} as Record<Who, { id: string; cookie: string }>;
  const keys: Record<string, string> = {};
  /** Every seeded access-log row, newest first. */
  let all: AccessLogRow[] = [];
  const ids = (items: { id: string }[]) => items.map((i) => i.id);
  const expected = (keep: (r: AccessLogRow) => boolean) => all.filter(keep).map((r) => r.id);
  const inTree =
    (...resources: string[]) =>
    (r: AccessLogRow) =>
      resources.includes(r.resource_id ?? '');

  /** Every record the caller sees with these filters, following nextCursor to the end. */
  async function readAll(auth: { cookie?: string; key?: string }, query = '', limit = 500, path = '/logs/access') {
    const out: any[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 1000; pages++) {
      const url = `/api/v1.0${path}?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await call(env().app, 'GET', url, auth);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.items.length <= limit);
      out.push(...res.body.items);
      cursor = res.body.nextCursor;
      if (cursor === null) return out;
    }
    throw new Error('paging did not end');
  }

  before(async () => {
    kg = env().kg;
    const { app } = env();
    who.admin = await userWithSession(app, kg, 'admin');
    for (const name of ['mgrA', 'mgrF', 'adminF', 'readerF', 'owner', 'unrelated'] as const)
      who[name] = await userWithSession(app, kg);
    const admin = await asUser(kg, who.admin.id);
    tree.a = (await kg.resources.create(admin, { type: 'account', name: 'A' }, null)).id;
    tree.f = (await kg.resources.create(admin, { type: 'folder', name: 'F', parentId: tree.a }, null)).id;
    tree.b = (await kg.resources.create(admin, { type: 'building', name: 'B', parentId: tree.f }, null)).id;
    tree.x = (await kg.resources.create(admin, { type: 'account', name: 'X' }, null)).id;
    await kg.resources.setRole(admin, tree.a, who.mgrA.id, 'manager', null);
    await kg.resources.setRole(admin, tree.f, who.mgrF.id, 'manager', null);
    await kg.resources.setRole(admin, tree.f, who.adminF.id, 'administrator', null);
    await kg.resources.setRole(admin, tree.f, who.readerF.id, 'reader', null);
    await kg.resources.setRole(admin, tree.f, who.owner.id, 'reader', null);

    const mgrF = await asUser(kg, who.mgrF.id);
    const mint = async (resourceId: string, input: Record<string, unknown>) =>
      (await kg.tokens.create(mgrF, resourceId, { name: 'log reader', apiGroups: ['logs'], ...input }, null)).key;
    keys.onF = await mint(tree.f, { permissions: ['logs:read'] });
    keys.onB = await mint(tree.b, { permissions: ['logs:read'] });
    keys.noLogsRead = await mint(tree.f, { permissions: ['resources:read'] });
    const owner = await asUser(kg, who.owner.id);
    keys.ownerNative = (await kg.tokens.create(owner, tree.f, { name: 'reader token' }, null)).key;

    // 30 records on each resource, owned by whoever the test needs; some share a time, to test ties.
    const place = [
      { resource: tree.a, owner: who.mgrA.id, token: 'tok_onA' },
      { resource: tree.f, owner: who.owner.id, token: 'tok_onF' },
      { resource: tree.b, owner: who.owner.id, token: 'tok_onB' },
      { resource: tree.x, owner: who.unrelated.id, token: 'tok_onX' },
    ];
    const rows: AccessLogRow[] = [];
    let n = 0;
    for (let i = 0; i < 30; i++) {
      for (const p of place) {
        n++;
        rows.push(
          row({
            at: BASE + Math.floor(n / 3) * 1000,
            id: `acc_${String(n).padStart(4, '0')}`,
            token_id: p.token,
            owner_id: p.owner,
            resource_id: p.resource,
            status: STATUSES[n % STATUSES.length] as number,
            outcome: n % 7 === 0 ? 'KEY_EXPIRED' : 'VALID',
            path: n % 5 === 0 ? '/api/v1.0/a_b/x' : n % 5 === 1 ? '/api/v1.0/axb/x' : '/api/v1.0/me',
            ip: n % 2 === 0 ? '10.0.0.2' : '10.0.0.1',
          }),
        );
      }
    }
    // A refused key that resolved to no token: no owner, no resource.
    rows.push(row({ at: BASE + 500, id: 'acc_refused', status: 401, outcome: 'KEY_INVALID', key_prefix: 'kg_abc' }));
    await kg.stores.accessLog.insertBatch(rows);
    all = [...rows].sort((p, q) => q.at - p.at || (q.id < p.id ? -1 : q.id > p.id ? 1 : 0));
  });

  it('a system administrator reads every record, newest first, across pages without duplicates or gaps', async () => {
    for (const limit of [1, 7, 50, 500]) {
      const got = await readAll({ cookie: who.admin.cookie }, '', limit);
      assert.deepEqual(ids(got), ids(all), `limit ${limit}`);
    }
  });

  it('the first page holds 50 records by default and says where the next begins', async () => {
    const res = await call(env().app, 'GET', '/api/v1.0/logs/access', { cookie: who.admin.cookie });
    assert.equal(res.status, 200);
    assert.equal(res.body.items.length, 50);
    assert.equal(typeof res.body.nextCursor, 'string');
    const first = res.body.items[0];
    assert.equal(first.id, all[0]!.id);
    assert.equal(first.at, new Date(all[0]!.at).toISOString());
    assert.equal(first.durationMs, 1.5);
    assert.equal(first.requestId, `req-${first.id}`);
  });

  it('filters by token, owner, resource subtree, time, status, outcome, path prefix and address', async () => {
    const admin = { cookie: who.admin.cookie };
    const check = async (query: string, keep: (r: AccessLogRow) => boolean) => {
      const want = expected(keep);
      assert.ok(want.length > 0, `filter ${query} selects something`);
      assert.deepEqual(ids(await readAll(admin, query, 13)), want, query);
    };
    await check('&tokenId=tok_onB', (r) => r.token_id === 'tok_onB');
    await check(`&ownerId=${who.owner.id}`, (r) => r.owner_id === who.owner.id);
    await check(`&resourceId=${tree.f}`, inTree(tree.f, tree.b));
    await check(`&resourceId=${tree.a}`, inTree(tree.a, tree.f, tree.b));
    await check(`&resourceId=${tree.b}`, inTree(tree.b));
    const from = BASE + 10_000;
    const to = BASE + 20_000;
    await check(
      `&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`,
      (r) => r.at >= from && r.at <= to,
    );
    await check('&status=4xx', (r) => r.status >= 400 && r.status < 500);
    await check('&status=5XX', (r) => r.status >= 500);
    await check('&status=404', (r) => r.status === 404);
    await check('&outcome=KEY_EXPIRED', (r) => r.outcome === 'KEY_EXPIRED');
    // `_` is a literal underscore, not LIKE's any-character.
    await check(`&pathPrefix=${encodeURIComponent('/api/v1.0/a_b')}`, (r) => r.path.startsWith('/api/v1.0/a_b'));
    await check('&ip=10.0.0.2', (r) => r.ip === '10.0.0.2');
    await check(
      `&resourceId=${tree.f}&status=2xx&ip=10.0.0.1`,
      (r) => [tree.f, tree.b].includes(r.resource_id ?? '') && r.status < 300 && r.ip === '10.0.0.1',
    );
  });

  it('each reader sees what their roles and tokens open to them, and nothing else', async () => {
    const cases: [string, { cookie?: string; key?: string }, (r: AccessLogRow) => boolean][] = [
      ['manager of the account', { cookie: who.mgrA.cookie }, inTree(tree.a, tree.f, tree.b)],
      ['manager of the folder', { cookie: who.mgrF.cookie }, inTree(tree.f, tree.b)],
      ['administrator of the folder', { cookie: who.adminF.cookie }, inTree(tree.f, tree.b)],
      ['reader of the folder', { cookie: who.readerF.cookie }, () => false],
      ['owner of the tokens', { cookie: who.owner.cookie }, (r) => r.owner_id === who.owner.id],
      ['unrelated user', { cookie: who.unrelated.cookie }, (r) => r.owner_id === who.unrelated.id],
      ['token with logs:read on the folder', { key: keys.onF! }, inTree(tree.f, tree.b)],
      ['token with logs:read on the building', { key: keys.onB! }, inTree(tree.b)],
    ];
    for (const [name, auth, keep] of cases) {
      assert.deepEqual(ids(await readAll(auth, '', 37)), expected(keep), name);
    }
  });

  it('asking for a token or resource out of reach gives an empty page, like one that does not exist', async () => {
    const mgrA = { cookie: who.mgrA.cookie };
    for (const query of [
      '&tokenId=tok_onX',
      `&resourceId=${tree.x}`,
      '&tokenId=tok_nothing',
      '&resourceId=res_nothing',
    ]) {
      const res = await call(env().app, 'GET', `/api/v1.0/logs/access?${query.slice(1)}`, mgrA);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { items: [], nextCursor: null }, query);
    }
    // A token scoped to the building sees nothing of the folder above it, even when asked by name.
    assert.deepEqual(ids(await readAll({ key: keys.onB! }, `&resourceId=${tree.f}`)), expected(inTree(tree.b)));
  });

  it('a token without logs:read is refused', async () => {
    for (const key of [keys.noLogsRead!, keys.ownerNative!]) {
      assertError(await call(env().app, 'GET', '/api/v1.0/logs/access', { key }), 403, 'INSUFFICIENT_PERMISSIONS');
      assertError(await call(env().app, 'GET', '/api/v1.0/logs/audit', { key }), 403, 'INSUFFICIENT_PERMISSIONS');
    }
  });

  it('bad filters, cursors and ranges are a 400 naming the field, never a 500', async () => {
    const admin = { cookie: who.admin.cookie };
    const bad: [string, string][] = [
      ['status=7xx', 'status'],
      ['status=abc', 'status'],
      ['status=2x', 'status'],
      ['from=yesterday', 'from'],
      ['to=2030-13-45T00:00:00Z', 'to'],
      ['from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z', 'from'],
      ['cursor=not-a-cursor', 'cursor'],
      [`cursor=${Buffer.from('["x","y"]').toString('base64url')}`, 'cursor'],
      [`cursor=${Buffer.from('{"at":1}').toString('base64url')}`, 'cursor'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['colour=red', ''],
    ];
    for (const [query, field] of bad) {
      for (const path of ['/logs/access', '/logs/access/export']) {
        if (path.endsWith('export') && /cursor|limit/.test(query)) continue;
        const res = await call(env().app, 'GET', `/api/v1.0${path}?${query}`, admin);
        assertError(res, 400, 'VALIDATION_FAILED');
        if (field)
          assert.match(res.body.error.message, new RegExp(field), `${path}?${query}: ${res.body.error.message}`);
      }
    }
    // An audit cursor is not an access-log cursor: the types of their times differ.
    const audit = await call(env().app, 'GET', '/api/v1.0/logs/audit?limit=1', admin);
    const res = await call(
      env().app,
      'GET',
      `/api/v1.0/logs/access?cursor=${encodeURIComponent(audit.body.nextCursor)}`,
      admin,
    );
    assertError(res, 400, 'VALIDATION_FAILED');
  });

  it('needs a caller: no key and no session is a 401', async () => {
    assertError(await call(env().app, 'GET', '/api/v1.0/logs/access'), 401, 'UNAUTHENTICATED');
  });

  it('the audit trail reads the same way, within each reader’s reach', async () => {
    const at = (i: number) => new Date(BASE + i * 1000).toISOString();
    const ev: AuditRow[] = [
      auditRow({
        id: 'aud_t01',
        at: at(1),
        actor_id: who.admin.id,
        action: 'resource.created',
        target_type: 'resource',
        target_id: tree.a,
        resource_id: tree.a,
      }),
      auditRow({
        id: 'aud_t02',
        at: at(2),
        actor_id: who.mgrF.id,
        action: 'token.created',
        target_id: 'tok_onF',
        resource_id: tree.f,
      }),
      auditRow({
        id: 'aud_t03',
        at: at(3),
        actor_id: who.admin.id,
        action: 'member.added',
        target_type: 'membership',
        target_id: `${tree.b}:${who.owner.id}`,
        resource_id: tree.b,
      }),
      auditRow({
        id: 'aud_t04',
        at: at(4),
        actor_id: who.unrelated.id,
        action: 'token.edited',
        target_id: 'tok_onX',
        resource_id: tree.x,
        via_token_id: 'tok_via',
        user_agent: 'curl/8',
      }),
      auditRow({
        id: 'aud_t05',
        at: at(4),
        actor_id: who.owner.id,
        action: 'user.signed_in',
        target_type: 'user',
        target_id: who.owner.id,
        resource_id: null,
      }),
      auditRow({
        id: 'aud_t06',
        at: at(5),
        actor_id: null,
        actor_type: 'system',
        action: 'tokenizer.ran',
        target_type: 'user',
        target_id: 'usr_none',
      }),
    ];
    for (const e of ev) await kg.stores.audit.append(e);
    const mine = (auth: { cookie?: string; key?: string }, query = '') =>
      readAll(auth, `&from=${at(0)}&to=${at(9)}${query}`, 2, '/logs/audit').then(ids);

    assert.deepEqual(await mine({ cookie: who.admin.cookie }), [
      'aud_t06',
      'aud_t05',
      'aud_t04',
      'aud_t03',
      'aud_t02',
      'aud_t01',
    ]);
    assert.deepEqual(await mine({ cookie: who.mgrA.cookie }), ['aud_t03', 'aud_t02', 'aud_t01']);
    assert.deepEqual(await mine({ cookie: who.adminF.cookie }), ['aud_t03', 'aud_t02']);
    // A reader of the folder holds neither logs:read nor members:manage: only what they did themselves.
    assert.deepEqual(await mine({ cookie: who.readerF.cookie }), []);
    assert.deepEqual(await mine({ cookie: who.owner.cookie }), ['aud_t05']);
    assert.deepEqual(await mine({ cookie: who.unrelated.cookie }), ['aud_t04']);
    assert.deepEqual(await mine({ key: keys.onB! }), ['aud_t03']);

    // Filters: exact action, action prefix, actor, target, resource subtree.
    const admin = { cookie: who.admin.cookie };
    assert.deepEqual(await mine(admin, '&action=token.'), ['aud_t04', 'aud_t02']);
    assert.deepEqual(await mine(admin, '&action=token'), []);
    assert.deepEqual(await mine(admin, '&action=member.added'), ['aud_t03']);
    assert.deepEqual(await mine(admin, `&actorId=${who.admin.id}`), ['aud_t03', 'aud_t01']);
    assert.deepEqual(await mine(admin, '&targetType=token&targetId=tok_onX'), ['aud_t04']);
    assert.deepEqual(await mine(admin, `&resourceId=${tree.f}`), ['aud_t03', 'aud_t02']);

    const res = await call(env().app, 'GET', `/api/v1.0/logs/audit?targetId=tok_onX`, admin);
    assert.deepEqual(res.body.items[0], {
      id: 'aud_t04',
      at: at(4),
      actorType: 'user',
      actorId: who.unrelated.id,
      viaTokenId: 'tok_via',
      action: 'token.edited',
      targetType: 'token',
      targetId: 'tok_onX',
      resourceId: tree.x,
      details: { name: 'x' },
      ip: null,
      userAgent: 'curl/8',
    });
    assertError(await call(env().app, 'GET', '/api/v1.0/logs/audit?from=soon', admin), 400, 'VALIDATION_FAILED');
  });

  it('the owner sees the audit events about their tokens, whoever made them', async () => {
    const owner = await asUser(kg, who.owner.id);
    const { view } = await kg.tokens.create(owner, tree.f, { name: 'audited' }, null);
    await kg.stores.audit.append(
      auditRow({
        id: 'aud_t99',
        at: new Date(BASE).toISOString(),
        actor_id: who.admin.id,
        action: 'token.deactivated',
        target_id: view.row.id,
        resource_id: tree.f,
      }),
    );
    const got = await readAll({ cookie: who.owner.cookie }, `&targetId=${view.row.id}`, 50, '/logs/audit');
    assert.ok(ids(got).includes('aud_t99'), JSON.stringify(got));
    const other = await readAll({ cookie: who.unrelated.cookie }, `&targetId=${view.row.id}`, 50, '/logs/audit');
    assert.deepEqual(other, []);
  });
});
