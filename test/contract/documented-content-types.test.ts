import assert from 'node:assert/strict';
import { it } from 'node:test';
import { forEachDialect } from '../support/harness.js';

interface Doc {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>;
}

/**
 * Contract mismatches the Portman run found, each pinned here on its own so a regression names itself.
 * GET /metrics answers Prometheus text, but its document promised `application/json` (a TypeBox string
 * schema without a media type), so a generated client would try to parse the scrape as JSON.
 */
forEachDialect('documented content types match the answers', (env) => {
  it('GET /metrics: the document names text/plain, as the answer is', async () => {
    const { app } = env();
    const doc = (await app.inject({ method: 'GET', url: '/api/v1.0/openapi.json' })).json() as Doc;
    const documented = Object.keys(doc.paths['/metrics']?.get?.responses['200']?.content ?? {});
    assert.deepEqual(documented, ['text/plain']);
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain(;|$)/);
  });
});
