/**
 * The key format: `<prefix><30 base62 random chars><6 base62 chars of CRC32>`.
 * 30 base62 characters carry 178 bits, above the 160 we promise; the checksum lets any
 * malformed or mistyped key be refused without a storage lookup, and lets secret scanners
 * tell real keys from look-alikes (the way GitHub's tokens work).
 */
export const RANDOM_LENGTH = 30;
export const CHECKSUM_LENGTH = 6;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Characters a chosen (custom) key may use: printable ASCII without spaces or quotes. */
const CUSTOM_KEY_RE = /^[\x21\x23-\x26\x28-\x7e]+$/;
export const MAX_KEY_LENGTH = 256;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32 (IEEE) of an ASCII string. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function toBase62(value: number, width: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[v % 62] + out;
    v = Math.floor(v / 62);
  }
  return out;
}

/**
 * Random base62 text of the given length, unbiased (rejection sampling). Draws from the Web Crypto
 * CSPRNG (`globalThis.crypto`, in Node ≥ 19 and every browser), so this module needs no node:crypto
 * and the SDK can run it anywhere; hashing lives in the server's KeyRing.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // getRandomValues fills at most 65,536 bytes per call.
    const bytes = crypto.getRandomValues(new Uint8Array(Math.min(2 * (length - out.length), 65_536)));
    for (const b of bytes) {
      if (b < 248) out += BASE62[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** Makes a new key: prefix, random part, checksum of the random part. */
export function generateKey(prefix: string): string {
  const random = randomBase62(RANDOM_LENGTH);
  return prefix + random + toBase62(crc32(random), CHECKSUM_LENGTH);
}

export type KeyShape = 'generated' | 'custom' | 'malformed';

/**
 * Classifies a presented key without touching storage. A key that starts with the prefix must
 * be a well-formed generated key; anything else can only be a chosen key, and only when the
 * operator allows chosen keys.
 */
export function classifyKey(
  key: string,
  prefix: string,
  customKeys: { allowed: boolean; minLength: number },
): KeyShape {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return 'malformed';
  if (key.startsWith(prefix)) return isWellFormedGeneratedKey(key, prefix) ? 'generated' : 'malformed';
  return customKeys.allowed && isAcceptableCustomKey(key, prefix, customKeys.minLength) ? 'custom' : 'malformed';
}

/** The value of a base62 digit, or -1 for any other character code. */
function base62Digit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 65 && c <= 90) return c - 55; // A-Z
  if (c >= 97 && c <= 122) return c - 61; // a-z
  return -1;
}

/**
 * True when the key has the generated shape and its checksum matches. One pass over the
 * characters, no substrings: every request with a key runs this, twice on /verify.
 */
export function isWellFormedGeneratedKey(key: string, prefix: string): boolean {
  if (key.length !== prefix.length + RANDOM_LENGTH + CHECKSUM_LENGTH || !key.startsWith(prefix)) return false;
  const end = prefix.length + RANDOM_LENGTH;
  let crc = 0xffffffff;
  for (let i = prefix.length; i < end; i++) {
    const c = key.charCodeAt(i);
    if (base62Digit(c) < 0) return false;
    crc = CRC_TABLE[(crc ^ c) & 0xff]! ^ (crc >>> 8);
  }
  // The checksum is CRC32 written as 6 base62 digits; 62^6 > 2^32, so reading the digits back
  // gives the CRC itself exactly when they are its encoding.
  let written = 0;
  for (let i = end; i < key.length; i++) {
    const d = base62Digit(key.charCodeAt(i));
    if (d < 0) return false;
    written = written * 62 + d;
  }
  return written === (crc ^ 0xffffffff) >>> 0;
}

/** Whether an administrator's chosen key value is acceptable. */
export function isAcceptableCustomKey(key: string, prefix: string, minLength: number): boolean {
  return key.length >= minLength && key.length <= MAX_KEY_LENGTH && CUSTOM_KEY_RE.test(key) && !key.startsWith(prefix);
}

/** The part of a key that list views may show so a person can recognise it. */
export function displayPrefix(key: string, prefix: string): string {
  const shown = key.startsWith(prefix) ? prefix.length + 4 : 4;
  return key.slice(0, Math.min(shown, Math.floor(key.length / 4)));
}
