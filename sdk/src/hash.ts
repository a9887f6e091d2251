/**
 * SHA-256 as hex, for cache keys that must never be the key itself. Uses node:crypto when the runtime
 * has it (Node, Deno, Bun: synchronous once loaded, which keeps a warm `verify()` cheap), else Web
 * Crypto. node:crypto is imported dynamically, through a variable, so this module loads in browsers and
 * edge runtimes and bundlers do not try to resolve it.
 */
type SyncHash = (text: string) => string;

let sync: SyncHash | null | undefined;
let loading: Promise<SyncHash | null> | undefined;

const NODE_CRYPTO = 'node:crypto';

function loadNodeHash(): Promise<SyncHash | null> {
  loading ??= (import(NODE_CRYPTO) as Promise<typeof import('node:crypto')>).then(
    (crypto) => {
      // The one-shot hash (Node ≥ 20.12) skips a Hash object per call: the warm verify() is mostly this.
      sync =
        typeof crypto.hash === 'function'
          ? (text) => crypto.hash('sha256', text, 'hex')
          : (text) => crypto.createHash('sha256').update(text).digest('hex');
      return sync;
    },
    () => {
      sync = null;
      return null;
    },
  );
  return loading;
}

async function subtleHash(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  let hex = '';
  for (const byte of new Uint8Array(digest)) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/**
 * The SHA-256 of `text` in hex: synchronously when node:crypto is loaded, else a promise.
 * @example
 * const id = await sha256Hex('kg_…');
 */
export function sha256Hex(text: string): string | Promise<string> {
  if (sync) return sync(text);
  if (sync === null) return subtleHash(text);
  return loadNodeHash().then((hash) => (hash ? hash(text) : subtleHash(text)));
}
