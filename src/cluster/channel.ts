/** What a channel tells the cluster link. */
export interface ChannelEvents {
  /** A message arrived (any text: the link decodes and checks it). */
  message(text: string): void;
  /** Connected and listening: from now on every message sent is heard. */
  up(): void;
  /** Lost: messages sent from now until the next `up` may never be heard. */
  down(err: Error): void;
}

/** The receiving side of a change channel: connects, listens, notices loss, reconnects. */
export interface Channel {
  /** Connects; resolves once the first attempt succeeded or failed (it keeps retrying after a failure). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Delay before reconnect attempt `n` (0-based): 100 ms doubling to 2 s. */
export function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** attempt, 2_000);
}
