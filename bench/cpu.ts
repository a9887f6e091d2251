import { readFileSync } from 'node:fs';

/**
 * Who used the server core during a run, from /proc (Linux): the server process itself, other
 * processes, interrupts, or nobody. On a shared machine this tells a slow server from a busy
 * neighbour. Returns nulls where /proc cannot be read.
 */
export interface CpuSnapshot {
  /** user, nice, system, idle, iowait, irq, softirq, steal ticks of one core. */
  core: number[] | null;
  /** utime + stime ticks of the process (all its threads). */
  proc: number | null;
}

export interface CpuShare {
  /** Shares of the core's time during the run, in percent. */
  serverPct: number;
  otherPct: number;
  irqPct: number;
  idlePct: number;
  stealPct: number;
}

function coreTicks(cpu: number): number[] | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`cpu${cpu} `));
    return line ? line.trim().split(/\s+/).slice(1, 9).map(Number) : null;
  } catch {
    return null;
  }
}

function procTicks(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

export function cpuSnapshot(cpu: number, pid: number | undefined): CpuSnapshot {
  return { core: coreTicks(cpu), proc: procTicks(pid) };
}

export function cpuShare(before: CpuSnapshot, after: CpuSnapshot): CpuShare | null {
  if (!before.core || !after.core || before.proc === null || after.proc === null) return null;
  const d = after.core.map((v, i) => v - (before.core![i] ?? 0));
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = d;
  const total = user + nice + system + idle + iowait + irq + softirq + steal;
  if (total <= 0) return null;
  const server = Math.min(after.proc - before.proc, user + nice + system);
  const pct = (n: number): number => Math.round((1000 * n) / total) / 10;
  return {
    serverPct: pct(server),
    otherPct: pct(Math.max(0, user + nice + system - server)),
    irqPct: pct(irq + softirq),
    idlePct: pct(idle + iowait),
    stealPct: pct(steal),
  };
}
