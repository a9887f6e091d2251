import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { forEachDialect } from '../support/harness.js';

/**
 * keygate's own OpenAPI document passes a third-party linter (Redocly CLI) with its recommended rules:
 * servers, licence, an operationId on every operation and a 2xx answer for each. Per dialect, since
 * the document is built by the running app.
 */
forEachDialect('the OpenAPI document lints clean with Redocly (recommended rules)', (env) => {
  it('has no errors and no warnings', async () => {
    const res = await env().app.inject({ method: 'GET', url: '/api/v1.0/openapi.json' });
    assert.equal(res.statusCode, 200);
    const dir = mkdtempSync(join(tmpdir(), 'keygate-lint-'));
    try {
      const file = join(dir, 'openapi.json');
      writeFileSync(file, res.body);
      const run = spawnSync(join('node_modules', '.bin', 'redocly'), ['lint', file, '--format=json'], {
        encoding: 'utf8',
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      });
      const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{'))) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; message: string }[];
      };
      const problems = report.problems.map((p) => `${p.ruleId}: ${p.message}`);
      assert.deepEqual(problems, [], 'Redocly found problems');
      assert.equal(report.totals.errors, 0);
      assert.equal(report.totals.warnings, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
