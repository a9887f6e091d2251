import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, it } from 'node:test';
import { generateKey } from '../../src/domain/keys.js';
import { asUser } from '../support/client.js';
import { forEachDialect, type TestEnv } from '../support/harness.js';
import { noteSecret } from '../support/secret-scan.js';

const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const KEY_ID = 'f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d';

// GitHub's public-keys file, as its meta API serves it.
const keysFile = join(mkdtempSync(join(tmpdir(), 'keygate-github-keys-')), 'github-keys.json');
writeFileSync(
  keysFile,
  JSON.stringify({
    public_keys: [
      { key_identifier: KEY_ID, key: github.publicKey.export({ type: 'spki', format: 'pem' }), is_current: true },
    ],
  }),
);

/** POSTs GitHub's report over real HTTP, signed by `signer` (GitHub's key unless told). */
async function scan(
  base: string,
  matches: { token: string; type: string; url?: string; source?: string }[],
  opts: { signer?: typeof github.privateKey; keyId?: string; unsigned?: boolean } = {},
) {
  for (const m of matches) noteSecret(m.token);
  const body = JSON.stringify(matches);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (!opts.unsigned) {
    headers['github-public-key-identifier'] = opts.keyId ?? KEY_ID;
    headers['github-public-key-signature'] = sign(
      'sha256',
      Buffer.from(body),
      opts.signer ?? github.privateKey,
    ).toString('base64');
  }
  const res = await fetch(`${base}/api/v1.0/secret-scanning/github`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as any };
}

forEachDialect(
  'POST /secret-scanning/github: GitHub reports keys it found',
  (env) => {
    let base = '';
    let adminId = '';
    let A = '';

    const liveToken = async (kgEnv: TestEnv) => {
      const admin = await asUser(kgEnv.kg, adminId);
      const made = await kgEnv.kg.tokens.create(admin, A, { name: 'found-on-github' }, null);
      noteSecret(made.key);
      return made;
    };

    before(async () => {
      const { kg, app } = env();
      base = await app.listen({ port: 0, host: '127.0.0.1' });
      adminId = (
        await kg.users.create({ email: 'gh@example.com', password: 'x'.repeat(16), systemRole: 'admin' }, 'system')
      ).id;
      A = (await kg.resources.create(await asUser(kg, adminId), { type: 'account', name: 'A' }, null)).id;
    });

    it('a signed report deactivates a live key (true_positive) and labels an unknown one false_positive', async () => {
      const { kg } = env();
      const live = await liveToken(env());
      const unknown = generateKey(kg.config.keyPrefix);
      const res = await scan(base, [
        { token: live.key, type: 'keygate_api_key', url: 'https://github.com/o/r/blob/abc/.env', source: 'content' },
        { token: unknown, type: 'keygate_api_key', url: 'https://github.com/o/r/blob/abc/x', source: 'commit' },
        { token: 'not a key at all', type: 'keygate_api_key' },
      ]);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, [
        { token_raw: live.key, token_type: 'keygate_api_key', label: 'true_positive' },
        { token_raw: unknown, token_type: 'keygate_api_key', label: 'false_positive' },
        { token_raw: 'not a key at all', token_type: 'keygate_api_key', label: 'false_positive' },
      ]);
      const row = await kg.stores.tokens.findById(live.view.row.id);
      assert.equal(row?.active, 0);
      assert.equal(row?.deactivated_by, 'leak report');
      const audit = await kg.stores.db
        .selectFrom('audit_events')
        .selectAll()
        .where('target_id', '=', live.view.row.id)
        .where('action', '=', 'token.deactivate')
        .execute();
      assert.equal(audit.length, 1);
      const details = JSON.parse(audit[0]!.details);
      assert.equal(details.reason, 'leaked');
      assert.equal(details.reportedBy, 'github-secret-scanning');
      assert.equal(details.url, 'https://github.com/o/r/blob/abc/.env');
      assert.equal(details.source, 'content');
      assert.ok(!audit[0]!.details.includes(live.key));

      // Reported again (GitHub retries): no longer live.
      const again = await scan(base, [{ token: live.key, type: 'keygate_api_key' }]);
      assert.equal(again.body[0].label, 'false_positive');
    });

    it('a report signed by another key, by an unknown key id, or unsigned is 401 and deactivates nothing', async () => {
      const { kg } = env();
      const live = await liveToken(env());
      const matches = [{ token: live.key, type: 'keygate_api_key' }];
      for (const res of [
        await scan(base, matches, { signer: stranger.privateKey }),
        await scan(base, matches, { keyId: 'someone-else' }),
        await scan(base, matches, { unsigned: true }),
      ]) {
        assert.equal(res.status, 401);
        assert.equal(res.body.error.code, 'UNAUTHENTICATED');
      }
      // A signature over other bytes than those sent (the body re-serialised) fails too.
      const body = JSON.stringify(matches);
      const res = await fetch(`${base}/api/v1.0/secret-scanning/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'github-public-key-identifier': KEY_ID,
          'github-public-key-signature': sign('sha256', Buffer.from(body), github.privateKey).toString('base64'),
        },
        body: `${body} `,
      });
      assert.equal(res.status, 401);
      assert.equal((await kg.stores.tokens.findById(live.view.row.id))?.active, 1, 'still active');
    });

    it('after 20 badly signed reports from one address, answers 429 before reading the body; signed reports still pass', async () => {
      const { kg, app } = env();
      const live = await liveToken(env());
      const matches = [{ token: live.key, type: 'keygate_api_key' }];
      // Its own address, so the other tests' failures do not count.
      const inject = (signed: boolean) => {
        const body = JSON.stringify(matches);
        return app.inject({
          method: 'POST',
          url: '/api/v1.0/secret-scanning/github',
          remoteAddress: '10.9.9.9',
          headers: {
            'content-type': 'application/json',
            'github-public-key-identifier': KEY_ID,
            'github-public-key-signature': sign(
              'sha256',
              Buffer.from(body),
              signed ? github.privateKey : stranger.privateKey,
            ).toString('base64'),
          },
          payload: body,
        });
      };
      for (let i = 0; i < 20; i++) assert.equal((await inject(false)).statusCode, 401);
      const refused = await inject(false);
      assert.equal(refused.statusCode, 429);
      assert.equal(refused.json().error.code, 'RATE_LIMITED');
      assert.match(String(refused.headers['retry-after']), /^\d+$/);
      // Counted per address: GitHub, reporting from its own address, is not held up by another's failures.
      assert.equal((await scan(base, matches)).status, 200);
      assert.equal((await kg.stores.tokens.findById(live.view.row.id))?.active, 0);
    });

    it('a body that is not an array of matches is 400', async () => {
      const res = await fetch(`${base}/api/v1.0/secret-scanning/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"token": 1}',
      });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as any).error.code, 'VALIDATION_FAILED');
    });
  },
  { KEYGATE_GITHUB_SCANNING_KEYS: keysFile },
);

forEachDialect('POST /secret-scanning/github without KEYGATE_GITHUB_SCANNING_KEYS', (env) => {
  it('answers 404 ROUTE_NOT_FOUND, whatever the body', async () => {
    const body = JSON.stringify([]);
    const res = await env().app.inject({
      method: 'POST',
      url: '/api/v1.0/secret-scanning/github',
      headers: {
        'content-type': 'application/json',
        'github-public-key-identifier': KEY_ID,
        'github-public-key-signature': sign('sha256', Buffer.from(body), github.privateKey).toString('base64'),
      },
      payload: body,
    });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().error.code, 'ROUTE_NOT_FOUND');
    // Before the body is read: a body it would refuse is answered the same.
    const odd = await env().app.inject({
      method: 'POST',
      url: '/api/v1.0/secret-scanning/github',
      headers: { 'content-type': 'application/json' },
      payload: '{"x": 1}',
    });
    assert.equal(odd.statusCode, 404);
  });
});
