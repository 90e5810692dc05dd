// The new-session rate as the app asks for it: counted fleet-wide when the store can (one script per
// new session), by this replica's own token buckets without a store or while it does not answer.
import type { Rate } from '../config.js';
import type { FleetLimits } from '../sessions/limits.js';
import { RateLimiter, type Take } from './rate-limit.js';

export interface CreationLimiter {
  /** Takes one new-session token for `key` (a principal, or `address:…` without auth). */
  take(key: string): Promise<Take>;
  /** For /statusz: where the count is kept now, and the local buckets' counters. */
  readonly stats: object;
}

export function createCreationLimiter(rate: Rate, fleet?: FleetLimits): CreationLimiter {
  const local = new RateLimiter({ rate });
  let refused = 0;
  return {
    async take(key) {
      if (!fleet) return local.take(key);
      const taken = await fleet.takeToken(key);
      // Redis away: limit per replica rather than not at all (the fleet admits up to replicas × the rate).
      if (taken === 'unavailable') return local.take(key);
      if (!taken.ok) refused++;
      return taken;
    },
    get stats() {
      return fleet ? { mode: fleet.mode, refused, fallbacks: fleet.fallbacks, local: local.stats } : { mode: 'local', ...local.stats };
    },
  };
}
