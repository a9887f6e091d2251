/**
 * Cursors for lists ordered by name: the last row's name and id, so the next page starts after
 * them whatever was renamed or deleted meanwhile. Opaque to callers (base64url of JSON); a cursor
 * names only a position, never grants anything: what follows it is still filtered by reach.
 */
export interface NamePosition {
  name: string;
  id: string;
}

/** The cursor that continues after this row. */
export function nameCursor(position: NamePosition): string {
  return Buffer.from(JSON.stringify([position.name, position.id]), 'utf8').toString('base64url');
}

/** The position a cursor names, or null when it is not one of ours. */
export function readNameCursor(cursor: string): NamePosition | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2) return null;
    const [name, id] = value as unknown[];
    return typeof name === 'string' && typeof id === 'string' ? { name, id } : null;
  } catch {
    return null;
  }
}
