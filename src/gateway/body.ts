import type { IncomingMessage } from 'node:http';
import { fail } from '../domain/errors.js';

/** The body kinds the gateway may read: small ones that can carry a key or a target field. */
export type ReadableKind = 'json' | 'form';

/** Which readable kind a Content-Type names, or null for a body that streams through unread. */
export function readableKind(contentType: string | undefined): ReadableKind | null {
  if (typeof contentType !== 'string') return null;
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  if (type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))) return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  return null;
}

/** Reads a whole request body up to `limit` bytes; more is PAYLOAD_TOO_LARGE (the rest is not read). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) fail('PAYLOAD_TOO_LARGE');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) fail('PAYLOAD_TOO_LARGE');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** A parsed body: a JSON value, or a form's fields (repeated names as arrays, as Fastify parses them). */
export function parseBody(kind: ReadableKind, raw: Buffer): unknown {
  const text = raw.toString('utf8');
  if (kind === 'form') {
    const out: Record<string, string | string[]> = Object.create(null);
    for (const [name, value] of new URLSearchParams(text)) {
      const prior = out[name];
      out[name] = prior === undefined ? value : [prior, value].flat();
    }
    return out;
  }
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('MALFORMED_BODY', 'The request body is not valid JSON.');
  }
  // Parsers disagree on a repeated name (JSON.parse keeps the last, others the first): the gateway
  // could judge one folder while the upstream acts on another, so the body is refused instead.
  const repeated = value !== null && typeof value === 'object' && !Array.isArray(value) ? repeatedRootName(text) : null;
  if (repeated !== null) fail('MALFORMED_BODY', `The JSON body names ${repeated} more than once.`, repeated);
  return value;
}

/** The first name that appears twice at the root of a valid JSON object's text, or null. */
export function repeatedRootName(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j]!)) j++;
      if (text[j] !== ':') continue;
      const name = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(name)) return name;
      seen.add(name);
    }
  }
  return null;
}

/** The body as it goes upstream without the consumed fields; null when nothing was removed (send the original bytes). */
export function withoutFields(
  kind: ReadableKind,
  raw: Buffer,
  body: unknown,
  fields: readonly string[],
): Buffer | null {
  if (fields.length === 0 || body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  if (!fields.some((f) => Object.hasOwn(body, f))) return null;
  if (kind === 'json') {
    const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) };
    for (const f of fields) delete copy[f];
    return Buffer.from(JSON.stringify(copy));
  }
  // Forms are rewritten from the original text, so the other fields keep their order and encoding.
  const drop = new Set(fields);
  const kept = new URLSearchParams();
  for (const [name, value] of new URLSearchParams(raw.toString('utf8'))) if (!drop.has(name)) kept.append(name, value);
  return Buffer.from(kept.toString());
}
