import type { TokenStore } from '../store/tokens.js';

/**
 * Records when and from where each token was last used without a database write per request:
 * uses are coalesced in memory (one entry per token) and flushed in one transaction every
 * `flushMs`, and on close.
 */
export class UsageRecorder {
  private pending = new Map<string, { at: number; ip: string | null }>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly tokens: TokenStore,
    private readonly flushMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Notes a use (time in epoch ms); cheap enough for the hot path. */
  record(tokenId: string, at: number, ip: string | null): void {
    this.pending.set(tokenId, { at, ip });
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes what is pending; concurrent calls are serialised. */
  flush(): Promise<void> {
    this.timer = undefined;
    const batch = [...this.pending].map(([id, u]) => ({ id, at: new Date(u.at).toISOString(), ip: u.ip }));
    this.pending = new Map();
    this.flushing = this.flushing.then(() => this.tokens.recordUsage(batch)).catch(this.onError);
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.flush();
  }
}
