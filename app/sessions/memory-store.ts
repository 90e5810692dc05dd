// In-process SessionStore: the default without Redis, with the same API, limits and atomicity.
import { DATA_LIMITS, dataErrors, entryBytes, type DataValue } from './data.js';
import { randomUUID } from 'node:crypto';
import { appendedBy, EVENT_LIMITS, trimEvents, type AppendedEvents, type EventBatch, type LoggedEvent } from './events.js';
import { encodeShape, decodeShape, type SessionShape } from './shape.js';
import type { InvalidateListener, LoadResult, PeerMessage, SessionStore, ShapeWrite, StoreHealth } from './store.js';

interface Entry {
  /** Encoded, so a caller never shares (and mutates) the stored copy. */
  shape: string;
  rev: number;
  readonly data: Map<string, DataValue>;
  expiresAt: number;
  readonly events: LoggedEvent[];
}

export class MemorySessionStore implements SessionStore {
  readonly kind = 'memory' as const;
  readonly #entries = new Map<string, Entry>();
  readonly #invalidateListeners = new Set<InvalidateListener>();
  readonly #appendedListeners = new Set<(appended: AppendedEvents) => void>();
  readonly #peerListeners = new Set<(message: PeerMessage) => void>();
  readonly #now: () => number;
  #eventCursor = 0;
  readonly replicaId = randomUUID();

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async create(shape: SessionShape, ttlMs: number): Promise<boolean> {
    if (this.#live(shape.id) || ttlMs <= 0) return false;
    this.#entries.set(shape.id, { shape: encodeShape(shape), rev: 1, data: new Map(), expiresAt: this.#now() + ttlMs, events: [] });
    return true;
  }

  async load(id: string): Promise<LoadResult> {
    const entry = this.#live(id);
    if (entry === 'expired') return { status: 'expired' };
    if (!entry) return { status: 'absent' };
    const decoded = decodeShape(entry.shape, id);
    return decoded.ok ? { status: 'found', shape: decoded.shape, rev: entry.rev } : { status: 'corrupt', reason: decoded.reason };
  }

  async updateShape(shape: SessionShape, rev: number, ttlMs: number): Promise<ShapeWrite> {
    const entry = this.#entry(shape.id);
    if (!entry) return { status: 'gone' };
    if (entry.rev !== rev) {
      const decoded = decodeShape(entry.shape, shape.id);
      if (!decoded.ok) return { status: 'gone' };
      return { status: 'conflict', current: { shape: decoded.shape, rev: entry.rev } };
    }
    entry.shape = encodeShape(shape);
    entry.rev = rev + 1;
    entry.expiresAt = this.#now() + ttlMs;
    return { status: 'written', rev: entry.rev };
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    const entry = this.#entry(id);
    if (!entry) return false;
    if (ttlMs <= 0) this.#entries.delete(id);
    else entry.expiresAt = this.#now() + ttlMs;
    return ttlMs > 0;
  }

  async delete(id: string): Promise<boolean> {
    const existed = this.#entry(id) !== undefined;
    this.#entries.delete(id);
    if (existed) for (const listener of this.#invalidateListeners) listener(id, { kind: 'deleted' });
    return existed;
  }

  async dataGet(id: string, key: string): Promise<DataValue | undefined> {
    return this.#entryOrGone(id).data.get(key);
  }

  async dataSet(id: string, key: string, value: DataValue, ttlMs: number): Promise<void> {
    const entry = this.#entryOrGone(id);
    const isNew = !entry.data.has(key);
    if (isNew && entry.data.size >= DATA_LIMITS.keys) throw dataErrors.full();
    let total = entryBytes(key, value);
    for (const [k, v] of entry.data) if (k !== key) total += entryBytes(k, v);
    if (total > DATA_LIMITS.totalBytes) throw dataErrors.tooLarge(total);
    entry.data.set(key, value);
    this.#slide(entry, this.#now() + ttlMs);
  }

  async dataDelete(id: string, key: string, ttlMs: number): Promise<boolean> {
    const entry = this.#entryOrGone(id);
    this.#slide(entry, this.#now() + ttlMs);
    return entry.data.delete(key);
  }

  async dataList(id: string): Promise<Record<string, DataValue>> {
    // A null-prototype object: keys like "__proto__" are ordinary keys here.
    const out = Object.create(null) as Record<string, DataValue>;
    for (const [k, v] of this.#entryOrGone(id).data) out[k] = v;
    return out;
  }

  async appendEvents(batches: readonly EventBatch[]): Promise<string[]> {
    const kept: EventBatch[] = [];
    const missing: string[] = [];
    for (const batch of batches) {
      const entry = this.#entry(batch.id);
      if (!entry) {
        missing.push(batch.id);
        continue;
      }
      if (batch.expiresAt !== undefined) this.#slide(entry, batch.expiresAt);
      for (const event of batch.events) entry.events.push({ ...event, cursor: String(++this.#eventCursor) });
      trimEvents(entry.events);
      kept.push(batch);
    }
    const appended = appendedBy(kept);
    if (appended.size > 0) for (const listener of this.#appendedListeners) listener(appended);
    return missing;
  }

  /** As the Redis scripts do: the expiry only ever moves later. */
  #slide(entry: Entry, expiresAt: number): void {
    if (expiresAt > entry.expiresAt) entry.expiresAt = expiresAt;
  }

  async readEvents(id: string, after?: string): Promise<LoggedEvent[]> {
    const events = this.#entry(id)?.events ?? [];
    return after === undefined ? [...events] : events.filter((e) => Number(e.cursor) > Number(after));
  }

  async markAlive(): Promise<void> {}

  /** One process: whoever wrote an event that is still here is this process. */
  async isAlive(): Promise<boolean> {
    return true;
  }

  onEventsAppended(listener: (appended: AppendedEvents) => void): () => void {
    this.#appendedListeners.add(listener);
    return () => this.#appendedListeners.delete(listener);
  }

  /** One process is the whole fleet: only this replica's own address has a listener. */
  async sendToReplica(replicaId: string, message: PeerMessage): Promise<boolean> {
    if (replicaId !== this.replicaId) return false;
    const copy = structuredClone(message);
    queueMicrotask(() => {
      for (const listener of this.#peerListeners) listener(copy);
    });
    return true;
  }

  /** There is no other replica to tell. */
  async broadcast(_message: PeerMessage): Promise<void> {}

  /** Nothing is routed in one process. */
  async routedResponses(): Promise<unknown[]> {
    return [];
  }

  onPeerMessage(listener: (message: PeerMessage) => void): () => void {
    this.#peerListeners.add(listener);
    return () => this.#peerListeners.delete(listener);
  }

  onInvalidate(listener: InvalidateListener): () => void {
    this.#invalidateListeners.add(listener);
    return () => this.#invalidateListeners.delete(listener);
  }

  onChannelSuspect(): () => void {
    return () => {};
  }

  onReconnect(): () => void {
    return () => {};
  }

  health(): StoreHealth {
    return { connected: true, channelProven: true };
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }

  /** Number of stored sessions (expired ones are dropped on the way). */
  get size(): number {
    for (const id of this.#entries.keys()) this.#live(id);
    return this.#entries.size;
  }

  #entry(id: string): Entry | undefined {
    const entry = this.#live(id);
    return entry === 'expired' ? undefined : entry;
  }

  #entryOrGone(id: string): Entry {
    const entry = this.#entry(id);
    if (!entry) throw dataErrors.gone();
    return entry;
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
