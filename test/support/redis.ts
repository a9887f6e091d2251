import { freePort } from './net.js';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Whether tests that need Redis can run: `redis-server` (Debian's redis-server package) is on the
 * PATH. With KEYGATE_TEST_REQUIRE_REDIS=1 (as CI sets it) a missing server fails the run instead of
 * skipping, so a green CI always means the Redis suites ran.
 */
export const REDIS_PRESENT = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.KEYGATE_TEST_REQUIRE_REDIS === '1')
      throw new Error('KEYGATE_TEST_REQUIRE_REDIS=1 but redis-server is not installed');
    return false;
  }
})();

/** A Redis server of the test's own, on a free loopback port: tests stop and restart it to cut the channel. */
export interface TestRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: no goodbye to clients). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  dispose(): Promise<void>;
}

/** Starts a throw-away redis-server (no persistence) and waits until it answers. */
export async function startTestRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'keygate-redis-'));
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      child!.stdout!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes('Ready to accept connections')) resolve();
      });
      child!.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready`)));
    });
    child.stdout!.resume();
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
