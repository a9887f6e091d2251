import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { run } from '../../src/cli/program.js';
import { randomBase62 } from '../../src/domain/keys.js';
import { DIALECTS } from '../support/harness.js';

/** `keygate token create --rate-limit 100/1m --credits N --ip-allow …`: the limits from the command line. */
for (const dialect of DIALECTS) {
  describe(`CLI token limits [${dialect.name}]`, () => {
    let dataDir: string;
    const schema = dialect.url ? `t_${randomBase62(12).toLowerCase()}` : undefined;
    let env: Record<string, string>;
    const cli = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await run(args, { env, out: (t) => out.push(t), err: (t) => err.push(t) });
      return { code, out: out.join('\n'), err: err.join('\n') };
    };

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'keygate-cli-limits-'));
      env = { KEYGATE_DATA_DIR: dataDir, KEYGATE_LOG_LEVEL: 'warn' };
      if (dialect.url && schema)
        Object.assign(env, { KEYGATE_DATABASE_URL: dialect.url, KEYGATE_DATABASE_SCHEMA: schema });
      const created = await run(['admin', 'create', '--email', 'ops@example.com'], {
        env: { ...env, KEYGATE_ADMIN_PASSWORD: 'a long enough password' },
        out: () => {},
        err: () => {},
      });
      assert.equal(created, 0);
    });
    after(async () => {
      rmSync(dataDir, { recursive: true, force: true });
      if (dialect.url && schema) {
        const admin = new pg.Client({ connectionString: dialect.url });
        await admin.connect();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
      }
    });

    it('creates a token with a rate limit, credits and an allowlist, and refuses a malformed limit', async () => {
      const base = ['token', 'create', '--as', 'ops@example.com', '--name', 'limited', '--json'];
      const r = await cli(...base, '--rate-limit', '100/1m', '--credits', '20', '--ip-allow', '10.0.0.0/8', '::1');
      assert.equal(r.code, 0, r.err);
      const token = JSON.parse(r.out) as Record<string, any>;
      assert.deepEqual(token.rateLimit, { limit: 100, window: '1m', per: 'token' });
      assert.equal(token.credits.remaining, 20);
      assert.deepEqual(token.ipAllowlist, ['10.0.0.0/8', '::1']);
      const bad = await cli(...base, '--rate-limit', '100 per minute');
      assert.notEqual(bad.code, 0);
      assert.match(bad.err, /100\/1m/);
      const badIp = await cli(...base, '--ip-allow', 'example.com');
      assert.equal(badIp.code, 1);
      assert.match(badIp.err, /VALIDATION_FAILED.*ipAllowlist/);
    });
  });
}
