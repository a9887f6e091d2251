import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { loadConfig, type Config } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import type { FastifyTypebox } from '../../src/http/types.js';
import { createKeygate, type Keygate } from '../../src/keygate.js';
import { randomBase62 } from '../../src/domain/keys.js';
import { loggerOptions } from '../../src/server.js';
import { keepDataDir, keepSchema } from './run-record.js';
import { assertNoSecretsAtRest } from './secret-scan.js';

/**
 * The dialects the suite runs against. SQLite always; PostgreSQL when KEYGATE_TEST_POSTGRES_URL
 * is set. With KEYGATE_TEST_REQUIRE_POSTGRES=1 (as CI sets it) a missing URL fails the run
 * instead of skipping, so a green CI always means both dialects ran.
 */
export const DIALECTS: { name: 'sqlite' | 'postgres'; url: string | undefined }[] = [
  { name: 'sqlite', url: undefined },
];
const pgUrl = process.env.KEYGATE_TEST_POSTGRES_URL;
if (pgUrl) DIALECTS.push({ name: 'postgres', url: pgUrl });
else if (process.env.KEYGATE_TEST_REQUIRE_POSTGRES === '1')
  throw new Error('KEYGATE_TEST_REQUIRE_POSTGRES=1 but KEYGATE_TEST_POSTGRES_URL is not set');

export interface TestEnv {
  app: FastifyTypebox;
  kg: Keygate;
  config: Config;
}

/** Fast, weak password hashing: tests sign in often; production uses the real cost. */
const TEST_HASHING = { memoryCost: 1024, timeCost: 1 };

/** A fresh keygate (own SQLite file or own PostgreSQL schema) with an app, built from env-style settings. */
export async function createTestEnv(
  dialectUrl: string | undefined,
  env: Record<string, string> = {},
): Promise<TestEnv & { dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-test-'));
  const config = loadConfig({
    KEYGATE_DATA_DIR: dataDir,
    KEYGATE_DATABASE_URL: dialectUrl ?? '',
    // Batches are written when a test flushes, never by the timer in the middle of a test.
    KEYGATE_ACCESS_LOG_FLUSH_MS: '60000',
    // Suites present many wrong keys from one address (127.0.0.1); the throttle's own suites turn it on.
    KEYGATE_REFUSED_KEY_LIMIT: '0',
    ...env,
  });
  const pgSchema = dialectUrl ? `t_${randomBase62(12).toLowerCase()}` : undefined;
  const kg = await createKeygate(config, { pgSchema, passwordHashing: TEST_HASHING });
  // The server's own logger, at debug, into the data directory: whatever keygate logs is searched for secrets too.
  const app = await buildApp(kg, { logger: testLogger(config, dataDir) });
  await app.ready();
  return {
    app,
    kg,
    config,
    async dispose() {
      await app.close();
      // Everything this keygate wrote — database, WAL, sinks — must be free of keys and passwords.
      await assertNoSecretsAtRest(kg, dataDir);
      await disposeData(kg, dataDir, pgSchema);
    },
  };
}

/** The server's logger settings at debug level, writing to `server.log` in the data directory. */
function testLogger(config: Config, dataDir: string) {
  return { ...loggerOptions(config, join(dataDir, 'server.log')), level: 'debug' };
}

/**
 * Drops a test keygate's schema and data directory — or, when the run keeps a record, hands both to the
 * run-wide secret scan — and closes it.
 */
async function disposeData(kg: Keygate, dataDir: string, pgSchema: string | undefined): Promise<void> {
  if (pgSchema && !keepSchema(pgSchema)) await kg.stores.db.schema.dropSchema(pgSchema).ifExists().cascade().execute();
  await kg.close();
  if (!keepDataDir(dataDir)) rmSync(dataDir, { recursive: true, force: true });
}

/**
 * Runs a suite once per dialect, each with its own fresh keygate. The callback gets a getter,
 * valid inside tests, for the environment of its dialect.
 */
export function forEachDialect(
  title: string,
  suite: (env: () => TestEnv, dialect: string) => void,
  env: Record<string, string> = {},
): void {
  for (const dialect of DIALECTS) {
    describe(`${title} [${dialect.name}]`, () => {
      let current: (TestEnv & { dispose(): Promise<void> }) | undefined;
      before(async () => {
        current = await createTestEnv(dialect.url, env);
      });
      after(async () => {
        await current?.dispose();
      });
      suite(
        () =>
          current ??
          (() => {
            throw new Error('test env not ready');
          })(),
        dialect.name,
      );
    });
  }
}

/**
 * Several keygates over one database — one SQLite file, or one PostgreSQL schema — as separate
 * server processes behind a load balancer would be. Each has its own app and its own in-memory
 * cache; all read `clock`, so a test can pass a cache TTL without sleeping.
 */
export async function createTestCluster(
  dialectUrl: string | undefined,
  count: number,
  options: { env?: Record<string, string>; clock?: () => Date } = {},
): Promise<{ instances: TestEnv[]; dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-cluster-'));
  const config = loadConfig({
    KEYGATE_DATA_DIR: dataDir,
    KEYGATE_DATABASE_URL: dialectUrl ?? '',
    // Batches are written when a test flushes, never by the timer in the middle of a test.
    KEYGATE_ACCESS_LOG_FLUSH_MS: '60000',
    // Suites present many wrong keys from one address (127.0.0.1); the throttle's own suites turn it on.
    KEYGATE_REFUSED_KEY_LIMIT: '0',
    ...options.env,
  });
  const pgSchema = dialectUrl ? `t_${randomBase62(12).toLowerCase()}` : undefined;
  const instances: TestEnv[] = [];
  const dispose = async () => {
    for (const { app } of instances) await app.close();
    for (const { kg } of instances) await assertNoSecretsAtRest(kg, dataDir);
    const [first, ...others] = instances;
    for (const { kg } of others) await kg.close();
    if (first) await disposeData(first.kg, dataDir, pgSchema);
    else rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const kg = await createKeygate(config, {
        pgSchema,
        passwordHashing: TEST_HASHING,
        ...(options.clock ? { clock: options.clock } : {}),
      });
      const app = await buildApp(kg, { logger: testLogger(config, dataDir) });
      instances.push({ app, kg, config });
      await app.ready();
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return { instances, dispose };
}
