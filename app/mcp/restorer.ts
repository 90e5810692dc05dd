// Restores sessions this replica has not got live: one restore per id at a time, the outage rule
// (503 while the session probably exists, 404 once it probably does not), and changes announced
// while a restore was under way.
import type { Logger } from 'pino';
import { HttpError, RPC, sessionNotFound } from '../http/errors.js';
import { sessionTag } from '../sessions/shape.js';
import type { SessionStore } from '../sessions/store.js';
import type { LiveSession, LiveSessionInit } from './live-session.js';
import { traceRestore } from '../telemetry/hooks.js';

export interface RestorerOptions {
  readonly store: SessionStore;
  readonly logger: Logger;
  readonly now: () => number;
  /** While the store has been unreachable for less than this, a miss is a 503 (retry), not a 404. */
  readonly outageGraceMs: number;
  /** Builds a live session (not yet connected). */
  readonly build: (init: LiveSessionInit) => LiveSession;
  /** Takes a restored session into the live cache. */
  readonly adopt: (session: LiveSession) => void;
}

export const retryLater = (what: string) => new HttpError(503, RPC.serverError, `${what}: retry shortly`, { 'retry-after': '1' });

/** A restore in flight is shared by requests for the same id from the same principal, never across principals. */
const flightKey = (id: string, owner: string | undefined) => (owner === undefined ? id : `${id} ${owner}`);

export class Restorer {
  readonly #restoring = new Map<string, Promise<LiveSession | undefined>>();
  /** Restores in flight per id (one per principal asking). */
  readonly #inFlight = new Map<string, number>();
  /** Changes announced for sessions being restored: applied when the restore lands. */
  readonly #announced = new Map<string, number | 'deleted'>();
  #storeDownSince: number | undefined;
  restores = 0;
  misses = 0;

  constructor(private readonly o: RestorerOptions) {}

  /**
   * One restore per id at a time: a client's GET reconnect and its next POST often arrive together.
   * Only for `owner` (the principal hash of the caller): a session of anyone else is never built.
   */
  async restore(id: string, owner: string | undefined): Promise<LiveSession> {
    const key = flightKey(id, owner);
    let pending = this.#restoring.get(key);
    if (!pending) {
      const others = this.#inFlight.get(id) ?? 0;
      // Announcements left from an earlier restore are stale; those of one still running are not.
      if (others === 0) this.#announced.delete(id);
      this.#inFlight.set(id, others + 1);
      pending = traceRestore(id, () => this.#restore(id, owner)).finally(() => {
        this.#restoring.delete(key);
        const left = (this.#inFlight.get(id) ?? 1) - 1;
        if (left === 0) this.#inFlight.delete(id);
        else this.#inFlight.set(id, left);
      });
      this.#restoring.set(key, pending);
    }
    const session = await pending;
    if (session) return session;
    // Never connected yet (its connection string is still on its way): the session may well exist, however long that takes.
    const inGrace = this.o.store.health().waitingFor !== undefined || (this.#storeDownSince !== undefined && this.o.now() - this.#storeDownSince < this.o.outageGraceMs);
    throw inGrace ? retryLater('Session store unavailable') : sessionNotFound();
  }

  /** Another replica changed or deleted a session: remember it if that session is being restored here. */
  announced(id: string, change: number | 'deleted'): void {
    if (this.#inFlight.has(id) && this.#announced.get(id) !== 'deleted') this.#announced.set(id, change);
  }

  /**
   * A live session asked for by another principal: counted and logged exactly as an unknown id is (the
   * restore it would have needed is a miss), so nothing tells a stranger that the id exists.
   */
  foreign(id: string): void {
    this.#miss(id, 'absent');
  }

  #miss(id: string, reason: string, detail?: string): void {
    this.misses++;
    // An unknown id is routine (and cheap to send): debug, so a flood of them costs no log volume.
    const level = reason === 'absent' || reason === 'expired' ? 'debug' : 'warn';
    this.o.logger[level]({ session: sessionTag(id), reason, detail }, 'session not restored');
  }

  /** The store answers again: the outage clock stops. */
  storeBack(): void {
    this.#storeDownSince = undefined;
  }

  async #restore(id: string, owner: string | undefined): Promise<LiveSession | undefined> {
    const started = performance.now();
    const result = await this.o.store.load(id);
    if (result.status === 'unavailable') this.#storeDownSince ??= this.o.now();
    else this.#storeDownSince = undefined;
    if (result.status !== 'found') {
      this.#miss(id, result.status, 'reason' in result ? result.reason : undefined);
      return undefined;
    }
    const { shape, rev } = result;
    // Another principal's session is an unknown id to this caller: same count, same log line, same 404.
    if (shape.principal !== owner) {
      this.#miss(id, 'absent');
      return undefined;
    }
    const session = this.o.build({ id, createdAt: shape.createdAt, maxExpiresAt: shape.maxExpiresAt, principal: shape.principal, from: { kind: 'stored', shape, rev } });
    try {
      await session.connect();
      await session.replayInitialize();
    } catch (error) {
      await session.close();
      this.#miss(id, 'replay failed', (error as Error).message);
      return undefined;
    }
    const announced = this.#announced.get(id);
    this.#announced.delete(id);
    if (announced === 'deleted') {
      await session.close();
      return undefined;
    }
    if (announced !== undefined) session.knownRev = Math.max(session.knownRev, announced);
    this.o.adopt(session);
    this.restores++;
    this.o.logger.info({ session: sessionTag(id), ms: Math.round((performance.now() - started) * 100) / 100 }, 'session restored');
    return session;
  }
}
