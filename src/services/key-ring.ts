import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import {
  classifyKey,
  createKeyHasher,
  generateKey,
  isAcceptableCustomKey,
  displayPrefix,
  type KeyShape,
} from '../domain/keys.js';

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
