/**
 * The two floors keygate is measured against, as a standalone server process:
 *
 *   node --import tsx bench/floor.ts hello    GET /hello → {"hello":"world"}
 *   node --import tsx bench/floor.ts verify   POST /verify {key} → SHA-256 → Map of 100,000 → verify answer
 *
 * Floor 2 answers what keygate's /verify answers for a valid key — the contract's fields, serialised
 * through the contract's own schema (VerifyResponse), after validating the body with VerifyRequest — so the two send bodies of the same shape and
 * size and the ratio measures keygate's work, not a shorter answer. It hashes with the one-shot
 * `crypto.hash` (the cheapest SHA-256 Node offers), so the floor is the least any verify endpoint can do.
 *
 * Env: PORT, HOST (default 127.0.0.1), BENCH_KEY_COUNT (default 100000), BENCH_KEYS_OUT (file that
 * receives a JSON array of BENCH_SAMPLE_COUNT valid keys, for the load script; verify floor only).
 * Both answer GET /health for the harness's readiness poll.
 */
import { hash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Fastify from 'fastify';
import { newId } from '../src/domain/ids.js';
import { generateKey } from '../src/domain/keys.js';
import { DEFAULT_MODEL, levelPermissions } from '../src/domain/model.js';
import { VerifyRequest, VerifyResponse } from '../src/schemas.js';

const kind = process.argv[2];
const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const app = Fastify({ logger: false });
app.get('/health', async () => ({ ok: true }));

/** The token facts a verify answer carries, as keygate's bench seeds them (reader level, native group). */
interface TokenSummary {
  id: string;
  name: string;
  ownerId: string;
  resourceId: string | null;
  permissions: string[];
  apiGroups: string[];
  expiresAt: string | null;
  impersonateUserId: string | null;
  logging: 'none';
}

if (kind === 'hello') {
  app.get('/hello', async () => ({ hello: 'world' }));
} else if (kind === 'verify') {
  const count = Number(process.env.BENCH_KEY_COUNT ?? 100_000);
  const sampleCount = Number(process.env.BENCH_SAMPLE_COUNT ?? 1_000);
  // Same key shape and hash as keygate without a server secret: SHA-256, base64url.
  const hashKey = (key: string): string => hash('sha256', key, 'base64url');
  const ownerId = newId('usr');
  const resourceId = newId('res');
  const permissions = [...levelPermissions(DEFAULT_MODEL, 'reader')];
  const byHash = new Map<string, TokenSummary>();
  const sample: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = generateKey('kg_');
    byHash.set(hashKey(key), {
      id: newId('tok'),
      name: `bench ${i}`,
      ownerId,
      resourceId,
      permissions,
      apiGroups: ['native'],
      expiresAt: null,
      impersonateUserId: null,
      logging: 'none',
    });
    if (i < sampleCount) sample.push(key);
  }
  if (process.env.BENCH_KEYS_OUT) writeFileSync(process.env.BENCH_KEYS_OUT, JSON.stringify(sample), { mode: 0o600 });

  // The contract's request schema too: keygate validates the same body before it judges a key.
  const schema = { body: VerifyRequest, response: { 200: VerifyResponse } };
  app.post('/verify', { schema }, async (req) => {
    const token = byHash.get(hashKey((req.body as { key: string }).key));
    return token === undefined ? { valid: false, code: 'NOT_FOUND' } : { valid: true, code: 'VALID', token };
  });
} else {
  process.stderr.write('usage: floor.ts hello|verify\n');
  process.exit(2);
}

await app.listen({ port, host });

const stop = (): void => {
  void app.close().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
