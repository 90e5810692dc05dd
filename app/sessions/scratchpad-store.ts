// The ScratchpadStore port (handles minted by scratchpad_open, bound to a principal) and its in-process adapter.
import { randomBytes } from 'node:crypto';
import { DATA_LIMITS, dataErrors, entryBytes, type DataValue } from './data.js';

/** How long a scratchpad lives: sliding `idleMs` since its last use, at most `maxMs` from when it was opened. */
export interface ScratchpadLifetime {
  readonly idleMs: number;
  readonly maxMs: number;
}

/**
 * Scratchpads: one record per handle holding its owner, its absolute expiry and its data (the same
 * `DATA_LIMITS` as a session's). Every operation is one atomic step (one Redis round trip), checks the
 * owner and slides the expiry; another owner's, an unknown or an expired handle all throw
 * `dataErrors.unknownScratchpad()`. Writes that change something announce `updated <handle>` on the
 * fleet's change channel, which also carries whatever `publishChange` sends.
 */
export interface ScratchpadStore {
  readonly kind: 'memory' | 'redis';
  readonly lifetime: ScratchpadLifetime;
  /** Mints a new handle for `owner` (a principal hash, `-` without auth). */
  open(owner: string): Promise<string>;
  get(handle: string, owner: string, key: string): Promise<DataValue | undefined>;
  set(handle: string, owner: string, key: string, value: DataValue): Promise<void>;
  delete(handle: string, owner: string, key: string): Promise<boolean>;
  list(handle: string, owner: string): Promise<Record<string, DataValue>>;
  /** Removes every key; resolves how many there were. */
  clear(handle: string, owner: string): Promise<number>;
  /** Sends a message to every replica's `onChange` listeners, this one's included. Throws when the store is down. */
  publishChange(message: string): Promise<void>;
  /** Registers a listener for change messages from any replica (`updated <handle>` or a `publishChange` message). */
  onChange(listener: (message: string) => void): () => void;
}

/** 24 random bytes (192 bits), URL-safe: guessing one is hopeless, and it fits a resource URI as is. */
export function mintScratchpadHandle(): string {
  return `sp_${randomBytes(24).toString('base64url')}`;
}

/** A well-formed handle (checked before any round trip: anything else is unknown without asking). */
export const HANDLE_PATTERN = /^sp_[A-Za-z0-9_-]{32}$/;

interface Pad {
  readonly owner: string;
  readonly maxExpiresAt: number;
  expiresAt: number;
  readonly data: Map<string, DataValue>;
}

/** In-process scratchpads: one replica only, same API, limits and answers. */
export class MemoryScratchpadStore implements ScratchpadStore {
  readonly kind = 'memory' as const;
  readonly #pads = new Map<string, Pad>();
  readonly #listeners = new Set<(message: string) => void>();
  readonly lifetime: ScratchpadLifetime;
  readonly #now: () => number;

  constructor(options: { lifetime: ScratchpadLifetime; now?: () => number }) {
    this.lifetime = options.lifetime;
    this.#now = options.now ?? Date.now;
  }

  async open(owner: string): Promise<string> {
    const handle = mintScratchpadHandle();
    const now = this.#now();
    this.#pads.set(handle, { owner, maxExpiresAt: now + this.lifetime.maxMs, expiresAt: now + Math.min(this.lifetime.idleMs, this.lifetime.maxMs), data: new Map() });
    return handle;
  }

  async get(handle: string, owner: string, key: string): Promise<DataValue | undefined> {
    return this.#pad(handle, owner).data.get(key);
  }

  async set(handle: string, owner: string, key: string, value: DataValue): Promise<void> {
    const pad = this.#pad(handle, owner);
    if (!pad.data.has(key) && pad.data.size >= DATA_LIMITS.keys) throw dataErrors.full();
    let total = entryBytes(key, value);
    for (const [k, v] of pad.data) if (k !== key) total += entryBytes(k, v);
    if (total > DATA_LIMITS.totalBytes) throw dataErrors.tooLarge(total);
    pad.data.set(key, value);
    this.#announce(`updated ${handle}`);
  }

  async delete(handle: string, owner: string, key: string): Promise<boolean> {
    const removed = this.#pad(handle, owner).data.delete(key);
    if (removed) this.#announce(`updated ${handle}`);
    return removed;
  }

  async list(handle: string, owner: string): Promise<Record<string, DataValue>> {
    const out = Object.create(null) as Record<string, DataValue>;
    for (const [key, value] of this.#pad(handle, owner).data) out[key] = value;
    return out;
  }

  async clear(handle: string, owner: string): Promise<number> {
    const pad = this.#pad(handle, owner);
    const n = pad.data.size;
    pad.data.clear();
    if (n > 0) this.#announce(`updated ${handle}`);
    return n;
  }

  async publishChange(message: string): Promise<void> {
    this.#announce(message);
  }

  onChange(listener: (message: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The live pad of `owner`, its expiry slid; anything else is the one "unknown or expired" answer. */
  #pad(handle: string, owner: string): Pad {
    const pad = this.#pads.get(handle);
    const now = this.#now();
    if (pad && (pad.expiresAt <= now || pad.maxExpiresAt <= now)) this.#pads.delete(handle);
    if (!pad || pad.owner !== owner || pad.expiresAt <= now || pad.maxExpiresAt <= now) throw dataErrors.unknownScratchpad();
    pad.expiresAt = Math.min(now + this.lifetime.idleMs, pad.maxExpiresAt);
    return pad;
  }

  #announce(message: string): void {
    // Asynchronous, as over Redis: a listener never runs inside the write that caused it.
    queueMicrotask(() => {
      for (const listener of this.#listeners) listener(message);
    });
  }
}
