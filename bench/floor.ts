/**
 * The two floors keygate is measured against, as a standalone server process:
 *
 *   node --import tsx bench/floor.ts hello    GET /hello → {"hello":"world"}
 *   node --import tsx bench/floor.ts verify   POST /verify {key} → SHA-256 → Map of 100,000 → {valid,id}
 *
 * Env: PORT, HOST (default 127.0.0.1), BENCH_KEY_COUNT (default 100000), BENCH_KEYS_OUT (file that
 * receives a JSON array of BENCH_SAMPLE_COUNT valid keys, for the load script; verify floor only).
 * Both answer GET /health for the harness's readiness poll.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Fastify from 'fastify';
import { generateKey } from '../src/domain/keys.js';
import { newId } from '../src/domain/ids.js';

const kind = process.argv[2];
const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

const app = Fastify({ logger: false });
app.get('/health', async () => ({ ok: true }));

if (kind === 'hello') {
  app.get('/hello', async () => ({ hello: 'world' }));
} else if (kind === 'verify') {
  const count = Number(process.env.BENCH_KEY_COUNT ?? 100_000);
  const sampleCount = Number(process.env.BENCH_SAMPLE_COUNT ?? 1_000);
  // Same key shape and hash as keygate without a server secret: SHA-256, base64url.
  const hash = (key: string): string => createHash('sha256').update(key).digest('base64url');
  const byHash = new Map<string, string>();
  const sample: string[] = [];
  for (let i = 0; i < count; i++) {
    const key = generateKey('kg_');
    byHash.set(hash(key), newId('tok'));
    if (i < sampleCount) sample.push(key);
  }
  if (process.env.BENCH_KEYS_OUT) writeFileSync(process.env.BENCH_KEYS_OUT, JSON.stringify(sample), { mode: 0o600 });

  app.post('/verify', async (req, reply) => {
    const key = (req.body as { key?: unknown } | null)?.key;
    if (typeof key !== 'string') return reply.code(400).send({ valid: false });
    const id = byHash.get(hash(key));
    return id === undefined ? { valid: false } : { valid: true, id };
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
