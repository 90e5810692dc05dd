// A bounded map of live sessions: least recently used beyond the cap and idle ones are evicted.

export interface LiveCacheOptions<V> {
  readonly maxSize: number;
  readonly idleMs: number;
  readonly now: () => number;
  readonly onEvict: (value: V, why: 'capacity' | 'idle') => void;
}

interface Slot<V> {
  readonly value: V;
  usedAt: number;
}

export class LiveCache<V> {
  // A Map iterates in insertion order; re-inserting on use keeps the least recently used first.
  readonly #slots = new Map<string, Slot<V>>();
  readonly #o: LiveCacheOptions<V>;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: LiveCacheOptions<V>) {
    this.#o = options;
    this.#sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.min(options.idleMs / 2, 60_000)));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#slots.size;
  }

  has(key: string): boolean {
    return this.#slots.has(key);
  }

  get(key: string, options: { touch?: boolean } = {}): V | undefined {
    const slot = this.#slots.get(key);
    if (!slot) return undefined;
    if (options.touch !== false) {
      slot.usedAt = this.#o.now();
      this.#slots.delete(key);
      this.#slots.set(key, slot);
    }
    return slot.value;
  }

  set(key: string, value: V): void {
    this.#slots.delete(key);
    this.#slots.set(key, { value, usedAt: this.#o.now() });
    while (this.#slots.size > this.#o.maxSize) {
      const [oldest, slot] = this.#slots.entries().next().value as [string, Slot<V>];
      this.#slots.delete(oldest);
      this.#o.onEvict(slot.value, 'capacity');
    }
  }

  delete(key: string): boolean {
    return this.#slots.delete(key);
  }

  *values(): IterableIterator<V> {
    for (const slot of this.#slots.values()) yield slot.value;
  }

  /** Evicts entries unused for longer than `idleMs`. Runs on a timer; callable directly. */
  sweep(): void {
    const cutoff = this.#o.now() - this.#o.idleMs;
    for (const [key, slot] of this.#slots) {
      // Oldest first: the first recent entry means every later one is recent too.
      if (slot.usedAt > cutoff) break;
      this.#slots.delete(key);
      this.#o.onEvict(slot.value, 'idle');
    }
  }

  clear(): void {
    this.#slots.clear();
  }

  stop(): void {
    clearInterval(this.#sweeper);
  }
}
