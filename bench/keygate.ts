import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Insertable } from 'kysely';
import { loadConfig } from '../src/config.js';
import { newId } from '../src/domain/ids.js';
import { KeyRing } from '../src/services/key-ring.js';
import { migrateToLatest, openDatabase } from '../src/store/database.js';
import type { TokenKeysTable, TokensTable } from '../src/store/schema.js';
import { spawnPinned, waitForHttp, type Pinned } from './proc.js';

/** What the harness needs to load a running keygate. */
export interface KeygateTarget {
  server: Pinned;
  baseUrl: string;
  /** Key of the administrator-level token that calls /verify and /me. */
  callerKey: string;
  /** Key of a token holding only keys:verify (verify group only): the usual gateway caller. */
  verifierKey: string;
  /** Plain keys of some of the seeded tokens, to cycle through in /verify bodies. */
  sampleKeys: string[];
  tokenCount: number;
  seedMs: number;
  startMs: number;
}

export interface KeygateOptions {
  /** Project root (where dist/ lives). */
  root: string;
  /** Fresh directory for the SQLite data. */
  dataDir: string;
  port: number;
  cpu: number;
  tokenCount: number;
  sampleCount: number;
  log: (line: string) => void;
}

export const KEYGATE_ENTRY = 'dist/cli/main.js';

/** Why keygate cannot be benchmarked right now, or null when the built server is there. */
export function keygateUnavailable(root: string): string | null {
  if (!existsSync(join(root, KEYGATE_ENTRY))) return `${KEYGATE_ENTRY} is missing (run npm run build)`;
  return null;
}

/** Newest modification time under `dir`, bounded to a few thousand entries. */
function newestMtime(dir: string, budget = { left: 5_000 }): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (--budget.left < 0) break;
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p, budget) : statSync(p).mtimeMs);
  }
  return newest;
}

/** A warning when src/ has changed since the server was built, else null. */
export function staleBuildWarning(root: string): string | null {
  const entry = join(root, KEYGATE_ENTRY);
  if (!existsSync(entry)) return null;
  const built = statSync(entry).mtimeMs;
  const src = newestMtime(join(root, 'src'));
  return src > built
    ? `src/ changed after ${KEYGATE_ENTRY} was built; the figures are for the older build (run npm run build)`
    : null;
}

/**
 * The environment keygate runs with, and the seeder reads its config from: the harness's own
 * environment without any KEYGATE_* setting (so a developer's shell cannot point the server at
 * another database or key secret), plus the benchmark's settings.
 */
export function keygateEnv(opts: Pick<KeygateOptions, 'dataDir' | 'port'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KEYGATE_')) env[k] = v;
  return {
    ...env,
    NODE_ENV: 'production',
    PORT: String(opts.port),
    HOST: '127.0.0.1',
    KEYGATE_DATA_DIR: opts.dataDir,
    KEYGATE_LOG_LEVEL: 'warn',
  };
}

const BATCH = 1_000;

/**
 * Writes a fresh store straight through the project's store modules (no HTTP, so no fsync per
 * token): one admin user, one account, `tokenCount` reader tokens, one administrator-level
 * caller token and one keys:verify-only verifier token. Returns the callers' keys and the plain keys of the first `sampleCount` tokens;
 * plain keys exist only in memory (and in the temp-dir Lua script).
 */
export async function seedKeygate(
  env: NodeJS.ProcessEnv,
  tokenCount: number,
  sampleCount: number,
): Promise<{ callerKey: string; verifierKey: string; sampleKeys: string[]; sampleIds: string[] }> {
  const config = loadConfig(env);
  const ring = new KeyRing(config);
  const { db, close } = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir,
    pgSchema: config.databaseSchema,
  });
  try {
    await migrateToLatest(db);
    const now = new Date().toISOString();
    const adminId = newId('usr');
    const accountId = newId('res');
    await db
      .insertInto('users')
      .values({
        id: adminId,
        email: 'bench-admin@example.invalid',
        name: 'Bench admin',
        password_hash: null,
        system_role: 'admin',
        active: 1,
        created_at: now,
        updated_at: now,
      })
      .execute();
    await db
      .insertInto('resources')
      .values({
        id: accountId,
        type: 'account',
        name: 'Bench account',
        parent_id: null,
        created_at: now,
        updated_at: now,
      })
      .execute();

    const tokenRow = (
      id: string,
      key: string,
      name: string,
      level: string | null,
      permissions: string[] = [],
      apiGroups: string[] = ['native'],
    ): Insertable<TokensTable> => ({
      id,
      name,
      description: '',
      owner_id: adminId,
      resource_id: accountId,
      level,
      permissions: JSON.stringify(permissions),
      api_groups: JSON.stringify(apiGroups),
      expires_at: null,
      active: 1,
      impersonate_user_id: null,
      logging: 'none',
      key_prefix: ring.displayPrefix(key),
      encrypted_key: null,
      created_by: adminId,
      created_at: now,
      updated_at: now,
      last_used_at: null,
      last_used_ip: null,
    });

    const callerKey = ring.generate();
    const callerId = newId('tok');
    const verifierKey = ring.generate();
    const verifierId = newId('tok');
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('tokens')
        .values([
          tokenRow(callerId, callerKey, 'bench caller', 'administrator'),
          tokenRow(verifierId, verifierKey, 'bench verifier', null, ['keys:verify'], ['verify']),
        ])
        .execute();
      await trx
        .insertInto('token_keys')
        .values([
          { key_hash: ring.hash(callerKey), token_id: callerId, expires_at: null, created_at: now },
          { key_hash: ring.hash(verifierKey), token_id: verifierId, expires_at: null, created_at: now },
        ])
        .execute();
    });

    const sampleKeys: string[] = [];
    const sampleIds: string[] = [];
    for (let start = 0; start < tokenCount; start += BATCH) {
      const tokens: Insertable<TokensTable>[] = [];
      const keys: Insertable<TokenKeysTable>[] = [];
      for (let i = start; i < Math.min(start + BATCH, tokenCount); i++) {
        const key = ring.generate();
        const id = newId('tok');
        tokens.push(tokenRow(id, key, `bench ${i}`, 'reader'));
        keys.push({ key_hash: ring.hash(key), token_id: id, expires_at: null, created_at: now });
        if (sampleKeys.length < sampleCount) {
          sampleKeys.push(key);
          sampleIds.push(id);
        }
      }
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('tokens').values(tokens).execute();
        await trx.insertInto('token_keys').values(keys).execute();
      });
    }
    return { callerKey, verifierKey, sampleKeys, sampleIds };
  } finally {
    await close();
  }
}

/**
 * Starts the built `keygate serve` pinned to `cpu` with `env` (which sets its port to `port`) and
 * waits until `probe` answers: the one place that knows how a benchmark starts keygate.
 */
export async function serveKeygate(opts: {
  root: string;
  cpu: number | string;
  port: number;
  env: NodeJS.ProcessEnv;
  name?: string;
  probe?: '/health' | '/ready';
  timeoutMs?: number;
}): Promise<{ server: Pinned; baseUrl: string }> {
  const server = spawnPinned({
    name: opts.name ?? 'keygate',
    cpu: opts.cpu,
    command: process.execPath,
    args: [KEYGATE_ENTRY, 'serve'],
    cwd: opts.root,
    env: opts.env,
  });
  const baseUrl = `http://127.0.0.1:${opts.port}`;
  await waitForHttp(`${baseUrl}${opts.probe ?? '/health'}`, server, opts.timeoutMs ?? 60_000);
  return { server, baseUrl };
}

/** Seeds a fresh data dir, then starts the built server pinned to `cpu` (serveKeygate). */
export async function startKeygate(opts: KeygateOptions): Promise<KeygateTarget> {
  const env = keygateEnv(opts);
  const t0 = Date.now();
  const { callerKey, verifierKey, sampleKeys } = await seedKeygate(env, opts.tokenCount, opts.sampleCount);
  const seedMs = Date.now() - t0;
  opts.log(`seeded ${opts.tokenCount.toLocaleString('en-US')} tokens (+1 caller) in ${(seedMs / 1000).toFixed(1)} s`);

  const t1 = Date.now();
  const { server, baseUrl } = await serveKeygate({ root: opts.root, cpu: opts.cpu, port: opts.port, env });
  return {
    server,
    baseUrl,
    callerKey,
    verifierKey,
    sampleKeys,
    tokenCount: opts.tokenCount,
    seedMs,
    startMs: Date.now() - t1,
  };
}
