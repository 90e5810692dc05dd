// GET streams on any replica: a new standalone stream (primed, so even a stream cut before its first
// message can be resumed) or a resumed one (Last-Event-ID: replay, then keep delivering). Events come
// from the session's log in the store, so a notification sent by any replica reaches the client
// through whichever replica holds its stream.
import { HttpError, RPC } from '../http/errors.js';
import { parseEventId, STANDALONE_STREAM, unreadableEventId, type LoggedEvent } from '../sessions/events.js';
import type { SessionStore } from '../sessions/store.js';
import { eventsAfter, type EventLog, type EventSource } from './event-log.js';

export interface StreamHubOptions {
  readonly store: SessionStore;
  readonly log: EventLog;
  /** The `retry:` hint: how long a client waits before reconnecting a broken stream. */
  readonly retryMs: number;
  /** Comment lines on idle streams, so proxies and NATs do not drop them. */
  readonly keepAliveMs: number;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' };
const encoder = new TextEncoder();

/** One open GET stream on this replica. */
class OpenStream {
  #cursor: string | undefined;
  #pumping: Promise<void> | undefined;
  #again = false;
  #closed = false;
  readonly #keepAlive: NodeJS.Timeout;

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
    try {
      this.controller.close();
    } catch {
      // already closed by the client
    }
    this.onClose(this);
  }
}

function isResponse(message: string): boolean {
  try {
    const parsed = JSON.parse(message) as { id?: unknown; result?: unknown; error?: unknown };
    return parsed.id !== undefined && (parsed.result !== undefined || parsed.error !== undefined);
  } catch {
    return false;
  }
}

export class StreamHub {
  readonly #open = new Map<string, Set<OpenStream>>();
  readonly #unsubscribe: Array<() => void>;

  constructor(private readonly o: StreamHubOptions) {
    this.#unsubscribe = [
      o.store.onEventsAppended((ids) => {
        for (const id of ids) for (const stream of this.#open.get(id) ?? []) stream.pump();
      }),
      // Announcements may have been missed (the channel went silent or was re-subscribed): catch up.
      o.store.onChannelSuspect(() => {
        for (const set of this.#open.values()) for (const stream of set) stream.pump();
      }),
    ];
  }

  /** Streams open on this replica. */
  get size(): number {
    let n = 0;
    for (const set of this.#open.values()) n += set.size;
    return n;
  }

  /** Answers a GET on `/mcp` for a live session. */
  async open(session: EventSource, request: Request): Promise<Response> {
    if (!request.headers.get('accept')?.includes('text/event-stream')) {
      throw new HttpError(406, RPC.serverError, 'Not Acceptable: Client must accept text/event-stream');
    }
    const lastEventId = request.headers.get('last-event-id');
    let streamId = STANDALONE_STREAM;
    if (lastEventId) {
      const parts = parseEventId(lastEventId);
      // Never another session's events, never a guess: a clear 400 the client can act on.
      if (!parts || parts.tag !== session.tag) {
        // An id of a release outside this one's window says so: the operator sees which rollout broke the rule.
        const unreadable = unreadableEventId(lastEventId);
        throw new HttpError(400, RPC.serverError, `Bad Request: ${unreadable ?? 'Last-Event-ID is not an event of this session'}; open a new stream without it`);
      }
      streamId = parts.streamId;
    }
    await this.o.log.flush();
    let log: LoggedEvent[];
    try {
      log = await this.o.store.readEvents(session.id);
    } catch {
      throw new HttpError(503, RPC.serverError, 'Session store unavailable: retry shortly', { 'retry-after': '1' });
    }
    const replay = lastEventId ? eventsAfter(log, lastEventId, streamId) : [];
    const cursor = log.at(-1)?.cursor;
    let stream: OpenStream | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        stream = new OpenStream(session.id, streamId, controller, this.o.store, cursor, this.o.keepAliveMs, (s) => this.#forget(s));
      },
      cancel: () => stream?.close(),
    });
    const opened = stream as unknown as OpenStream;
    if (streamId === STANDALONE_STREAM) {
      // One standalone stream per session here: a new GET means the client dropped the old one.
      for (const other of this.#open.get(session.id) ?? []) if (other.streamId === STANDALONE_STREAM) other.close();
    }
    let set = this.#open.get(session.id);
    if (!set) {
      set = new Set();
      this.#open.set(session.id, set);
    }
    set.add(opened);
    // The first bytes go out at once: headers flushed, a retry hint, and for a new stream a primed id to
    // resume from even if the stream breaks before its first message.
    if (lastEventId) opened.write(`retry: ${this.o.retryMs}\n: resumed\n\n`);
    else opened.write(`id: ${this.o.log.append(session, STANDALONE_STREAM, {})}\nretry: ${this.o.retryMs}\ndata: \n\n`);
    opened.deliver(replay.map((e) => ({ ...e, cursor: cursor ?? e.cursor })));
    // Anything appended between our read and the registration above.
    opened.pump();
    return new Response(body, { status: 200, headers: { ...SSE_HEADERS, 'mcp-session-id': session.id } });
  }

  /** Ends a session's streams (deleted, expired, or this replica is stopping). */
  closeSession(id: string, hint?: string): void {
    for (const stream of [...(this.#open.get(id) ?? [])]) stream.close(hint);
  }

  /** Ends every stream with a retry hint, so clients reconnect (elsewhere) at once. */
  closeAll(): void {
    for (const id of [...this.#open.keys()]) this.closeSession(id, 'retry: 100\n\n');
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
  }

  #forget(stream: OpenStream): void {
    const set = this.#open.get(stream.sessionId);
    set?.delete(stream);
    if (set?.size === 0) this.#open.delete(stream.sessionId);
  }
}
