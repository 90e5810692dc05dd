// In-process SessionStore: the default without Redis. Records live as long as the process does.
import { decodeRecord, encodeRecord, type SessionRecord } from './record.js';
import type { InvalidateListener, LoadResult, SaveOptions, SessionStore } from './store.js';

interface Entry {
  readonly raw: string;
  expiresAt: number;
}

export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #invalidateListeners = new Set<InvalidateListener>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async load(id: string): Promise<LoadResult> {
    const entry = this.#live(id);
    if (entry === 'expired') return { status: 'expired' };
    if (!entry) return { status: 'absent' };
    const decoded = decodeRecord(entry.raw, id);
    return decoded.ok ? { status: 'found', record: decoded.record } : { status: 'corrupt', reason: decoded.reason };
  }

  async save(record: SessionRecord, ttlMs: number, options: SaveOptions = {}): Promise<boolean> {
    const current = this.#live(record.id);
    const exists = current !== undefined && current !== 'expired';
    if (options.onlyIfAbsent && exists) return false;
    if (options.onlyIfNewer && exists) {
      const stored = decodeRecord(current.raw, record.id);
      if (stored.ok && (stored.record.updatedAt ?? 0) >= (record.updatedAt ?? 0)) return false;
    }
    if (ttlMs <= 0) {
      this.#entries.delete(record.id);
      return false;
    }
    this.#entries.set(record.id, { raw: encodeRecord(record), expiresAt: this.#now() + ttlMs });
    return true;
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    const entry = this.#live(id);
    if (!entry || entry === 'expired') return false;
    entry.expiresAt = this.#now() + ttlMs;
    return true;
  }

  async delete(id: string): Promise<boolean> {
    const existed = this.#live(id);
    this.#entries.delete(id);
    for (const listener of this.#invalidateListeners) listener(id, 'deleted');
    return Boolean(existed) && existed !== 'expired';
  }

  onInvalidate(listener: InvalidateListener): () => void {
    this.#invalidateListeners.add(listener);
    return () => this.#invalidateListeners.delete(listener);
  }

  onMissedInvalidations(): () => void {
    return () => {};
  }

  onReconnect(): () => void {
    return () => {};
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  /** Number of stored records (expired ones are dropped on the way). */
  get size(): number {
    for (const id of this.#entries.keys()) this.#live(id);
    return this.#entries.size;
  }

  #live(id: string): Entry | 'expired' | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(id);
      return 'expired';
    }
    return entry;
  }
}
