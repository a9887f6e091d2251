import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import fc from 'fast-check';
import { forEachDialect } from '../support/harness.js';
import { listen } from '../support/wire.js';
import { checkAnswer, redactor, sendInjected, type Tally } from './answers.js';
import { documentedOperations, type Operation } from './operations.js';
import { concrete, encodeJson, requestFor, type RequestSpec } from './requests.js';
import { exchange, rawBytes, rawCaseFor } from './wire.js';
import { buildWorld, snapshotDiff, type World } from './world.js';

/**
 * Issue 11, item 1 (the fast-check half): every operation of keygate's own OpenAPI document, fed
 * requests generated from its schemas and then bent — wrong types, huge, negative and fractional
 * numbers, 10,000-deep JSON, prototype keys, invalid UTF-8, truncated bodies, every content type,
 * every key carrier at once with the same and with different keys, duplicate headers — by no one,
 * an administrator's token, a reader's token, and a console session with and without its CSRF
 * token. Never a 5xx; every refusal is the one envelope; a refused write changes nothing. Then a
 * smaller pass over a real socket for what app.inject cannot say, after which the server still
 * answers.
 *
 * FUZZ_ROUTE_RUNS (per operation) and FUZZ_RAW_RUNS raise the counts for a long hunt; FUZZ_SEED
 * replays a run (its seed is printed first, and with any failure); FUZZ_ONLY keeps the operations
 * whose "METHOD /path" contains it; FUZZ_DEBUG=rest says in which table and column a secret the
 * suite's closing scan finds at rest lies.
 */
const ROUTE_RUNS = Number(process.env.FUZZ_ROUTE_RUNS ?? 20);
const RAW_RUNS = Number(process.env.FUZZ_RAW_RUNS ?? 80);
const ONLY = process.env.FUZZ_ONLY;
const SEED =
  process.env.FUZZ_SEED === undefined ? Date.now() ^ (Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED);

// The test's own GitHub secret-scanning key, so signed reports reach the handler.
const github = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const GITHUB_KEY_ID = 'fuzz-github-key';
const githubKeys = join(mkdtempSync(join(tmpdir(), 'keygate-fuzz-github-')), 'github-keys.json');
writeFileSync(
  githubKeys,
  JSON.stringify({
    public_keys: [
      {
        key_identifier: GITHUB_KEY_ID,
        key: github.publicKey.export({ type: 'spki', format: 'pem' }),
        is_current: true,
      },
    ],
  }),
);
const signer = (body: Buffer) => ({
  keyId: GITHUB_KEY_ID,
  signature: sign('sha256', body, github.privateKey).toString('base64'),
});

/** Methods that may change state: a refusal of one must leave the state as it was. */
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

forEachDialect(
  'fuzzing every documented operation',
  (env, dialect) => {
    let ops: Operation[] = [];
    let world: World;
    const tally: Tally = { requests: 0, statuses: {}, refusedWrites: 0, codes: {} };

    it('reads the operations from the OpenAPI document and seeds a world', async (t) => {
      // First, so a failure found only by the closing secret scan can be replayed too.
      t.diagnostic(`[${dialect}] FUZZ_SEED=${SEED}`);
      const { app, kg } = env();
      ops = await documentedOperations(app);
      world = await buildWorld(kg);
    });

    it('every operation: no 5xx, every refusal in the envelope, refused writes change nothing', async (t) => {
      const { app, kg } = env();
      assert.ok(ops.length > 0, 'the operations were read');
      const redact = redactor(world, kg.config.keyPrefix);
      for (const [index, op] of ops.entries()) {
        if (ONLY && !`${op.method} ${op.path}`.includes(ONLY)) continue;
        await t.test(`${op.method} ${op.path}`, async () => {
          const seed = SEED + index;
          try {
            await fc.assert(
              fc.asyncProperty(requestFor(op), async (spec: RequestSpec) => {
                const req = concrete(op, spec, world, kg.config.keyPrefix, signer);
                const write = WRITES.has(op.method);
                const before = write ? await world.snapshot() : undefined;
                const answer = await sendInjected(app, req, op.path.endsWith('/events'));
                tally.requests += 1;
                tally.statuses[answer.status] = (tally.statuses[answer.status] ?? 0) + 1;
                checkAnswer(req, answer, world, redact);
                if (answer.status >= 400) {
                  const code = String(JSON.parse(answer.body).error.code);
                  tally.codes[code] = (tally.codes[code] ?? 0) + 1;
                }
                if (before && answer.status >= 400) {
                  tally.refusedWrites += 1;
                  const changed = snapshotDiff(before, await world.snapshot());
                  assert.deepEqual(
                    changed,
                    [],
                    `a refused ${req.method} changed state: ${redact(req.url)} → ${answer.status}`,
                  );
                }
                if (write && answer.status < 400) await world.refresh();
              }),
              { numRuns: ROUTE_RUNS, seed, includeErrorInReport: true },
            );
          } catch (err) {
            // fast-check's own report names the seed too; this line says how to replay this operation alone.
            (err as Error).message = redact(
              `FUZZ_SEED=${seed - index} (operation ${index}): ${(err as Error).message}`,
            );
            throw err;
          }
        });
      }
      t.diagnostic(
        `[${dialect}] ${tally.requests} requests over ${ops.length} operations (${tally.refusedWrites} refused writes checked for changes); statuses ${JSON.stringify(tally.statuses)}; codes ${JSON.stringify(tally.codes)}; seed ${SEED}`,
      );
      if (!ONLY) assert.ok(tally.requests >= ops.length * ROUTE_RUNS, 'every operation was fuzzed');
    });

    it('over a real socket: duplicate headers, invalid UTF-8, cut and oversized bodies; the server stays up', async (t) => {
      const { app, kg } = env();
      const port = await listen(app);
      const redact = redactor(world, kg.config.keyPrefix);
      const enc = (v: unknown) => encodeJson(v, world, kg.config.keyPrefix);
      let sent = 0;
      let answered = 0;
      try {
        await fc.assert(
          fc.asyncProperty(rawCaseFor(ops), async (c) => {
            const op = ops[c.op]!;
            const { chunks, expectAnswer, expectCode } = rawBytes(c, op, world, kg.config.keyPrefix, enc);
            const write = WRITES.has(op.method);
            const before = write ? await world.snapshot() : undefined;
            const got = await exchange(port, chunks, !expectAnswer);
            sent += 1;
            const what = `${c.attack} on ${op.method} ${op.path}`;
            if (expectAnswer)
              assert.ok(got.responses.length > 0, `no answer to ${what}: ${redact(got.text.slice(0, 300))}`);
            if (expectCode !== undefined) {
              const first = got.responses[0];
              assert.equal(
                first && JSON.parse(first.body).error?.code,
                expectCode,
                `${what}: ${redact(String(first?.body).slice(0, 300))}`,
              );
            }
            // Bytes that are not an HTTP response are as bad as a 5xx.
            if (got.text.length > 0) assert.ok(got.responses.length > 0, `not an HTTP answer to ${what}`);
            let accepted = false;
            for (const r of got.responses) {
              answered += 1;
              checkAnswer(
                { method: op.method, url: op.path, headers: {}, payload: undefined },
                { status: r.status, headers: r.headers, body: r.body },
                world,
                redact,
                what,
              );
              if (r.status < 400) accepted = true;
            }
            if (before && !accepted) {
              const changed = snapshotDiff(before, await world.snapshot());
              assert.deepEqual(changed, [], `a refused ${what} changed state`);
            }
            if (write && accepted) await world.refresh();
            // Whatever that connection did, the server still answers the next one.
            const health = await exchange(port, [
              Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
            ]);
            assert.equal(health.responses[0]?.status, 200, `/health after ${what}`);
          }),
          { numRuns: RAW_RUNS, seed: SEED, includeErrorInReport: true },
        );
      } catch (err) {
        (err as Error).message = redact(`FUZZ_SEED=${SEED}: ${(err as Error).message}`);
        throw err;
      }
      // And it still does its job: the administrator's key is honoured.
      await world.refresh();
      const me = await exchange(port, [
        Buffer.from(
          `GET /api/v1.0/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-API-Key: ${world.keys.admin}\r\n\r\n`,
        ),
      ]);
      assert.equal(me.responses[0]?.status, 200);
      t.diagnostic(`[${dialect}] ${sent} raw connections, ${answered} answers; seed ${SEED}`);
    });

    // A hunt's aid: where (table and column, never the value) a secret rests, when the suite's scan finds one.
    if (process.env.FUZZ_DEBUG === 'rest')
      it('debug: where secrets rest', async () => {
        const { kg } = env();
        await kg.accessLog.flush();
        const db = kg.stores.db as unknown as import('kysely').Kysely<Record<string, Record<string, unknown>>>;
        const needles = [...world.secrets(), 'correct horse battery staple'];
        for (const table of [
          'tokens',
          'resources',
          'users',
          'webhooks',
          'audit_events',
          'access_log',
          'webhook_deliveries',
        ])
          for (const row of await db.selectFrom(table).selectAll().execute())
            for (const [column, value] of Object.entries(row))
              for (const n of needles)
                if (String(value).includes(n)) {
                  const at = String(value).indexOf(n);
                  console.error(
                    'REST',
                    table,
                    column,
                    String(value)
                      .slice(Math.max(0, at - 150), at)
                      .replace(/kg_\w+/g, '<k>'),
                  );
                }
      });
  },
  {
    KEYGATE_WEBHOOK_ALLOW_PRIVATE: 'true',
    KEYGATE_WEBHOOK_MAX_ATTEMPTS: '1',
    KEYGATE_RECOVERABLE_KEYS: 'true',
    KEYGATE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    KEYGATE_GITHUB_SCANNING_KEYS: githubKeys,
  },
);
