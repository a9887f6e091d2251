import { freePort, signInOverHttp } from '../support/net.js';
import { recordOutput } from '../support/run-record.js';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
export const ADMIN = { email: 'ops@example.com', password: 'a long enough password' };

/** One real `keygate serve` process. */
export interface Instance {
  name: string;
  base: string;
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr, for the key-leak check. */
  output(): string;
  stop(): Promise<void>;
}

/** The environment without the developer's own KEYGATE_* settings, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KEYGATE_') && k !== 'NODE_OPTIONS') out[k] = v;
  return { ...out, ...env };
}

/** Starts `keygate serve` with `env` and waits until /health answers. */
export async function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], {
    env: cleanEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      KEYGATE_LOG_LEVEL: 'warn',
      KEYGATE_ADMIN_EMAIL: ADMIN.email,
      KEYGATE_ADMIN_PASSWORD: ADMIN.password,
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${output.slice(-2000)}`);
    if (i > 600) throw new Error(`${name} did not become healthy: ${output.slice(-2000)}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    base,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      recordOutput(`instance-${name}`, output);
    },
  };
}

/** A signed-in administrator's session on one instance: JSON calls with cookie and CSRF token. */
export async function signIn(
  base: string,
  email = ADMIN.email,
  password = ADMIN.password,
): Promise<(method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>> {
  const { cookie, csrfToken } = await signInOverHttp(base, email, password);
  return async (method, path, body) => {
    const r = await fetch(`${base}/api/v1.0${path}`, {
      method,
      headers: {
        cookie,
        'x-csrf-token': csrfToken,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  };
}
