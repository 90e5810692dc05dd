// Keeps cached shapes honest: marks them when another replica announces a change or the channel cannot
// vouch for them, and re-reads a marked shape (one read per session at a time) before it is served.
import type { Logger } from 'pino';
import { sessionTag } from '../sessions/shape.js';
import type { SessionStore } from '../sessions/store.js';
import type { LiveSession } from './live-session.js';

/** What a re-read found: serve the session, or the reason it cannot be served. */
export type Freshness = 'fresh' | 'gone' | 'unavailable-stale' | 'unavailable-cached';

/**
 * Requests whose answer is the shape itself: a tool list, or a call to a tool this copy has not
 * registered. They re-read the shape (one round trip) so that a toolset enabled on another replica a
 * moment ago is never answered with "not found", whatever the channel's latency. Everything else is
 * served from the cached shape while the channel is proven alive.
 */
export function dependsOnShape(session: LiveSession, body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m: { method?: unknown; params?: { name?: unknown } } | null) => {
    if (m?.method === 'tools/list') return true;
    return m?.method === 'tools/call' && typeof m.params?.name === 'string' && !session.hasTool(m.params.name);
  });
}

export class ShapeCache {
  readonly #reading = new WeakMap<LiveSession, Promise<Freshness>>();

  constructor(
    private readonly store: SessionStore,
    /** Where a record that turned unreadable under a live session is reported (a format outside the window, say). */
    private readonly logger?: Pick<Logger, 'warn'>,
  ) {}

  /** True when the shape must be re-read before this request is served. */
  needsRead(session: LiveSession): boolean {
    return session.suspect || !this.store.health().channelProven;
  }

  /**
   * Re-reads the shape. A request arriving meanwhile (a client's GET and POST together) waits for the
   * same read instead of serving the old copy.
   */
  read(session: LiveSession): Promise<Freshness> {
    let pending = this.#reading.get(session);
    if (!pending) {
      pending = this.#read(session).finally(() => this.#reading.delete(session));
      this.#reading.set(session, pending);
    }
    return pending;
  }

  async #read(session: LiveSession): Promise<Freshness> {
    // Marks set after this point (a change announced while we read) must survive the read.
    session.unverified = false;
    const result = await this.store.load(session.id);
    if (result.status === 'found') {
      session.applyShape(result.shape, result.rev);
      return 'fresh';
    }
    if (result.status === 'unavailable') {
      session.unverified = true;
      // Known to be older than what another replica saved: serving it would show old state. Otherwise
      // nothing newer can have been confirmed while the store is away, so the cached shape stands.
      return session.knownRev > session.rev ? 'unavailable-stale' : 'unavailable-cached';
    }
    if (result.status === 'corrupt') this.logger?.warn({ session: sessionTag(session.id), reason: 'corrupt', detail: result.reason }, 'session record unreadable; session ended here');
    // Never stored (created while the store was away): the cache is all there is.
    if (session.rev === 0) return 'unavailable-cached';
    return 'gone';
  }
}
