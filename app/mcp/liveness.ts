// Orphaned calls: a process proves it is alive (a key with a short TTL) while it runs calls whose POST
// streams a client could resume elsewhere, and a replica holding such a resumed stream watches that key.
import type { SessionStore } from '../sessions/store.js';
import type { EventSource } from './event-log.js';

/**
 * Timings of the proof. The key lives `ttlMs` and is refreshed every `refreshMs` while calls run; a
 * watcher first looks `firstCheckMs` after the resume (by then a live writer has set the key: it does
 * so within `refreshMs` of a call's start), then every `checkMs`, and calls the writer dead after
 * `misses` absent readings in a row. Worst case from a kill to the verdict: the client's retry delay,
 * then about `ttlMs` + `misses` x `checkMs`.
 */
export const LIVENESS = { refreshMs: 1000, ttlMs: 2500, firstCheckMs: 1200, checkMs: 500, misses: 2 } as const;

/** Most calls tracked at once (a tool that never answers must not grow this without end). */
const MAX_TRACKED = 10_000;

/** The writer side: keeps this process's key fresh while it has calls whose answer is still to come. */
export class LivenessBeacon {
  /** Calls in flight here, by session and stream: their source and request ids. */
  readonly #open = new Map<string, { source: EventSource; requests: string }>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly store: SessionStore,
    private readonly writer: string,
  ) {}

  /**
   * Called for every event on a request stream: `requests` (the ids) with its priming event, `answered`
   * with a response. Returns the stream's request ids while it is open, so its later events carry them
   * too (a resume can then answer for them even after the log has trimmed the priming event).
   */
  observe(source: EventSource, streamId: string, requests: string | undefined, answered: boolean): string | undefined {
    const key = `${source.id} ${streamId}`;
    if (answered) {
      this.#open.delete(key);
      return undefined;
    }
    if (requests !== undefined && this.#open.size < MAX_TRACKED) this.#open.set(key, { source, requests });
    // The first refresh comes one period after the first call: calls shorter than that cost nothing.
    if (this.#open.size > 0 && !this.#timer && !this.#stopped) {
      this.#timer = setInterval(() => this.#tick(), LIVENESS.refreshMs);
      this.#timer.unref();
    }
    return this.#open.get(key)?.requests;
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    for (const [key, { source }] of this.#open) if (source.closed) this.#open.delete(key);
    if (this.#open.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    // A refresh that fails (store away) lets the key lapse: watchers elsewhere then answer "may or may
    // not have taken effect", which is the truth as far as they can know.
    this.store.markAlive(this.writer, LIVENESS.ttlMs).catch(() => undefined);
  }
}

/**
 * The watcher side: checks `writer`'s key while `waiting()` holds, and calls `onDead` once the key has
 * been absent `LIVENESS.misses` times in a row. Store errors are no verdict. Returns a stop function.
 */
export function watchWriter(store: SessionStore, writer: string, waiting: () => boolean, onDead: () => void): () => void {
  let misses = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = async () => {
    if (stopped || !waiting()) return;
    try {
      misses = (await store.isAlive(writer)) ? 0 : misses + 1;
    } catch {
      // The store is away: no verdict either way.
    }
    if (stopped || !waiting()) return;
    if (misses >= LIVENESS.misses) {
      stopped = true;
      onDead();
      return;
    }
    timer = setTimeout(() => void check(), LIVENESS.checkMs);
    timer.unref();
  };
  timer = setTimeout(() => void check(), LIVENESS.firstCheckMs);
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
