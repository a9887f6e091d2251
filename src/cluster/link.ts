import type { ClusterConfig } from '../config.js';

/** What /ready and /metrics are told about the change channel. */
export interface ChannelStatus {
  channel: ClusterConfig['channel'];
  /** False while the channel is lost: caches then use the fallback TTL. Always true for `none`. */
  connected: boolean;
}

/**
 * Connects this instance's change feed to every other instance's (PostgreSQL LISTEN/NOTIFY or
 * Redis pub/sub). Placeholder until the channel lands: `none` only.
 */
export class ClusterLink {
  constructor(private readonly config: ClusterConfig) {}

  status(): ChannelStatus {
    return { channel: this.config.channel, connected: true };
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}
