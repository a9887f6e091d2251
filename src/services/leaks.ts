import { readFile } from 'node:fs/promises';
import { createPublicKey, verify } from 'node:crypto';
import type { Stores } from '../store/index.js';
import type { Origin } from './audit.js';
import { hashesEqual, type KeyRing } from './key-ring.js';
import type { TokenService } from './tokens.js';

/** Who a token deactivated by a leak report was switched off by (its `deactivated_by`; no user has this id). */
export const LEAK_REPORTER = 'leak report';

/** Where a leaked key was reported from: anyone's POST /revoke, or GitHub's secret scanning with where it found the key. */
export type LeakSource = { via: 'report' } | { via: 'github'; url: string | null; source: string | null };

/** One of GitHub's secret-scanning public keys, as its meta API lists them. */
interface GithubPublicKey {
  key_identifier: string;
  key: string;
  is_current?: boolean;
}

/**
 * Acts on leaked keys: a live key of an active token switches its token off at once (as keygate
 * itself, audited as revoked for a leak, so the owner hears `token.deactivated`). Never stores or
 * logs the key: the audit record names the token and the key's display prefix only.
 */
export class LeakService {
  constructor(
    private readonly keys: KeyRing,
    private readonly stores: Stores,
    private readonly tokens: TokenService,
    /** KEYGATE_GITHUB_SCANNING_KEYS: GitHub's public keys file; unset, the GitHub endpoint is off. */
    private readonly githubKeysFile: string | undefined,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Whether the presented text could be a key of this server at all (the checksum holds, or a chosen key could be it). */
  isKeyShaped(key: string): boolean {
    return this.keys.classify(key) !== 'malformed';
  }

  /**
   * Deactivates the token `key` belongs to when it is a live key of an active token; true then.
   * False for anything else (unknown, already inactive, expired, a rolled-out key): the caller must
   * not tell the difference to whoever reported it.
   */
  async revoke(key: string, from: LeakSource, origin: Origin): Promise<boolean> {
    if (!this.isKeyShaped(key)) return false;
    const hash = this.keys.hash(key);
    const entry = await this.stores.tokens.findKey(hash);
    if (!entry || !hashesEqual(entry.key_hash, hash)) return false;
    // A rolled-out key past its grace period opens nothing: nothing to stop.
    if (entry.expires_at !== null && entry.expires_at <= this.clock().toISOString()) return false;
    const reportedBy =
      from.via === 'github'
        ? { reportedBy: 'github-secret-scanning', url: from.url, source: from.source }
        : { reportedBy: 'revoke-endpoint' };
    return this.tokens.deactivateAsSystem(
      entry.token_id,
      LEAK_REPORTER,
      { reason: 'leaked', by: LEAK_REPORTER, ...reportedBy },
      origin,
    );
  }

  /** Whether the GitHub secret-scanning endpoint is configured. */
  get githubEnabled(): boolean {
    return this.githubKeysFile !== undefined;
  }

  /**
   * Whether `signature` (base64 DER ECDSA P-256 over SHA-256) signs `rawBody` with GitHub's key
   * `keyIdentifier`. The keys file is read on every call: reports are rare, and an operator can
   * rotate GitHub's keys without a restart.
   */
  async githubSignatureValid(rawBody: Buffer, keyIdentifier: string, signature: string): Promise<boolean> {
    if (this.githubKeysFile === undefined) return false;
    const keys = await this.githubKeys(this.githubKeysFile);
    const found = keys.find((k) => k.key_identifier === keyIdentifier);
    if (!found) return false;
    try {
      return verify('sha256', rawBody, createPublicKey(found.key), Buffer.from(signature, 'base64'));
    } catch {
      // A key that is not a PEM public key, or a signature that is not DER: not signed by GitHub.
      return false;
    }
  }

  private async githubKeys(path: string): Promise<GithubPublicKey[]> {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { public_keys?: unknown };
    if (!Array.isArray(parsed.public_keys))
      throw new Error(`KEYGATE_GITHUB_SCANNING_KEYS ${path}: no public_keys list`);
    return (parsed.public_keys as GithubPublicKey[]).filter(
      (k) => typeof k?.key_identifier === 'string' && typeof k.key === 'string',
    );
  }
}
