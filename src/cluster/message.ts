import type { Change } from '../domain/change.js';

/** One message on the change channel: who committed, when (epoch ms), and what changed. */
export interface ChannelMessage {
  /** The sending instance's id: an instance ignores its own messages (it applied them at commit). */
  origin: string;
  at: number;
  changes: Change[];
}

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; messages stay well below it. */
export const MAX_MESSAGE_BYTES = 7_000;
const MAX_ID = 200;

/**
 * Encodes a transaction's changes as one or more channel messages, each under `maxBytes` (ids
 * are ASCII, so characters are bytes). A transaction that changed many rows (a bulk import)
 * becomes several messages; each is applied on its own, which is safe because applying a change
 * only drops cache entries.
 */
export function encodeMessages(
  origin: string,
  at: number,
  changes: readonly Change[],
  maxBytes = MAX_MESSAGE_BYTES,
): string[] {
  const head = `{"o":${JSON.stringify(origin)},"t":${at},"c":[`;
  const messages: string[] = [];
  let parts: string[] = [];
  let size = head.length + 2;
  for (const change of changes) {
    const part = JSON.stringify(change);
    if (parts.length > 0 && size + part.length + 1 > maxBytes) {
      messages.push(`${head}${parts.join(',')}]}`);
      parts = [];
      size = head.length + 2;
    }
    parts.push(part);
    size += part.length + 1;
  }
  if (parts.length > 0) messages.push(`${head}${parts.join(',')}]}`);
  return messages;
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID;

/** Reads one change, or null when it is not one keygate sends. */
function readChange(v: unknown): Change | null {
  if (typeof v !== 'object' || v === null) return null;
  const c = v as Record<string, unknown>;
  switch (c.kind) {
    case 'token':
    case 'user':
    case 'resource':
      return isId(c.id) ? { kind: c.kind, id: c.id } : null;
    case 'keys':
      return isId(c.tokenId) ? { kind: 'keys', tokenId: c.tokenId } : null;
    case 'membership':
      return isId(c.userId) && isId(c.resourceId)
        ? { kind: 'membership', userId: c.userId, resourceId: c.resourceId }
        : null;
    default:
      return null;
  }
}

/**
 * Decodes a channel message, or null when it is not one: anyone who can NOTIFY on the database
 * or PUBLISH on Redis can put text on the channel, so nothing in it is trusted beyond its shape.
 */
export function decodeMessage(text: string): ChannelMessage | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const { o, t, c } = raw as Record<string, unknown>;
  if (!isId(o) || typeof t !== 'number' || !Number.isFinite(t) || !Array.isArray(c)) return null;
  const changes: Change[] = [];
  for (const item of c) {
    const change = readChange(item);
    if (change === null) return null;
    changes.push(change);
  }
  return { origin: o, at: t, changes };
}
