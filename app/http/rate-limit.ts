// Token buckets per key (principal or client address) in bounded memory: limits session creation per replica.
import type { Rate } from '../config.js';

export interface RateLimiterOptions {
  readonly rate: Rate;
  /** Most buckets kept; the least recently used go first. Default 10,000 (~1 MB). */
  readonly maxBuckets?: number;
  readonly now?: () => number;
}

export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #max: number;
  readonly #now: () => number;
  /** Map order is recency order: a used bucket is re-inserted at the end. */
  readonly #buckets = new Map<string, Bucket>();
  #refused = 0;

  constructor(options: RateLimiterOptions) {
    this.#capacity = options.rate.tokens;
    this.#perMs = options.rate.tokens / options.rate.perMs;
    this.#max = options.maxBuckets ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token for `key`, or says how many seconds until one is available. */
  take(key: string): Take {
    const now = this.#now();
    const bucket = this.#buckets.get(key) ?? { tokens: this.#capacity, at: now };
    this.#buckets.delete(key);
    bucket.tokens = Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    // Evicting a bucket forgets its debt; fine here, since the oldest bucket has been idle longest.
    if (this.#buckets.size > this.#max) this.#buckets.delete(this.#buckets.keys().next().value as string);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    this.#refused += 1;
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000)) };
  }

  get stats(): { readonly buckets: number; readonly refused: number } {
    return { buckets: this.#buckets.size, refused: this.#refused };
  }
}
