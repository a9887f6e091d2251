import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, SETTINGS } from '../../src/config.js';

/** Every setting is documented in the README's configuration table, and the operating ones are checked. */

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

describe('configuration reference', () => {
  it('lists every setting in the README configuration table', () => {
    const start = README.indexOf('## Configuration');
    const table = README.slice(start, README.indexOf('\n## ', start + 1));
    const missing = SETTINGS.filter((name) => !table.includes(`\`${name}\``));
    assert.deepEqual(missing, [], 'settings missing from the README configuration table');
  });

  it('reads the metrics token and shutdown bounds, with their defaults, and refuses a short token', () => {
    const defaults = loadConfig({});
    assert.deepEqual(defaults.ops, { metricsToken: undefined, shutdownTimeoutMs: 10_000, shutdownDelayMs: 0 });
    const set = loadConfig({
      KEYGATE_METRICS_TOKEN: 'sixteen-chars-ok',
      KEYGATE_SHUTDOWN_TIMEOUT_MS: '2500',
      KEYGATE_SHUTDOWN_DELAY_MS: '5000',
    });
    assert.deepEqual(set.ops, { metricsToken: 'sixteen-chars-ok', shutdownTimeoutMs: 2_500, shutdownDelayMs: 5_000 });
    assert.throws(
      () => loadConfig({ KEYGATE_METRICS_TOKEN: 'short' }),
      (err: Error) =>
        err instanceof ConfigError && /KEYGATE_METRICS_TOKEN/.test(err.message) && !/short/.test(err.message),
    );
    assert.throws(() => loadConfig({ KEYGATE_SHUTDOWN_TIMEOUT_MS: 'soon' }), /KEYGATE_SHUTDOWN_TIMEOUT_MS/);
  });
});
