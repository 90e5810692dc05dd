// Gives every SSE event an id at once and writes events to the store behind the response, batched
// every few milliseconds: resumability costs the request path no round trip, and nothing is dropped
// while this process lives (a failed flush is retried).
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import type { EventStore, JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { EVENT_LIMITS, formatEventId, parseEventId, STANDALONE_STREAM, trimEvents, type LoggedEvent, type StoredEvent } from '../sessions/events.js';
import type { SessionStore } from '../sessions/store.js';
import { LivenessBeacon } from './liveness.js';
import { takeRide } from './ttl-ride.js';

/** What the log needs of a session. */
export interface EventSource {
  readonly id: string;
  readonly tag: string;
  /** How long the session's records live from now. */
  ttlMs(): number;
  /** False while the session replays its initialize on a restore: those answers are for no client. */
  readonly recordsEvents: boolean;
  /** True once the session has ended in this process. */
  readonly closed?: boolean;
}

/**
 * The ids of the requests a POST carries, for the priming event of the stream the SDK transport opens
 * for it: the SDK keeps that mapping private, but stores the priming event inside `handleRequest`.
 */
const postRequestIds = new AsyncLocalStorage<string>();

/** Runs `handle` (the transport's handleRequest) so that the POST stream it opens records its request ids. */
export function withRequestIds<T>(body: unknown, handle: () => Promise<T>): Promise<T> {
  const messages = (Array.isArray(body) ? body : [body]) as Array<{ id?: unknown; method?: unknown } | null>;
  const ids = messages.filter((m) => m && typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number')).map((m) => m?.id);
  if (ids.length === 0) return handle();
  const json = JSON.stringify(ids);
  // Ids as large as a client likes are not worth keeping: such a call cannot fail fast elsewhere.
  return Buffer.byteLength(json) > EVENT_LIMITS.requestIdsBytes ? handle() : postRequestIds.run(json, handle);
}

interface Pending {
  readonly events: StoredEvent[];
  ttlMs: number;
  /** The session's sliding expiry (Unix ms) riding on the append; undefined unless a call's ride was taken. */
  expiresAt: number | undefined;
  /** A call's TTL extension rides on this append: what to call if the store has no record any more. */
  gone: (() => void) | undefined;
  /** Only priming events of request streams so far: they wait for their answers until then (ms epoch). */
  heldUntil: number | undefined;
}

const RETRY_MS = 500;
/** Events wait this long to share a pipeline with others: fewer round trips, a few ms more to replay. */
const FLUSH_MS = 5;
/**
 * A POST stream's priming event waits this long for the call's answer, so a short call is logged in one
 * script call. A resume arriving meanwhile waits for it (`LOGGED_WITHIN_MS`) rather than finding no stream.
 */
export const PRIMING_HOLD_MS = 25;
/**
 * By then a live writer has logged what it held (the hold, its flush, a loaded event loop). Only a resume
 * of a stream the log does not show waits this long: one cut at once, or an id the client made up.
 */
export const LOGGED_WITHIN_MS = PRIMING_HOLD_MS + 225;

export class EventLog {
  readonly #pending = new Map<string, Pending>();
  /** This process, in every id it mints: ids stay unique across replicas without coordination. */
  readonly #writer = randomBytes(5).toString('hex');
  readonly #beacon: LivenessBeacon;
  #sequence = 0;
  #timer: NodeJS.Timeout | undefined;
  #dueAt = 0;
  #flushing: Promise<void> | undefined;
  #failing = false;

  constructor(
    private readonly store: SessionStore,
    private readonly logger: Logger,
  ) {
    this.#beacon = new LivenessBeacon(store, this.#writer);
  }

  /** This process's writer id (in every event id it mints). */
  get writer(): string {
    return this.#writer;
  }

  /** Records an event and returns its id; the write happens after the current I/O turn. */
  append(source: EventSource, streamId: string, message: JSONRPCMessage | Record<string, never>): string {
    const eventId = formatEventId(source.tag, streamId, this.#writer, ++this.#sequence);
    if (!source.recordsEvents) return eventId;
    // The SDK stores `{}` for a priming event: an id with empty data.
    const priming = Object.keys(message).length === 0;
    const text = priming ? '' : JSON.stringify(message);
    const requests = streamId === STANDALONE_STREAM ? undefined : this.#beacon.observe(source, streamId, priming ? postRequestIds.getStore() : undefined, !priming && isResponse(message));
    if (Buffer.byteLength(text) > EVENT_LIMITS.eventBytes) {
      this.logger.debug({ bytes: Buffer.byteLength(text) }, 'SSE event too large to keep for replay; delivered live only');
      return eventId;
    }
    let pending = this.#pending.get(source.id);
    const hold = priming && streamId !== STANDALONE_STREAM && (!pending || pending.heldUntil !== undefined);
    if (!pending) {
      pending = { events: [], ttlMs: 0, expiresAt: undefined, gone: undefined, heldUntil: undefined };
      this.#pending.set(source.id, pending);
    }
    pending.events.push({ eventId, streamId, message: text, ...(requests ? { requests } : {}) });
    // Never more than the store keeps anyway, even while it is away.
    trimEvents(pending.events);
    pending.ttlMs = source.ttlMs();
    // A call due a TTL extension rides on this append (to min(now + idle TTL, ceiling)): it needs no touch.
    const ride = takeRide(source);
    if (ride) pending.gone = ride;
    if (ride || pending.expiresAt !== undefined) pending.expiresAt = Date.now() + pending.ttlMs;
    // Anything but a priming event (an answer, progress, a notification) goes out at once, with what is held.
    pending.heldUntil = hold ? (pending.heldUntil ?? Date.now() + PRIMING_HOLD_MS) : undefined;
    this.#schedule(hold ? PRIMING_HOLD_MS : FLUSH_MS);
    return eventId;
  }

  /** The SDK transport's view: one per session. */
  forSession(source: EventSource): EventStore {
    return {
      storeEvent: async (streamId, message) => this.append(source, streamId, message),
      getStreamIdForEventId: async (eventId) => {
        const parts = parseEventId(eventId);
        return parts?.tag === source.tag ? parts.streamId : undefined;
      },
      replayEventsAfter: async (lastEventId, { send }) => {
        const parts = parseEventId(lastEventId);
        if (!parts || parts.tag !== source.tag) throw new Error('Last-Event-ID is not an event of this session');
        await this.flush();
        for (const e of eventsAfter(await this.store.readEvents(source.id), lastEventId, parts.streamId)) await send(e.eventId, JSON.parse(e.message) as JSONRPCMessage);
        return parts.streamId;
      },
    };
  }

  /** Writes everything pending now, held priming events too (before a replay, and when the process stops). */
  flush(): Promise<void> {
    return this.#write(true);
  }

  /** Writes what is due (`all`: everything), then schedules what is still held. */
  async #write(all: boolean): Promise<void> {
    while (this.#flushing) await this.#flushing;
    const now = Date.now();
    const due = [...this.#pending].filter(([, p]) => all || p.heldUntil === undefined || p.heldUntil <= now);
    if (due.length === 0) return this.#scheduleHeld();
    const batches = due.map(([id, p]) => ({ id, events: p.events, ttlMs: p.ttlMs, expiresAt: p.expiresAt }));
    const rides = new Map(due.map(([id, p]) => [id, p.gone]));
    for (const [id] of due) this.#pending.delete(id);
    this.#flushing = this.store.appendEvents(batches).then(
      (missing) => {
        if (this.#failing) this.logger.info('SSE events are written to the store again');
        this.#failing = false;
        // A ride found no record: the session is gone from the store (what the touch would have said).
        for (const id of missing) rides.get(id)?.();
      },
      (error: unknown) => {
        // Put them back in front of anything newer and try again shortly.
        for (const batch of batches) {
          const newer = this.#pending.get(batch.id);
          const events = trimEvents([...batch.events, ...(newer?.events ?? [])]);
          const expiresAt = Math.max(newer?.expiresAt ?? 0, batch.expiresAt ?? 0) || undefined;
          this.#pending.set(batch.id, { events, ttlMs: newer?.ttlMs ?? batch.ttlMs, expiresAt, gone: newer?.gone ?? rides.get(batch.id), heldUntil: undefined });
        }
        if (!this.#failing) this.logger.warn({ detail: (error as Error).message }, 'SSE events not written to the store yet; retrying (streams are not resumable on other replicas meanwhile)');
        this.#failing = true;
        this.#schedule(RETRY_MS);
      },
    );
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
      this.#scheduleHeld();
    }
  }

  /** A timer for the earliest of what is still pending (held priming events, or events added meanwhile). */
  #scheduleHeld(): void {
    const now = Date.now();
    for (const p of this.#pending.values()) this.#schedule(p.heldUntil === undefined ? FLUSH_MS : Math.max(0, p.heldUntil - now));
  }

  /** Stops the liveness beacon (the process is stopping). */
  stop(): void {
    this.#beacon.stop();
  }

  /** Flushes what is due in `ms` at the latest (no sooner than the retry delay while the store fails). */
  #schedule(ms: number): void {
    const at = Date.now() + (this.#failing ? Math.max(ms, RETRY_MS) : ms);
    if (this.#timer && this.#dueAt <= at) return;
    clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#write(false);
    }, at - Date.now());
    this.#timer.unref();
  }
}

function isResponse(message: JSONRPCMessage | Record<string, never>): boolean {
  return 'id' in message && ('result' in message || 'error' in message);
}

/**
 * Events of `streamId` after `lastEventId`. If that event is no longer (or not yet) in the log, every
 * retained event of the stream is replayed but those its own writer numbered at or before it.
 */
export function eventsAfter(log: readonly LoggedEvent[], lastEventId: string, streamId: string): LoggedEvent[] {
  const at = log.findIndex((e) => e.eventId === lastEventId);
  const candidates = (at >= 0 ? log.slice(at + 1) : log).filter((e) => e.streamId === streamId && e.message);
  if (at >= 0) return candidates;
  const [writer, sequence] = lastEventId.split('.').slice(3);
  return candidates.filter((e) => {
    const [w, s] = e.eventId.split('.').slice(3);
    return w !== writer || parseInt(s ?? '0', 36) > parseInt(sequence ?? '0', 36);
  });
}
