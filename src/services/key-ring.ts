import { createCipheriv, createDecipheriv, createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';
import { classifyKey, generateKey, isAcceptableCustomKey, displayPrefix, type KeyShape } from '../domain/keys.js';

/**
 * Hashes a key for storage and lookup. With a server secret it is HMAC-SHA256, so a stolen
 * database alone cannot be used to test guesses offline; without, plain SHA-256 (keys carry
 * ≥160 random bits, so a fast hash is enough, unlike passwords). The plain hash is the one-shot
 * `crypto.hash` (Node ≥ 20.12): it skips the Hash object `createHash` builds per call, which is
 * measurable on the verify path, where every request hashes two keys.
 */
export function createKeyHasher(secret: string | undefined): (key: string) => string {
  if (secret) return (key) => createHmac('sha256', secret).update(key).digest('base64url');
  return (key) => hash('sha256', key, 'base64url');
}

/** Constant-time comparison of two hashes. */
export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Everything keygate does with key material, configured once: make, classify, hash, seal. */
export class KeyRing {
  readonly hash: (key: string) => string;

  constructor(
    private readonly config: Pick<
      Config,
      'keyPrefix' | 'keySecret' | 'customKeys' | 'recoverableKeys' | 'encryptionKey'
    >,
  ) {
    this.hash = createKeyHasher(config.keySecret);
  }

  generate(): string {
    return generateKey(this.config.keyPrefix);
  }

  classify(key: string): KeyShape {
    return classifyKey(key, this.config.keyPrefix, this.config.customKeys);
  }

  isAcceptableCustomKey(key: string): boolean {
    return isAcceptableCustomKey(key, this.config.keyPrefix, this.config.customKeys.minLength);
  }

  displayPrefix(key: string): string {
    return displayPrefix(key, this.config.keyPrefix);
  }

  /** Whether keys are also stored encrypted, so their owner can see them again. */
  get recoverable(): boolean {
    return this.config.recoverableKeys && this.config.encryptionKey !== undefined;
  }

  /** Encrypts a key with AES-256-GCM, bound to its token id so a ciphertext cannot be moved to another token. */
  seal(key: string, tokenId: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.config.encryptionKey!, iv);
    cipher.setAAD(Buffer.from(tokenId));
    const ct = Buffer.concat([cipher.update(key, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url');
  }

  /** Decrypts a sealed key; throws when the ciphertext or the encryption key is wrong. */
  open(sealed: string, tokenId: string): string {
    const buf = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.config.encryptionKey!, buf.subarray(0, 12));
    decipher.setAAD(Buffer.from(tokenId));
    decipher.setAuthTag(buf.subarray(12, 28));
    return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString('utf8');
  }
}
