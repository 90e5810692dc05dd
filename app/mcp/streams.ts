// GET streams on any replica: a new standalone stream (primed, so even a stream cut before its first
// message can be resumed) or a resumed one (Last-Event-ID: replay, then keep delivering). Events come
// from the session's log in the store, so a notification sent by any replica reaches the client
// through whichever replica holds its stream. A resumed request stream whose writer died is answered
// with an error here; streams of a session the store no longer has end.
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError, RPC } from '../http/errors.js';
import { parseEventId, STANDALONE_STREAM, unreadableEventId, type LoggedEvent } from '../sessions/events.js';
import type { SessionStore } from '../sessions/store.js';
import { eventsAfter, LOGGED_WITHIN_MS, PRIMING_HOLD_MS, type EventLog, type EventSource } from './event-log.js';
import { watchWriter } from './liveness.js';
import { isResponse, OpenStream } from './open-stream.js';

export interface StreamHubOptions {
  readonly store: SessionStore;
  readonly log: EventLog;
  /** The `retry:` hint: how long a client waits before reconnecting a broken stream. */
  readonly retryMs: number;
  /** Comment lines on idle streams, so proxies and NATs do not drop them. */
  readonly keepAliveMs: number;
  /** Most GET streams one session may hold on this replica; opening one more closes its oldest. Default 8. */
  readonly maxStreamsPerSession?: number;
  /** How often sessions with open streams are checked for a record the store lost. Default `keepAliveMs`. */
  readonly goneCheckMs?: number;
  /**
   * The store no longer has the session (expired, evicted, lost). Returns whether its streams end:
   * false for a session created while the store was away and not saved yet.
   */
  readonly onSessionGone?: (id: string) => boolean;
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' };

/** JSON-RPC code of "the replica running this request stopped before answering" (server error range). */
export const ORPHANED_CALL_CODE = -32003;

function orphanedAnswer(id: unknown): Record<string, unknown> {
  return {
    jsonrpc: '2.0',
    id,
    error: { code: ORPHANED_CALL_CODE, message: 'The server process running this request stopped before answering: the request may or may not have taken effect. Check before retrying anything that is not idempotent.' },
  };
}

export class StreamHub {
  readonly #open = new Map<string, Set<OpenStream>>();
  readonly #unsubscribe: Array<() => void>;
  readonly #maxPerSession: number;
  readonly #goneTimer: NodeJS.Timeout;

  constructor(private readonly o: StreamHubOptions) {
    this.#maxPerSession = Math.max(1, o.maxStreamsPerSession ?? 8);
    this.#unsubscribe = [
      // Only the streams the new events are for read the log: a GET stream sleeps through its calls' answers.
      o.store.onEventsAppended((appended) => {
        for (const [id, streams] of appended) for (const stream of this.#open.get(id) ?? []) if (!streams || streams.has(stream.streamId)) stream.pump();
      }),
      // Announcements may have been missed (the channel went silent or was re-subscribed): catch up.
      o.store.onChannelSuspect(() => {
        for (const set of this.#open.values()) for (const stream of set) stream.pump();
        void this.#checkRecords();
      }),
      // A Redis that comes back may have lost its data (a restart without persistence).
      o.store.onReconnect(() => void this.#checkRecords()),
    ];
    // Expiry and LRU eviction announce nothing: look now and then (one read per streaming session).
    this.#goneTimer = setInterval(() => void this.#checkRecords(), o.goneCheckMs ?? o.keepAliveMs);
    this.#goneTimer.unref();
  }

  /** Ends the streams of every session whose record the store no longer has. */
  async #checkRecords(): Promise<void> {
    await Promise.all(
      [...this.#open.keys()].map(async (id) => {
        const found = await this.o.store.load(id);
        if (found.status === 'found' || found.status === 'unavailable' || !this.#open.has(id)) return;
        if (this.o.onSessionGone?.(id) ?? true) this.closeSession(id);
      }),
    );
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
    let writer: string | undefined;
    if (lastEventId) {
      const parts = parseEventId(lastEventId);
      // Never another session's events, never a guess: a clear 400 the client can act on.
      if (!parts || parts.tag !== session.tag) {
        // An id of a release outside this one's window says so: the operator sees which rollout broke the rule.
        const unreadable = unreadableEventId(lastEventId);
        throw new HttpError(400, RPC.serverError, `Bad Request: ${unreadable ?? 'Last-Event-ID is not an event of this session'}; open a new stream without it`);
      }
      streamId = parts.streamId;
      writer = parts.writer;
    }
    await this.o.log.flush();
    const log = await this.#readLog(session.id, streamId, writer);
    const replay = lastEventId ? eventsAfter(log, lastEventId, streamId) : [];
    const ofStream = streamId === STANDALONE_STREAM ? [] : log.filter((e) => e.streamId === streamId);
    if (streamId !== STANDALONE_STREAM) {
      // A request stream this session never had (or one so old the log forgot it): nothing to resume.
      if (ofStream.length === 0) throw new HttpError(400, RPC.serverError, 'Bad Request: Last-Event-ID names no stream of this session that can be resumed');
      // Its response is out and the client has it: nothing more will come (no content, so no retry).
      if (ofStream.some((e) => e.message && isResponse(e.message)) && !replay.some((e) => isResponse(e.message))) return new Response(null, { status: 204 });
    }
    const cursor = log.at(-1)?.cursor;
    let stream: OpenStream | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        stream = new OpenStream(session.id, streamId, controller, this.o.store, cursor, this.o.keepAliveMs, (s) => this.#forget(s));
      },
      cancel: () => stream?.close(),
    });
    const opened = stream as unknown as OpenStream;
    const existing = [...(this.#open.get(session.id) ?? [])];
    // One stream per stream id here: a new GET for it means the client dropped the old one. Past the cap
    // (made-up resumes cannot get here, but many real ones can), the oldest goes.
    for (const other of existing) if (other.streamId === streamId) other.close();
    const others = existing.filter((s) => !s.closed);
    for (const old of others.slice(0, Math.max(0, others.length - this.#maxPerSession + 1))) old.close();
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
    if (!opened.closed && streamId !== STANDALONE_STREAM) this.#watchWriter(session, opened, ofStream);
    return new Response(body, { status: 200, headers: { ...SSE_HEADERS, 'mcp-session-id': session.id } });
  }

  /**
   * The session's log. For a request stream another process writes and has not logged yet (its writer
   * holds a call's priming event until the answer, `PRIMING_HOLD_MS`), reads again until that writer
   * must have logged it: a resume right after a cut finds its stream rather than a 400.
   */
  async #readLog(id: string, streamId: string, writer: string | undefined): Promise<LoggedEvent[]> {
    const deadline = Date.now() + LOGGED_WITHIN_MS;
    for (;;) {
      let log: LoggedEvent[];
      try {
        log = await this.o.store.readEvents(id);
      } catch {
        throw new HttpError(503, RPC.serverError, 'Session store unavailable: retry shortly', { 'retry-after': '1' });
      }
      // This process's own events were flushed just before the read.
      const waitFor = streamId !== STANDALONE_STREAM && writer !== undefined && writer !== this.o.log.writer;
      if (!waitFor || Date.now() >= deadline || log.some((e) => e.streamId === streamId)) return log;
      await sleep(Math.min(PRIMING_HOLD_MS, Math.max(1, deadline - Date.now())));
    }
  }

  /**
   * A resumed request stream still waiting for its response: if the process that runs the request
   * (the writer of the stream's events) stops proving it is alive, answer for it.
   */
  #watchWriter(session: EventSource, stream: OpenStream, ofStream: readonly LoggedEvent[]): void {
    // The priming event and every later event of the call carry its request ids; its writer runs it.
    const latest = ofStream.filter((e) => e.requests).at(-1);
    const writer = latest && parseEventId(latest.eventId)?.writer;
    // Our own calls answer themselves; without the request ids there is nothing to answer with.
    if (!latest?.requests || !writer || writer === this.o.log.writer) return;
    const requests = latest.requests;
    stream.onEnd = watchWriter(this.o.store, writer, () => !stream.closed, () => void this.#answerOrphan(session, stream, requests));
  }

  async #answerOrphan(session: EventSource, stream: OpenStream, requests: string): Promise<void> {
    try {
      // The response may have been written just before the writer went: then it is the answer.
      const log = await this.o.store.readEvents(session.id);
      if (log.some((e) => e.streamId === stream.streamId && e.message && isResponse(e.message))) return stream.pump();
      const ids = JSON.parse(requests) as unknown[];
      for (const id of ids) this.o.log.append(session, stream.streamId, orphanedAnswer(id) as never);
      // Through the log, so every replica holding a resume of this stream delivers the same answer.
      await this.o.log.flush();
      stream.pump();
    } catch {
      // The store is away: the client's own timeout applies, as before.
    }
  }

  /** Ends a session's streams (deleted, expired, or this replica is stopping). */
  closeSession(id: string, hint?: string): void {
    for (const stream of [...(this.#open.get(id) ?? [])]) stream.close(hint);
  }

  /** Ends every stream with a retry hint, so clients reconnect (elsewhere) at once. */
  closeAll(): void {
    for (const id of [...this.#open.keys()]) this.closeSession(id, 'retry: 100\n\n');
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    clearInterval(this.#goneTimer);
  }

  #forget(stream: OpenStream): void {
    const set = this.#open.get(stream.sessionId);
    set?.delete(stream);
    if (set?.size === 0) this.#open.delete(stream.sessionId);
  }
}
