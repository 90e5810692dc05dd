// The SessionStore port: what the session host and the tools need from storage, nothing more.
import type { DataValue } from './data.js';
import type { AppendedEvents, EventBatch, LoggedEvent } from './events.js';
import type { SessionShape } from './shape.js';

/** A shape with the revision it was stored under; every change is conditional on that revision. */
export interface StoredShape {
  readonly shape: SessionShape;
  readonly rev: number;
}

/** Why a load found no usable record. Every one of them answers 404 but `unavailable`; the reason goes to the log. */
export type LoadMiss =
  | { status: 'absent' }
  | { status: 'expired' }
  | { status: 'corrupt'; reason: string }
  | { status: 'unavailable'; reason: string };

export type LoadResult = ({ status: 'found' } & StoredShape) | LoadMiss;

/** The outcome of a conditional shape write. */
export type ShapeWrite = { status: 'written'; rev: number } | { status: 'conflict'; current: StoredShape } | { status: 'gone' };

export type InvalidateListener = (id: string, change: { kind: 'shape'; rev: number } | { kind: 'deleted' }) => void;

/**
 * A message between replicas about one session's traffic in flight, never stored: a client's response to
 * a request another replica sent, or a client's cancellation of a request another replica runs.
 */
export type PeerMessage =
  | { readonly kind: 'response'; readonly session: string; readonly message: unknown }
  | { readonly kind: 'cancelled'; readonly session: string; readonly requestId: string | number; readonly reason?: string };

/** What a replica can say about its store without a round trip (for /readyz and the warm path). */
export interface StoreHealth {
  /** Commands are being answered. */
  readonly connected: boolean;
  /** The invalidation channel delivered a heartbeat recently: cached shapes may be served. */
  readonly channelProven: boolean;
  /** Before the first connection ever: what the store is waiting for (e.g. its connection string from Key Vault). */
  readonly waitingFor?: string | undefined;
  /** The store is close to its memory limit: new sessions would evict existing ones (allkeys-lru). */
  readonly nearlyFull?: boolean;
}

/**
 * Storage of sessions. Shapes are cached by replicas and changed only by conditional writes; data is
 * never cached: the store is its source of truth and every operation on it is atomic per key.
 * Methods that write throw `SessionDataError('unavailable')` (data) or a plain error (shape) when the
 * store cannot confirm them; nothing is held for later.
 */
export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /** Writes a new session's shape at revision 1 unless one exists; resolves whether it wrote. */
  create(shape: SessionShape, ttlMs: number): Promise<boolean>;
  /** Reads a shape. Never throws: store trouble is `unavailable`. */
  load(id: string): Promise<LoadResult>;
  /** Writes `shape` as revision `rev + 1` only if the stored revision is still `rev`, and tells other replicas. */
  updateShape(shape: SessionShape, rev: number, ttlMs: number): Promise<ShapeWrite>;
  /** Extends the session's time to live; false when it no longer exists. Throws when the store is down. */
  touch(id: string, ttlMs: number): Promise<boolean>;
  /** Removes every key of a session and tells every replica to drop its live copy. Throws when down. */
  delete(id: string): Promise<boolean>;

  dataGet(id: string, key: string): Promise<DataValue | undefined>;
  /** Sets one key atomically, within `DATA_LIMITS`, and slides the session's expiry (record and log, only ever extended). */
  dataSet(id: string, key: string, value: DataValue, ttlMs: number): Promise<void>;
  dataDelete(id: string, key: string, ttlMs: number): Promise<boolean>;
  dataList(id: string): Promise<Record<string, DataValue>>;

  /**
   * Appends SSE events to each session's log (trimmed to `EVENT_LIMITS`, expiring with the batch's `ttlMs`) and tells
   * every replica, this one included, which streams of the session have new events. A batch's `expiresAt` slides the
   * session's record and log to it (only ever extended, never resurrecting a missing record). Resolves the ids of
   * sessions that have no record (nothing was appended for them). Throws when the store is down.
   */
  appendEvents(batches: readonly EventBatch[]): Promise<string[]>;
  /** The session's retained events after `cursor` (all of them without one), oldest first. */
  readEvents(id: string, after?: string): Promise<LoggedEvent[]>;
  /** Registers a listener for sessions that have new events (appended on any replica), with the streams they are for. */
  onEventsAppended(listener: (appended: AppendedEvents) => void): () => void;
  /** Marks the process `writer` alive for `ttlMs` (it runs calls another replica may have to answer for). */
  markAlive(writer: string, ttlMs: number): Promise<void>;
  /** Whether `writer` marked itself alive within its last TTL. Throws when the store is down. */
  isAlive(writer: string): Promise<boolean>;

  /** Registers a listener for shapes changed by other replicas and sessions deleted anywhere. */
  onInvalidate(listener: InvalidateListener): () => void;
  /**
   * Registers a listener for "invalidations may have been missed" (the channel went silent or came
   * back after a cut): every cached shape must be re-read before it is served again.
   */
  onChannelSuspect(listener: () => void): () => void;
  /** Registers a listener for the store answering again after an outage. */
  onReconnect(listener: () => void): () => void;
  /** This replica's address for peer messages: unique per process, safe to show a client (random). */
  readonly replicaId: string;
  /** Sends a message to one replica; resolves whether one listens at that address. Throws when the store is down. */
  sendToReplica(replicaId: string, message: PeerMessage): Promise<boolean>;
  /** Sends a message to every other replica (a channel shared by the fleet, never a session's keys). Throws when down. */
  broadcast(message: PeerMessage): Promise<void>;
  /**
   * Answers routed to this session's replicas in the last minute (JSON-RPC responses), kept beside the
   * PUBLISH so a sender whose subscriber missed it can still find its answer. Throws when down.
   */
  routedResponses(id: string): Promise<unknown[]>;
  /** Registers a listener for peer messages addressed to this replica or broadcast by another one. */
  onPeerMessage(listener: (message: PeerMessage) => void): () => void;
  health(): StoreHealth;
  close(): Promise<void>;
}
