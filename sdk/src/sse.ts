/** One Server-Sent Event as dispatched: its type (default `message`), data lines joined, and the last id seen. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * Reads a text/event-stream body as the HTML standard describes: lines end in CRLF, LF or CR; a blank
 * line dispatches; `:` starts a comment; `retry` sets the reconnection delay. Written out rather than
 * taken from a package: it is this short, and the SDK should carry few dependencies.
 * @example
 * for await (const event of readSse(response.body!, { onRetry: (ms) => (delay = ms) })) console.log(event.event);
 */
export async function* readSse(
  body: ReadableStream<Uint8Array>,
  hooks: { lastEventId?: string | undefined; onRetry?: (ms: number) => void } = {},
): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id = hooks.lastEventId;
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      let lines = buffer.split(/\r\n|\r(?!$)|\n/);
      buffer = done ? '' : lines.pop()!;
      if (done && lines.at(-1) === '') lines = lines.slice(0, -1);
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id' && !value.includes('\0')) id = value;
        else if (field === 'retry' && /^\d+$/.test(value)) hooks.onRetry?.(Number(value));
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
    await body.cancel().catch(() => {});
  }
}
