// Keeps live copies current across replicas: marks a copy stale when another replica changes the record
// and reloads it (one reload per copy at a time) before it is served again.
import type { SessionStore } from '../sessions/store.js';
import type { LiveSession } from './live-session.js';

/** After the store comes back, how long a stale copy whose record is missing waits for another replica's re-seed. */
const RESEED_GRACE_MS = 10_000;

export interface FreshnessOptions {
  readonly store: SessionStore;
  readonly now: () => number;
  /** When the store last came back after an outage (undefined: it never went away). */
  readonly storeBackAt: () => number | undefined;
}

export class Freshness {
  readonly #marks = new WeakMap<LiveSession, number>();
  readonly #reloading = new WeakMap<LiveSession, Promise<boolean>>();

  constructor(private readonly options: FreshnessOptions) {}

  markStale(session: LiveSession): void {
    session.stale = true;
    this.#marks.set(session, (this.#marks.get(session) ?? 0) + 1);
  }

  /**
   * Reloads a stale copy; false when the store cannot be read (the copy stays stale and must not be served).
   * The copy stays marked until the reload is done, so a request arriving meanwhile (a client's GET and
   * POST together) waits for it instead of reading the old copy.
   */
  refresh(session: LiveSession): Promise<boolean> {
    let pending = this.#reloading.get(session);
    if (!pending) {
      pending = this.#reload(session).finally(() => this.#reloading.delete(session));
      this.#reloading.set(session, pending);
    }
    return pending;
  }

  async #reload(session: LiveSession): Promise<boolean> {
    const mark = this.#marks.get(session);
    const result = await this.options.store.load(session.id);
    if (result.status === 'found') {
      session.applyRecord(result.record);
      // Stays stale if another change was announced while we were loading.
      session.stale = this.#marks.get(session) !== mark;
      return true;
    }
    session.stale = true;
    if (result.status === 'unavailable') return false;
    // Gone just after the store came back (it restarted empty): a replica with a newer copy is probably
    // re-seeding it right now, so wait for that rather than serve (and later seed) our older copy.
    const backAt = this.options.storeBackAt();
    return !(result.status === 'absent' && backAt !== undefined && this.options.now() - backAt < RESEED_GRACE_MS);
  }
}
