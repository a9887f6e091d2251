import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/net.js';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'src/cli/main.ts');

/**
 * How the server is started. A real `keygate serve` process either way; the bundle starts in about
 * 1 s where tsx needs about 1.7 s (it transpiles every module on each start), and these suites start
 * 42 processes. The bundle is built from today's src/ by esbuild (which tsx itself runs on), so it
 * never runs a stale dist/. Without esbuild the suites fall back to tsx.
 */
export interface Launcher {
  how: 'esbuild bundle of src/cli/main.ts' | 'tsx src/cli/main.ts';
  args: string[];
  dispose(): void;
}

/** Bundles src/cli/main.ts (packages left external) into node_modules/.cache, where node finds the packages. */
export async function prepareLauncher(): Promise<Launcher> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return { how: 'tsx src/cli/main.ts', args: ['--import', 'tsx', MAIN], dispose() {} };
  }
  const dir = mkdtempSync(join(ROOT, 'node_modules/.cache-keygate-durability-'));
  const outfile = join(dir, 'main.mjs');
  await esbuild.build({
    entryPoints: [MAIN],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'warning',
  });
  return {
    how: 'esbuild bundle of src/cli/main.ts',
    args: [outfile],
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The environment without the developer's own KEYGATE_* settings, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KEYGATE_') && k !== 'NODE_OPTIONS') out[k] = v;
  return { ...out, ...env };
}

/** One running `keygate serve` process. */
export interface ServerProcess {
  base: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr, for the key-leak check and failure messages. */
  output(): string;
  /** SIGKILL: no flush, no shutdown hook; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, the clean stop. */
  stop(): Promise<void>;
}

/** Starts `keygate serve` with `env` on a fresh port and waits until /health answers. */
export async function startServer(launcher: Launcher, env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, launcher.args, {
    env: cleanEnv({ PORT: String(port), HOST: '127.0.0.1', KEYGATE_LOG_LEVEL: 'warn', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (c: Buffer) => {
    output += c.toString();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`keygate exited (${child.exitCode ?? child.signalCode}): ${output.slice(-2000)}`);
    if (i > 600) {
      child.kill('SIGKILL');
      throw new Error(`keygate did not become healthy: ${output.slice(-2000)}`);
    }
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return { base, child, output: () => output, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
