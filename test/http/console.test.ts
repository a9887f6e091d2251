import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../../src/http/app.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import { createTestEnv } from '../support/harness.js';

/** Serving the console: its pages, deep links, assets and headers, against a stand-in build. */
describe('serving the console', () => {
  let env: Awaited<ReturnType<typeof createTestEnv>>;
  let app: FastifyTypebox;
  let unbuilt: FastifyTypebox;
  let dir: string;
  const INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-1.js"></script></head></html>';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keygate-console-dir-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), INDEX);
    writeFileSync(join(dir, 'assets', 'app-1.js'), 'console.log("app");');
    writeFileSync(join(dir, 'assets', 'app-1.js.br'), brotliCompressSync('console.log("app");'));
    env = await createTestEnv(undefined);
    app = await buildApp(env.kg, { consoleDir: dir });
    unbuilt = await buildApp(env.kg, { consoleDir: join(dir, 'missing') });
  });
  after(async () => {
    await app.close();
    await unbuilt.close();
    await env.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const html = { accept: 'text/html,application/xhtml+xml' };

  it('answers / and any deep link a browser opens with the app, under a strict CSP', async () => {
    for (const url of ['/', '/tokens/tok_abc', '/admin/users?x=1', '/resources/res_1/']) {
      const res = await app.inject({ url, headers: html });
      assert.equal(res.statusCode, 200, url);
      assert.equal(res.body, INDEX);
      assert.match(res.headers['content-type'] as string, /^text\/html/);
      const csp = res.headers['content-security-policy'] as string;
      for (const directive of ["script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"])
        assert.ok(csp.split('; ').includes(directive), `${url}: ${directive} in ${csp}`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.equal(res.headers['cache-control'], 'no-cache');
    }
  });

  it('keeps JSON 404s for the API, for scripts, and for other methods', async () => {
    const cases = [
      { url: '/api/v1.0/no-such', headers: html, status: 404, code: 'ROUTE_NOT_FOUND' },
      { url: '/api/nope', headers: html, status: 404, code: 'ROUTE_NOT_FOUND' },
      { url: '/tokens/tok_abc', headers: { accept: 'application/json' }, status: 404, code: 'ROUTE_NOT_FOUND' },
      { url: '/assets/missing.js', headers: html, status: 404, code: 'ROUTE_NOT_FOUND' },
      { url: '/docs/no-such', headers: html, status: 404, code: 'ROUTE_NOT_FOUND' },
    ];
    for (const c of cases) {
      const res = await app.inject({ url: c.url, headers: c.headers });
      assert.equal(res.statusCode, c.status, c.url);
      assert.equal(res.json().error.code, c.code, c.url);
    }
    const post = await app.inject({ method: 'POST', url: '/tokens', headers: html });
    assert.equal(post.statusCode, 404);
    const postRoot = await app.inject({ method: 'POST', url: '/', headers: html });
    assert.equal(postRoot.statusCode, 405);
    assert.equal(postRoot.json().error.code, 'METHOD_NOT_ALLOWED');
  });

  it('serves assets pre-compressed, cached for a year, and nothing outside the build', async () => {
    const res = await app.inject({ url: '/assets/app-1.js', headers: { 'accept-encoding': 'br' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], 'br');
    assert.match(res.headers['cache-control'] as string, /max-age=31536000.*immutable/);
    for (const url of ['/assets/..%2findex.html', '/assets/%2e%2e/%2e%2e/package.json', '/assets/.env']) {
      const r = await app.inject({ url });
      assert.equal(r.statusCode, 404, url);
    }
  });

  it('says the console is not built, in the envelope, when dist/web is missing', async () => {
    const res = await unbuilt.inject({ url: '/resources', headers: html });
    assert.equal(res.statusCode, 503);
    assert.equal(res.json().error.code, 'UNAVAILABLE');
    assert.match(res.json().error.message, /npm run build/);
  });
});
