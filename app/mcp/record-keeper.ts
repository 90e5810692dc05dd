// Keeps sessions' records in the store: the first write (single-flight, also for sessions created while
// the store was away), and the sliding TTL, extended off the request path at most once per interval:
// riding on the call's own event append in SSE mode, a touch of its own otherwise.
import type { Logger } from 'pino';
import { dataErrors } from '../sessions/data.js';
import { recordTtlMs } from '../sessions/shape.js';
import type { SessionStore } from '../sessions/store.js';
import type { LiveSession } from './live-session.js';
import { awaitRide } from './ttl-ride.js';

export interface RecordKeeperOptions {
  readonly store: SessionStore;
  readonly logger: Logger;
  readonly now: () => number;
  readonly idleTtlMs: number;
  /** Least time between TTL extensions of one record. */
  readonly touchIntervalMs: number;
  /** The record vanished without a delete announcement (LRU eviction, a Redis that lost its data). */
  readonly onGone: (session: LiveSession) => void;
  /** The record's TTL was extended: it now expires at `expiresAt` (Unix ms). */
  readonly onTouched?: (session: LiveSession, expiresAt: number) => void;
}

/** A JSON-RPC request (not a notification, not a GET stream): what ends a new session's short pending TTL. */
function isCall(body: unknown): boolean {
  return (Array.isArray(body) ? body : [body]).some((m: { method?: unknown; id?: unknown } | null) => typeof m?.method === 'string' && m.id !== undefined);
}

export class RecordKeeper {
  readonly #storing = new WeakMap<LiveSession, Promise<void>>();

  constructor(private readonly o: RecordKeeperOptions) {}

  /** Writes a session's shape at revision 1 (single-flight); throws when the store cannot confirm it. */
  store(session: LiveSession, ttlMs: number): Promise<void> {
    let pending = this.#storing.get(session);
    if (!pending) {
      pending = (async () => {
        if (!session.shape) throw new Error('session is not initialized');
        await this.o.store.create(session.shape, ttlMs);
        // Written now, or already there (a re-seed raced us): either way revision 1 or later exists.
        if (session.rev === 0) session.rev = 1;
      })().finally(() => this.#storing.delete(session));
      this.#storing.set(session, pending);
    }
    return pending;
  }

  /** Makes sure the store has the session before its data is touched; "not saved" otherwise. */
  async ensureStored(session: LiveSession): Promise<void> {
    if (session.rev > 0) return;
    try {
      await this.store(session, recordTtlMs(session.maxExpiresAt, this.o.idleTtlMs, this.o.now()));
    } catch {
      throw dataErrors.unavailable('saved');
    }
  }

  /** The store is back: sessions created while it was away get their record now (nothing else is held). */
  async storeUnsaved(sessions: Iterable<LiveSession>): Promise<void> {
    const unsaved = [...sessions].filter((s) => s.rev === 0 && s.shape);
    await Promise.allSettled(unsaved.map((s) => this.ensureStored(s)));
    if (unsaved.length > 0) this.o.logger.info({ sessions: unsaved.length }, 'session store back; sessions created meanwhile saved');
  }

  /**
   * Extends the record's TTL at most once per touch interval, off the request path. A call answered on an
   * SSE stream logs events anyway, and their append script slides the record: no touch of its own goes out
   * unless no event of the session is logged within the touch interval (one too large to keep, say).
   */
  keepAlive(session: LiveSession, body: unknown): void {
    if (session.awaitingFirstCall && isCall(body)) {
      // The first real call: from now on the session gets the full idle lifetime.
      session.awaitingFirstCall = false;
      session.lastTouched = 0;
    }
    const now = this.o.now();
    if (session.rev === 0 || now - session.lastTouched < this.o.touchIntervalMs) return;
    session.lastTouched = now;
    if (isCall(body) && !session.answersInJson && session.recordsEvents) {
      awaitRide(session, this.o.touchIntervalMs, () => this.#touch(session), () => this.o.onGone(session));
      this.o.onTouched?.(session, now + recordTtlMs(session.maxExpiresAt, this.o.idleTtlMs, now));
      return;
    }
    this.#touch(session);
  }

  /** One PEXPIRE of its own. */
  #touch(session: LiveSession): void {
    const now = this.o.now();
    const ttl = recordTtlMs(session.maxExpiresAt, this.o.idleTtlMs, now);
    this.o.store.touch(session.id, ttl).then(
      (exists) => {
        // Its data is gone too, so the session must not carry on as if nothing happened.
        if (!exists) this.o.onGone(session);
        else this.o.onTouched?.(session, now + ttl);
      },
      () => {
        session.lastTouched = 0;
      },
    );
  }
}
