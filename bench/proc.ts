import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Child-process bookkeeping for the benchmark: everything started here is pinned to a core with
 * `taskset`, remembered, and killed on exit (normal end, error, SIGINT/SIGTERM). Only processes
 * started by this harness are ever signalled, each by its own pid.
 */

const live = new Set<ChildProcess>();
let hooksInstalled = false;
/** Set once a signal asked us to stop: nothing new is started after that. */
let stopping = false;

/** Whether a signal asked the benchmark to stop. */
export function isStopping(): boolean {
  return stopping;
}

/** Kills every child still running: SIGTERM, then SIGKILL after `graceMs`. */
export async function killAll(graceMs = 3_000): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c, graceMs)));
}

/**
 * Installs the exit hooks once. `onSignal` runs the caller's own cleanup (temp dirs); children are
 * killed either way, and synchronously with SIGKILL on a plain process exit as a last resort.
 */
export function installExitHooks(onSignal: () => Promise<void>): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping benchmark processes…\n`);
    const hardStop = setTimeout(() => process.exit(130), 8_000);
    hardStop.unref();
    void killAll()
      .then(onSignal)
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    live.delete(child);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      live.delete(child);
      resolve();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      // Give the kernel a moment; do not wait forever on a zombie.
      setTimeout(done, 500).unref();
    }, graceMs);
    child.once('exit', done);
    child.kill('SIGTERM');
  });
}

/** A process started by the harness, pinned to one core, with the tail of its output kept. */
export interface Pinned {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  /** Last ~64 KB of stdout and stderr together. */
  output(): string;
  /** Full stdout (only when `keepStdout`), for wrk's report. */
  stdout(): string;
  stop(graceMs?: number): Promise<void>;
}

export interface PinnedOptions {
  name: string;
  /** A core, or a taskset list such as '0-1' for a process the scheduler may move. */
  cpu: number | string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  keepStdout?: boolean;
}

const TAIL = 64 * 1024;

/** Starts `taskset -c <cpu> <command> <args…>`; taskset execs the command, so the pid is the command's. */
export function spawnPinned(opts: PinnedOptions): Pinned {
  if (stopping) throw new Error(`not starting ${opts.name}: the benchmark is stopping`);
  const child = spawn('taskset', ['-c', String(opts.cpu), opts.command, ...opts.args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let tail = '';
  let out = '';
  const keep = (chunk: Buffer): void => {
    tail += chunk.toString('utf8');
    if (tail.length > TAIL) tail = tail.slice(-TAIL);
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    keep(chunk);
    if (opts.keepStdout) out += chunk.toString('utf8');
  });
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      keep(Buffer.from(`spawn error: ${err.message}\n`));
      live.delete(child);
      resolve('spawn-error');
    });
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return {
    name: opts.name,
    child,
    exited,
    output: () => tail,
    stdout: () => out,
    stop: (graceMs = 3_000) => stopChild(child, graceMs),
  };
}

/** Polls `url` until it answers 200, the process exits, or `timeoutMs` passes. */
export async function waitForHttp(url: string, proc: Pinned, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | string | undefined;
  void proc.exited.then((c) => {
    exited = c;
  });
  let last = 'no answer';
  for (let attempt = 0; attempt < 10_000 && Date.now() < deadline; attempt++) {
    if (exited !== undefined) throw new Error(`${proc.name} exited (${exited}) before it was ready\n${proc.output()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${proc.name} not ready at ${url} within ${timeoutMs} ms (${last})\n${proc.output()}`);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** Text with anything shaped like a keygate key shortened to `kg_…`, for messages a benchmark prints. */
export function redactKeys(text: string): string {
  return text.replace(/kg_[0-9A-Za-z_-]{8,}/g, 'kg_…');
}

/**
 * Runs a benchmark's main function: a failure is printed (keys redacted), every child process is
 * stopped and the exit code set; a stop by signal is left to the exit hook, which is cleaning up.
 */
export function runBenchmark(main: () => Promise<void>): void {
  main().catch(async (err: unknown) => {
    if (isStopping()) return;
    process.stderr.write(
      `benchmark failed: ${redactKeys(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n`,
    );
    await killAll();
    process.exitCode = 1;
  });
}
