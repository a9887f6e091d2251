import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, it } from 'node:test';
import type { AccessLogRow } from '../../src/store/access-log.js';
import { asUser, userWithSession } from '../support/client.js';
import { forEachDialect } from '../support/harness.js';

/** Exports of the access log and audit trail over a listening server: every record once, in order, well quoted. */

const BASE = Date.UTC(2030, 5, 1);
const COUNT = 5_000;

/** Splits RFC 4180 CSV into rows of fields (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      fields.push(field);
      rows.push(fields);
      fields = [];
      field = '';
      i++;
    } else field += c;
  }
  assert.equal(field + fields.join(''), '', 'the export ends with a complete line');
  return rows;
}

forEachDialect('exporting logs over HTTP', (env) => {
  let base = '';
  let admin = { id: '', cookie: '' };
  let manager = { id: '', cookie: '' };
  let folder = '';
  let other = '';
  /** Every seeded row, newest first. */
  let rows: AccessLogRow[] = [];

  const get = (path: string, cookie: string) =>
    fetch(`${base}/api/v1.0${path}`, { headers: { cookie: `keygate_session=${cookie}` } });

  before(async () => {
    const { app, kg } = env();
    admin = await userWithSession(app, kg, 'admin');
    manager = await userWithSession(app, kg);
    const adminP = await asUser(kg, admin.id);
    const account = (await kg.resources.create(adminP, { type: 'account', name: 'Acct' }, null)).id;
    folder = (await kg.resources.create(adminP, { type: 'folder', name: 'F', parentId: account }, null)).id;
    other = (await kg.resources.create(adminP, { type: 'account', name: 'Other' }, null)).id;
    await kg.resources.setRole(adminP, folder, manager.id, 'manager', null);
    for (let i = 0; i < COUNT; i++) {
      rows.push({
        // Pairs share a millisecond, so order within one comes from the id.
        at: BASE + Math.floor(i / 2),
        id: `acc_${String(i).padStart(5, '0')}`,
        request_id: `req-${i}`,
        token_id: `tok_${i % 10}`,
        owner_id: admin.id,
        resource_id: i % 4 === 0 ? other : folder,
        method: 'POST',
        route: '/api/v1.0/tokens/:id',
        path: `/api/v1.0/tokens/t${i}`,
        api_version: 'v1.0',
        status: 200,
        duration_us: 250,
        ip: '192.0.2.7',
        user_agent: i === 7 ? 'agent, with "quotes"\nand a line break' : i === 8 ? '=HYPERLINK("x")' : 'ua',
        outcome: 'VALID',
        carrier: 'header:x-api-key',
        key_prefix: null,
        key_fingerprint: null,
        capture: i === 9 ? JSON.stringify({ request: { headers: { 'content-type': 'application/json' } } }) : null,
      });
    }
    await kg.stores.accessLog.insertBatch(rows);
    rows = rows.reverse();
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await env().app.close();
  });

  it('exports every record once, newest first, as NDJSON', async () => {
    const res = await get('/logs/access/export?format=ndjson', admin.cookie);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    assert.match(
      res.headers.get('content-disposition') ?? '',
      /^attachment; filename="keygate-access-log-.*\.ndjson"$/,
    );
    const lines = (await res.text()).split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    const records = lines.map((l) => JSON.parse(l));
    assert.equal(records.length, COUNT);
    assert.deepEqual(
      records.map((r) => r.id),
      rows.map((r) => r.id),
    );
    const nine = records.find((r) => r.id === 'acc_00009');
    assert.deepEqual(nine.capture, { request: { headers: { 'content-type': 'application/json' } } });
    assert.equal(nine.at, new Date(BASE + 4).toISOString());
  });

  it('exports CSV with a header row and fields quoted where they must be', async () => {
    const res = await get('/logs/access/export?format=csv', admin.cookie);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/csv/);
    assert.match(res.headers.get('content-disposition') ?? '', /\.csv"$/);
    const [header, ...data] = parseCsv(await res.text());
    assert.deepEqual(header?.slice(0, 3), ['at', 'id', 'requestId']);
    assert.equal(data.length, COUNT);
    const col = (name: string) => header!.indexOf(name);
    assert.deepEqual(
      data.map((d) => d[col('id')]),
      rows.map((r) => r.id),
    );
    const seven = data.find((d) => d[col('id')] === 'acc_00007')!;
    assert.equal(seven[col('userAgent')], 'agent, with "quotes"\nand a line break');
    // A value a spreadsheet would run as a formula is defused.
    const eight = data.find((d) => d[col('id')] === 'acc_00008')!;
    assert.equal(eight[col('userAgent')], `'=HYPERLINK("x")`);
    const nine = data.find((d) => d[col('id')] === 'acc_00009')!;
    assert.deepEqual(JSON.parse(nine[col('capture')]!), {
      request: { headers: { 'content-type': 'application/json' } },
    });
    assert.equal(nine[col('durationMs')], '0.25');
  });

  it('exports only what the caller may read, with the same filters as the pages', async () => {
    const res = await get(`/logs/access/export?format=ndjson&tokenId=tok_3`, manager.cookie);
    assert.equal(res.status, 200);
    const got = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).id);
    const want = rows.filter((r) => r.resource_id === folder && r.token_id === 'tok_3').map((r) => r.id);
    assert.ok(want.length > 100);
    assert.deepEqual(got, want);
  });

  it('refuses bad filters before streaming anything', async () => {
    const res = await get('/logs/access/export?format=xml', admin.cookie);
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'VALIDATION_FAILED');
    assert.match(body.error.message, /format/);
    const range = await get('/logs/audit/export?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z', admin.cookie);
    assert.equal(range.status, 400);
  });

  it('exports the audit trail the same way', async () => {
    const { kg } = env();
    for (let i = 0; i < 1_500; i++) {
      await kg.stores.audit.append({
        id: `aud_e${String(i).padStart(5, '0')}`,
        at: new Date(BASE + i).toISOString(),
        actor_type: 'user',
        actor_id: admin.id,
        action: 'export.test',
        target_type: 'token',
        target_id: `tok_${i}`,
        resource_id: folder,
        details: JSON.stringify({ n: i, note: 'a, b' }),
        ip: null,
        via_token_id: null,
        user_agent: null,
      });
    }
    const nd = await get('/logs/audit/export?action=export.test', admin.cookie);
    assert.equal(nd.status, 200);
    const records = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(records.length, 1_500);
    assert.equal(records[0].id, 'aud_e01499');
    assert.equal(records.at(-1).id, 'aud_e00000');
    assert.deepEqual(records[0].details, { n: 1499, note: 'a, b' });

    const csv = await get('/logs/audit/export?action=export.&format=csv', manager.cookie);
    const [header, ...data] = parseCsv(await csv.text());
    assert.equal(header?.[0], 'at');
    assert.equal(data.length, 1_500);
    assert.deepEqual(JSON.parse(data[0]![header!.indexOf('details')]!), { n: 1499, note: 'a, b' });
  });
});
