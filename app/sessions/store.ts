// The SessionStore port: what the session host needs from storage, nothing more.
import type { SessionRecord } from './record.js';

/** Why a load found no usable record. Every one of them answers 404; the reason goes to the log. */
export type LoadMiss =
  | { status: 'absent' }
  | { status: 'expired' }
  | { status: 'corrupt'; reason: string }
  | { status: 'unavailable'; reason: string };

export type LoadResult = { status: 'found'; record: SessionRecord } | LoadMiss;

export interface SaveOptions {
  readonly onlyIfAbsent?: boolean;
  readonly onlyIfNewer?: boolean;
}

export type InvalidateListener = (id: string, kind: 'updated' | 'deleted') => void;

export interface SessionStore {
  readonly kind: 'memory' | 'redis';
  /** Reads a record. Never throws: store trouble is `unavailable`. */
  load(id: string): Promise<LoadResult>;
  /**
   * Writes the whole record with a time to live and tells other replicas their live copy is stale.
   * With `onlyIfAbsent` it writes only where no record exists (re-seeding after a Redis restart) and
   * tells no one. With `onlyIfNewer` it writes only over a record with an older `updatedAt` (a change
   * held through an outage must not undo a newer one saved meanwhile). Resolves whether it wrote.
   * Throws when the store cannot take it.
   */
  save(record: SessionRecord, ttlMs: number, options?: SaveOptions): Promise<boolean>;
  /** Extends the time to live; false when the record no longer exists. Throws when the store is down. */
  touch(id: string, ttlMs: number): Promise<boolean>;
  /** Removes a record and tells every replica to drop its live copy. Throws when the store is down. */
  delete(id: string): Promise<boolean>;
  /**
   * Registers a listener for records changed by other replicas (`updated`) or deleted anywhere,
   * including here (`deleted`). Returns an unsubscribe function.
   */
  onInvalidate(listener: InvalidateListener): () => void;
  /**
   * Registers a listener for invalidations that may have been missed (the channel was cut and is back):
   * every live copy should be re-read. Returns an unsubscribe function.
   */
  onMissedInvalidations(listener: () => void): () => void;
  /** Registers a listener for the store coming back after an outage. */
  onReconnect(listener: () => void): () => void;
  /** Whether the store answers right now (bounded wait). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
