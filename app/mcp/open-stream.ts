// One open GET stream on this replica: writes SSE events from the session's log after its cursor, and
// ends a resumed request stream once that request's response is out.
import { STANDALONE_STREAM, type LoggedEvent } from '../sessions/events.js';
import type { SessionStore } from '../sessions/store.js';

const encoder = new TextEncoder();

export class OpenStream {
  #cursor: string | undefined;
  #pumping: Promise<void> | undefined;
  #again = false;
  #closed = false;
  readonly #keepAlive: NodeJS.Timeout;
  /** Runs when the stream ends (e.g. stops a liveness watch). */
  onEnd: (() => void) | undefined;

  constructor(
    readonly sessionId: string,
    readonly streamId: string,
    private readonly controller: ReadableStreamDefaultController<Uint8Array>,
    private readonly store: SessionStore,
    cursor: string | undefined,
    keepAliveMs: number,
    private readonly onClose: (stream: OpenStream) => void,
  ) {
    this.#cursor = cursor;
    this.#keepAlive = setInterval(() => this.write(': keepalive\n\n'), keepAliveMs);
    this.#keepAlive.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(chunk: string): void {
    if (this.#closed) return;
    try {
      this.controller.enqueue(encoder.encode(chunk));
    } catch {
      this.close();
    }
  }

  /** Delivers what the log has after our cursor; ends a resumed request stream once its response is out. */
  deliver(events: readonly LoggedEvent[]): void {
    for (const event of events) {
      if (this.#closed) return;
      this.#cursor = event.cursor;
      if (event.streamId !== this.streamId || !event.message) continue;
      this.write(`event: message\nid: ${event.eventId}\ndata: ${event.message}\n\n`);
      if (this.streamId !== STANDALONE_STREAM && isResponse(event.message)) this.close();
    }
  }

  /** Reads new events (one read at a time; a notification during a read triggers one more). */
  pump(): void {
    if (this.#closed) return;
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = (async () => {
      do {
        this.#again = false;
        try {
          this.deliver(await this.store.readEvents(this.sessionId, this.#cursor));
        } catch {
          // The store is away: the stream stays open and catches up on the next notification.
        }
      } while (this.#again && !this.#closed);
    })().finally(() => (this.#pumping = undefined));
  }

  close(hint?: string): void {
    if (this.#closed) return;
    if (hint) this.write(hint);
    this.#closed = true;
    clearInterval(this.#keepAlive);
    this.onEnd?.();
    try {
      this.controller.close();
    } catch {
      // already closed by the client
    }
    this.onClose(this);
  }
}

export function isResponse(message: string): boolean {
  try {
    const parsed = JSON.parse(message) as { id?: unknown; result?: unknown; error?: unknown };
    return parsed.id !== undefined && (parsed.result !== undefined || parsed.error !== undefined);
  } catch {
    return false;
  }
}
