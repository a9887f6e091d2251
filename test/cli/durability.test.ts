import { freePort } from '../support/net.js';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const PASSWORD = 'a long enough password';

async function waitForHealth(base: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become healthy');
}

describe('durability [sqlite only]', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keygate-kill-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  async function start(): Promise<{ base: string; child: ChildProcess }> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], {
      env: {
        ...process.env,
        KEYGATE_DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        KEYGATE_LOG_LEVEL: 'warn',
        KEYGATE_ADMIN_EMAIL: 'ops@example.com',
        KEYGATE_ADMIN_PASSWORD: PASSWORD,
      },
      stdio: 'ignore',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base, child);
    return { base, child };
  }

  it('keeps every acknowledged write after SIGKILL', async () => {
    const first = await start();
    const keys: string[] = [];
    try {
      const session = await fetch(`${first.base}/api/v1.0/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'ops@example.com', password: PASSWORD }),
      });
      const cookie = session.headers.get('set-cookie')!.split(';')[0]!;
      const { csrfToken } = (await session.json()) as { csrfToken: string };
      const json = { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken };
      const account = (await (
        await fetch(`${first.base}/api/v1.0/resources`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ type: 'account', name: 'Acme' }),
        })
      ).json()) as { id: string };
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${first.base}/api/v1.0/resources/${account.id}/tokens`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ name: `t${i}` }),
        });
        assert.equal(res.status, 201);
        keys.push(((await res.json()) as { key: string }).key);
      }
    } finally {
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
    }
    const second = await start();
    try {
      for (const key of keys) {
        const me = await fetch(`${second.base}/api/v1.0/me`, { headers: { 'x-api-key': key } });
        assert.equal(me.status, 200, 'a token acknowledged before the crash still works');
      }
    } finally {
      second.child.kill('SIGTERM');
      await new Promise((r) => second.child.once('exit', r));
    }
  });
});
