// SSE events kept per session so any replica can replay and continue a stream: ids, bounds, codec.

/** The standalone (GET) stream's id in the SDK transport. */
export const STANDALONE_STREAM = '_GET_stream';

/**
 * Per-session bounds on what is kept for replay: the newest `count` events, none larger than
 * `eventBytes` (a larger one is delivered live but cannot be replayed).
 */
export const EVENT_LIMITS = { count: 100, eventBytes: 16 * 1024 } as const;

/** One event as stored: its id, the stream it belongs to, the JSON-RPC message ('' for a priming event). */
export interface StoredEvent {
  readonly eventId: string;
  readonly streamId: string;
  readonly message: string;
}

/** Events of one session to append, and how long the session's log lives from now. */
export interface EventBatch {
  readonly id: string;
  readonly events: readonly StoredEvent[];
  readonly ttlMs: number;
}

/** A stored event with its position in the session's log (Redis stream entry id, or a counter in memory). */
export interface LoggedEvent extends StoredEvent {
  readonly cursor: string;
}

/** Parts of an event id: `e1.<session tag>.<stream id>.<writer>.<sequence>`. Opaque to clients. */
export interface EventIdParts {
  readonly tag: string;
  readonly streamId: string;
}

const STREAM_ID = /^(?:_GET_stream|[0-9a-f-]{36})$/;

export function formatEventId(tag: string, streamId: string, writer: string, sequence: number): string {
  return `e1.${tag}.${streamId}.${writer}.${sequence.toString(36)}`;
}

/** Parses an event id; undefined for anything this server did not mint. */
export function parseEventId(eventId: string): EventIdParts | undefined {
  if (eventId.length > 120) return undefined;
  const parts = eventId.split('.');
  if (parts.length !== 5 || parts[0] !== 'e1') return undefined;
  const [, tag = '', streamId = '', writer = '', sequence = ''] = parts;
  if (!/^[0-9a-f]{12}$/.test(tag) || !STREAM_ID.test(streamId) || !/^[0-9a-z]{1,16}$/.test(writer) || !/^[0-9a-z]{1,12}$/.test(sequence)) return undefined;
  return { tag, streamId };
}
