import { freePort, signInOverHttp } from '../support/net.js';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBase62 } from '../../src/domain/keys.js';
import { openDatabase } from '../../src/store/database.js';
import { DIALECTS } from '../support/harness.js';
import { startUpstream } from '../support/upstream.js';

/**
 * Graceful shutdown of a real `keygate gateway` process: on SIGTERM it refuses new connections,
 * lets a request under way finish, writes the access log's queued records, closes the database
 * and exits 0; a request that outlasts KEYGATE_SHUTDOWN_TIMEOUT_MS is cut, and it still exits 0.
 */

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const PASSWORD = 'a long enough password';

/** Polls until `check` holds (a state of another process, not a duration); fails after ~30 s. */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

for (const dialect of DIALECTS) {
  describe(`graceful shutdown of keygate gateway and serve [${dialect.name}]`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'keygate-shutdown-'));
    const pgSchema = dialect.url ? `t_${randomBase62(12).toLowerCase()}` : undefined;
    const held: ServerResponse[] = [];
    let upstream: Awaited<ReturnType<typeof startUpstream>>;

    before(async () => {
      // Requests to /slow are held until the test answers them; others are echoed.
      upstream = await startUpstream((req, res, body) => {
        if (req.url?.startsWith('/slow')) held.push(res);
        else {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ url: req.url, body: body.toString() }));
        }
      });
    });
    after(async () => {
      for (const res of held) res.destroy();
      await upstream?.close();
      if (pgSchema) {
        const opened = await openDatabase({ url: dialect.url, dataDir, pgSchema });
        await opened.db.schema.dropSchema(pgSchema).ifExists().cascade().execute();
        await opened.close();
      }
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** Starts the gateway process over this suite's database; answers its ports and a key it issued. */
    async function start(env: Record<string, string> = {}, command: 'gateway' | 'serve' = 'gateway') {
      const [port, gatewayPort] = [await freePort(), await freePort()];
      const args = command === 'gateway' ? ['gateway', '--upstream', upstream.url] : ['serve'];
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
        env: {
          ...process.env,
          KEYGATE_DATA_DIR: dataDir,
          ...(dialect.url ? { KEYGATE_DATABASE_URL: dialect.url, KEYGATE_DATABASE_SCHEMA: pgSchema! } : {}),
          PORT: String(port),
          HOST: '127.0.0.1',
          KEYGATE_GATEWAY_PORT: String(gatewayPort),
          KEYGATE_GATEWAY_UNMATCHED: 'authenticate',
          KEYGATE_LOG_LEVEL: 'warn',
          // Nothing reaches the database before shutdown unless shutdown writes it.
          KEYGATE_ACCESS_LOG_FLUSH_MS: '60000',
          KEYGATE_ADMIN_EMAIL: 'ops@example.com',
          KEYGATE_ADMIN_PASSWORD: PASSWORD,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let log = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        log += chunk.toString();
      });
      const base = `http://127.0.0.1:${port}`;
      await until('the server is healthy', async () => {
        if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
        try {
          return (await fetch(`${base}/ready`)).ok;
        } catch {
          return false;
        }
      });
      const { cookie, csrfToken } = await signInOverHttp(base, 'ops@example.com', PASSWORD);
      const json = { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken };
      const account = (await (
        await fetch(`${base}/api/v1.0/resources`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ type: 'account', name: 'Acme' }),
        })
      ).json()) as { id: string };
      const token = await fetch(`${base}/api/v1.0/resources/${account.id}/tokens`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ name: 'shutdown', level: 'administrator' }),
      });
      assert.equal(token.status, 201);
      const { key, id } = (await token.json()) as { key: string; id: string };
      return {
        child,
        base,
        gateway: `http://127.0.0.1:${gatewayPort}`,
        port,
        gatewayPort,
        key,
        tokenId: id,
        log: () => log,
      };
    }

    /** The access-log paths recorded for a token, read from the database after the process has gone. */
    async function recordedPaths(tokenId: string): Promise<string[]> {
      const opened = await openDatabase({ url: dialect.url, dataDir, pgSchema });
      try {
        const rows = await opened.db
          .selectFrom('access_log')
          .select('path')
          .where('token_id', '=', tokenId)
          .orderBy('path')
          .execute();
        return rows.map((r) => r.path);
      } finally {
        await opened.close();
      }
    }

    it('on SIGTERM refuses new connections, finishes the request under way, writes the access log and exits 0', async () => {
      const s = await start();
      for (let i = 0; i < 3; i++) {
        const me = await fetch(`${s.base}/api/v1.0/me`, { headers: { 'x-api-key': s.key } });
        assert.equal(me.status, 200);
      }
      const quick = await fetch(`${s.gateway}/quick`, { headers: { 'x-api-key': s.key } });
      assert.equal(quick.status, 200);
      const heldBefore = held.length;
      const slow = fetch(`${s.gateway}/slow`, { headers: { 'x-api-key': s.key } });
      await until('the upstream holds the slow request', () => held.length === heldBefore + 1);

      s.child.kill('SIGTERM');
      await until('both ports refuse new connections', async () => (await refused(s.port)) && refused(s.gatewayPort));
      assert.equal(s.child.exitCode, null, 'still running while a request is under way');

      const res = held[heldBefore]!;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ slow: true }));
      const answer = await slow;
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { slow: true });

      assert.deepEqual(await exited(s.child), { code: 0, signal: null });
      assert.doesNotMatch(s.log(), /closing connections still in use/, 'nothing was left open to cut');
      assert.deepEqual(await recordedPaths(s.tokenId), [
        '/api/v1.0/me',
        '/api/v1.0/me',
        '/api/v1.0/me',
        '/quick',
        '/slow',
      ]);
    });

    it('cuts a request that outlasts KEYGATE_SHUTDOWN_TIMEOUT_MS, and still writes the log and exits 0', async () => {
      const s = await start({ KEYGATE_SHUTDOWN_TIMEOUT_MS: '200' });
      const me = await fetch(`${s.base}/api/v1.0/me`, { headers: { 'x-api-key': s.key } });
      assert.equal(me.status, 200);
      const heldBefore = held.length;
      const slow = fetch(`${s.gateway}/slow`, { headers: { 'x-api-key': s.key } }).then(
        (r) => r.status,
        () => 'cut' as const,
      );
      await until('the upstream holds the slow request', () => held.length === heldBefore + 1);
      s.child.kill('SIGTERM');
      assert.deepEqual(await exited(s.child), { code: 0, signal: null });
      assert.equal(await slow, 'cut');
      assert.match(s.log(), /closing connections still in use/);
      assert.ok((await recordedPaths(s.tokenId)).includes('/api/v1.0/me'));
    });

    it('keygate serve: a request whose body is still arriving at SIGTERM is answered, then it exits 0', async () => {
      const s = await start({}, 'serve');
      const me = await fetch(`${s.base}/api/v1.0/me`, { headers: { 'x-api-key': s.key } });
      assert.equal(me.status, 200);
      const body = Buffer.from(`{"key": "${s.key}"${' '.repeat(100_000)}}`);
      // Expect: 100-continue: the server answers 100 once it holds the request, so SIGTERM comes after.
      const req = httpRequest(`${s.base}/api/v1.0/verify`, {
        method: 'POST',
        headers: {
          'x-api-key': s.key,
          'content-type': 'application/json',
          'content-length': String(body.length),
          expect: '100-continue',
        },
      });
      const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
      });
      await new Promise<void>((resolve) => req.once('continue', resolve));
      req.write(body.subarray(0, 1000));
      s.child.kill('SIGTERM');
      await until('the port refuses new connections', () => refused(s.port));
      req.end(body.subarray(1000));
      const { status, text } = await answer;
      assert.equal(status, 200, text);
      assert.equal(JSON.parse(text).code, 'VALID');
      assert.deepEqual(await exited(s.child), { code: 0, signal: null });
      assert.deepEqual(await recordedPaths(s.tokenId), ['/api/v1.0/me', '/api/v1.0/verify']);
    });

    it('with KEYGATE_SHUTDOWN_DELAY_MS, /ready answers 503 while the instance still serves; a second signal exits at once', async () => {
      const s = await start({ KEYGATE_SHUTDOWN_DELAY_MS: '600000' }, 'serve');
      s.child.kill('SIGTERM');
      await until('/ready answers 503', async () => (await fetch(`${s.base}/ready`)).status === 503);
      const ready = (await (await fetch(`${s.base}/ready`)).json()) as { error: { code: string }; checks: unknown };
      assert.equal(ready.error.code, 'UNAVAILABLE');
      assert.deepEqual(ready.checks, { shutdown: 'failed' });
      const me = await fetch(`${s.base}/api/v1.0/me`, { headers: { 'x-api-key': s.key } });
      assert.equal(me.status, 200, 'still serving while load balancers notice');
      s.child.kill('SIGTERM');
      assert.deepEqual(await exited(s.child), { code: 1, signal: null });
    });
  });
}
