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

export class Restorer {
  readonly #restoring = new Map<string, Promise<LiveSession | undefined>>();
  /** Changes announced for sessions being restored: applied when the restore lands. */
  readonly #announced = new Map<string, number | 'deleted'>();
  #storeDownSince: number | undefined;
  restores = 0;
  misses = 0;

  constructor(private readonly o: RestorerOptions) {}

  /** One restore per id at a time: a client's GET reconnect and its next POST often arrive together. */
  async restore(id: string): Promise<LiveSession> {
    let pending = this.#restoring.get(id);
    if (!pending) {
      pending = traceRestore(id, () => this.#restore(id)).finally(() => this.#restoring.delete(id));
      this.#restoring.set(id, pending);
    }
    const session = await pending;
    if (session) return session;
    // Never connected yet (its connection string is still on its way): the session may well exist, however long that takes.
    const inGrace = this.o.store.health().waitingFor !== undefined || (this.#storeDownSince !== undefined && this.o.now() - this.#storeDownSince < this.o.outageGraceMs);
    throw inGrace ? retryLater('Session store unavailable') : sessionNotFound();
  }

  /** Another replica changed or deleted a session: remember it if that session is being restored here. */
  announced(id: string, change: number | 'deleted'): void {
    if (this.#restoring.has(id) && this.#announced.get(id) !== 'deleted') this.#announced.set(id, change);
  }

  /** The store answers again: the outage clock stops. */
  storeBack(): void {
    this.#storeDownSince = undefined;
  }

  async #restore(id: string): Promise<LiveSession | undefined> {
    const started = performance.now();
    this.#announced.delete(id);
    const result = await this.o.store.load(id);
    if (result.status === 'unavailable') this.#storeDownSince ??= this.o.now();
    else this.#storeDownSince = undefined;
    if (result.status !== 'found') {
      this.misses++;
      // An unknown id is routine (and cheap to send): debug, so a flood of them costs no log volume.
      const level = result.status === 'absent' || result.status === 'expired' ? 'debug' : 'warn';
      this.o.logger[level]({ session: sessionTag(id), reason: result.status, detail: 'reason' in result ? result.reason : undefined }, 'session not restored');
      return undefined;
    }
    const { shape, rev } = result;
    const session = this.o.build({ id, createdAt: shape.createdAt, maxExpiresAt: shape.maxExpiresAt, principal: shape.principal, from: { kind: 'stored', shape, rev } });
    try {
      await session.connect();
      await session.replayInitialize();
    } catch (error) {
      this.misses++;
      await session.close();
      this.o.logger.warn({ session: sessionTag(id), reason: 'replay failed', detail: (error as Error).message }, 'session not restored');
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
