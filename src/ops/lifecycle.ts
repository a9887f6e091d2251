import type { Keygate } from '../keygate.js';

/** Keygates that are shutting down: their /ready answers 503 at once. */
const draining = new WeakSet<Keygate>();

/** Marks a keygate as shutting down, so load balancers polling /ready stop sending it requests. */
export function startDraining(kg: Keygate): void {
  draining.add(kg);
}

/** Whether a keygate is shutting down. */
export function isDraining(kg: Keygate): boolean {
  return draining.has(kg);
}

/** Resolves after `ms` (a timer that does not keep the process alive); rejects nothing. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** The promise's value, or `fallback` once `ms` have passed without one. */
export async function within<T>(ms: number, promise: Promise<T>, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
