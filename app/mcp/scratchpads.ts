// The tools' scratchpad API over a ScratchpadStore, bound to one principal: entries checked before any round trip.
import { checkEntry } from '../sessions/data.js';
import type { ScratchpadLifetime, ScratchpadStore } from '../sessions/scratchpad-store.js';
import type { Scratchpads } from '../tools/index.js';

/** The owner of a principal's scratchpads: its hash, or `-` when auth is off (every caller is the same one). */
export function scratchpadOwner(principalHash: string | undefined): string {
  return principalHash ?? '-';
}

export const SCRATCHPAD_SCHEME = 'scratchpad://';

const hours = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} hours` : `${Math.round(ms / 60_000)} minutes`);

export function describeLifetime(lifetime: ScratchpadLifetime): string {
  return `${hours(lifetime.idleMs)} after its last use, ${hours(lifetime.maxMs)} after it was opened at most`;
}

/** `principalHash`: the caller's (undefined with auth off). */
export function bindScratchpads(store: ScratchpadStore, principalHash: string | undefined): Scratchpads {
  const owner = scratchpadOwner(principalHash);
  return {
    lifetime: describeLifetime(store.lifetime),
    open: () => store.open(owner),
    uri: (handle) => `${SCRATCHPAD_SCHEME}${handle}`,
    data: (handle) => ({
      get: async (key) => {
        checkEntry(key);
        return store.get(handle, owner, key);
      },
      set: async (key, value) => {
        checkEntry(key, value);
        return store.set(handle, owner, key, value);
      },
      delete: async (key) => {
        checkEntry(key);
        return store.delete(handle, owner, key);
      },
      list: () => store.list(handle, owner),
      clear: () => store.clear(handle, owner),
    }),
  };
}

/** A token bucket per key (the HTTP layer's RateLimiter fits). */
export interface OpenLimit {
  take(key: string): { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number };
}

/**
 * Bounds how fast one principal opens scratchpads (each is a Redis hash that lives for hours). Without
 * auth every caller is the same owner (`-`) and nothing is bounded here, as new sessions from loopback are not.
 */
export function limitOpens(store: ScratchpadStore, limit: OpenLimit | undefined): ScratchpadStore {
  if (!limit) return store;
  return {
    kind: store.kind,
    lifetime: store.lifetime,
    open: async (owner) => {
      const taken = owner === '-' ? { ok: true as const } : limit.take(owner);
      if (!taken.ok) throw new Error(`Too many new scratchpads: retry after ${taken.retryAfterS} s, or reuse one you opened.`);
      return store.open(owner);
    },
    get: (handle, owner, key) => store.get(handle, owner, key),
    set: (handle, owner, key, value) => store.set(handle, owner, key, value),
    delete: (handle, owner, key) => store.delete(handle, owner, key),
    list: (handle, owner) => store.list(handle, owner),
    clear: (handle, owner) => store.clear(handle, owner),
    publishChange: (message) => store.publishChange(message),
    onChange: (listener) => store.onChange(listener),
  };
}
