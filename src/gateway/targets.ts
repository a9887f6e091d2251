import type { Change } from '../domain/change.js';

/** Looks a route target up: a keygate id or an external id (of a type), to a keygate id or null. */
export type ResolveRef = (ref: string, type: string | undefined) => Promise<string | null>;

const MAX_ENTRIES = 100_000;

/**
 * Remembers which keygate resource a route target names, so a warm request resolves it without
 * the database. Ids do not change, but a resource can be deleted and its external id given to a
 * new one, and a missing one can appear: every resource change drops the answers that mention
 * that resource and every "none" answer.
 */
export class TargetResolver {
  private readonly found = new Map<string, string>();
  private readonly missing = new Set<string>();

  constructor(private readonly resolve: ResolveRef) {}

  /** The keygate id for a target value, from memory when it can. */
  lookup(ref: string, type: string | undefined): string | null | Promise<string | null> {
    const k = `${type ?? ''}\u0000${ref}`;
    const hit = this.found.get(k);
    if (hit !== undefined) return hit;
    if (this.missing.has(k)) return null;
    return this.resolve(ref, type).then((id) => {
      if (this.found.size + this.missing.size >= MAX_ENTRIES) this.clear();
      if (id === null) this.missing.add(k);
      else this.found.set(k, id);
      return id;
    });
  }

  /** Forgets what committed changes may have made wrong (subscribe it to the change feed). */
  drop(changes: readonly Change[]): void {
    let resources = false;
    const gone = new Set<string>();
    for (const c of changes)
      if (c.kind === 'resource') {
        resources = true;
        gone.add(c.id);
      }
    if (!resources) return;
    this.missing.clear();
    for (const [k, id] of this.found) if (gone.has(id)) this.found.delete(k);
  }

  clear(): void {
    this.found.clear();
    this.missing.clear();
  }
}
