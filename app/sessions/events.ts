// SSE events kept per session so any replica can replay and continue a stream: ids, bounds, codec.
import { eventIdFormat, eventIdPrefix, isReadableVersion, unreadableVersion } from './format.js';

/** The standalone (GET) stream's id in the SDK transport. */
export const STANDALONE_STREAM = '_GET_stream';

/**
 * Per-session bounds on what is kept for replay: the newest events up to `count` and `logBytes` in all
 * (4x the data bound, whatever ids or payloads a client chooses), none larger than `eventBytes` (a larger
 * one is delivered live but cannot be replayed). While the store is nearly full a log that grows is
 * trimmed to `nearlyFullBytes` instead. `requestIdsBytes` bounds the request ids kept with a call's events.
 */
export const EVENT_LIMITS = { count: 100, eventBytes: 16 * 1024, logBytes: 64 * 1024, nearlyFullBytes: 4 * 1024, requestIdsBytes: 512 } as const;

/** One event as stored: its id, the stream it belongs to, the JSON-RPC message ('' for a priming event). */
export interface StoredEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly message: string;
  /** On a request stream's events before its response: the JSON array of the ids of the requests it answers. */
  readonly requests?: string | undefined;
}

/** What an event counts against the log's byte bound (the Redis script counts the same fields). */
export function eventBytes(e: StoredEvent): number {
  return Buffer.byteLength(e.eventId) + Buffer.byteLength(e.streamId) + Buffer.byteLength(e.message) + Buffer.byteLength(e.requests ?? '');
}

/** Drops the oldest events until at most `count` and `bytes` remain (in place). */
export function trimEvents<E extends StoredEvent>(events: E[], bytes: number = EVENT_LIMITS.logBytes, count: number = EVENT_LIMITS.count): E[] {
  let total = 0;
  let keep = events.length;
  while (keep > 0 && events.length - keep < count) {
    const size = eventBytes(events[keep - 1] as E);
    if (total + size > bytes) break;
    total += size;
    keep--;
  }
  events.splice(0, keep);
  return events;
}

/** Events of one session to append, and how long the session's log lives from now. */
export interface EventBatch {
  readonly id: string;
  readonly events: readonly StoredEvent[];
  readonly ttlMs: number;
  /**
   * The session's sliding expiry (Unix ms: idle TTL from the call, capped by the absolute ceiling), riding on
   * the append: the record and its log are extended to it, never shortened. Absent: the record is left as it
   * is (no call was due a TTL extension) and the log lives `ttlMs`.
   */
  readonly expiresAt?: number | undefined;
}

/**
 * Sessions that got events in one flush, each with the streams those events belong to, so a replica
 * wakes only the streams they are for. `undefined`: the streams were not said (an announcement of a
 * release before they were), so any stream of the session may have some.
 */
export type AppendedEvents = ReadonlyMap<string, ReadonlySet<string> | undefined>;

/** What `appendEvents` announces for `batches`. */
export function appendedBy(batches: readonly EventBatch[]): AppendedEvents {
  return new Map(batches.map((b) => [b.id, new Set(b.events.map((e) => e.streamId))]));
}

/** A stored event with its position in the session's log (Redis stream entry id, or a counter in memory). */
export interface LoggedEvent extends StoredEvent {
  readonly cursor: string;
}

/**
 * Parts of an event id: `e<n>.<session tag>.<stream id>.<writer>.<sequence>`, `e<n>` naming the format
 * version that minted it. Opaque to clients. A later format may append parts; this one ignores them.
 */
export interface EventIdParts {
  /** Format version of the release that minted the id. */
  readonly format: number;
  readonly tag: string;
  readonly streamId: string;
  /** The process that minted it. */
  readonly writer: string;
}

const STREAM_ID = /^(?:_GET_stream|[0-9a-f-]{36})$/;
/** Parts a newer format may append after the sequence (docs/compatibility.md): at most a few, short. */
const MAX_EXTRA_PARTS = 3;

export function formatEventId(tag: string, streamId: string, writer: string, sequence: number): string {
  return `${eventIdPrefix()}.${tag}.${streamId}.${writer}.${sequence.toString(36)}`;
}

/** Parses an event id of a format this release reads; undefined for anything else (or not minted by this server). */
export function parseEventId(eventId: string): EventIdParts | undefined {
  if (eventId.length > 120) return undefined;
  const [prefix = '', tag = '', streamId = '', writer = '', sequence = '', ...extra] = eventId.split('.');
  const format = eventIdFormat(prefix);
  if (format === undefined || !isReadableVersion(format) || extra.length > MAX_EXTRA_PARTS) return undefined;
  if (!/^[0-9a-f]{12}$/.test(tag) || !STREAM_ID.test(streamId) || !/^[0-9a-z]{1,16}$/.test(writer) || !/^[0-9a-z]{1,12}$/.test(sequence)) return undefined;
  if (!extra.every((part) => /^[0-9a-z_-]{1,16}$/.test(part))) return undefined;
  return { format, tag, streamId, writer };
}

/** Why an id that looks like an event id is refused when its format is outside the window; undefined otherwise. */
export function unreadableEventId(eventId: string): string | undefined {
  const format = eventIdFormat(eventId.split('.', 1)[0] ?? '');
  return format === undefined || isReadableVersion(format) ? undefined : unreadableVersion('Last-Event-ID', format);
}
