// The per-principal session cap: counted fleet-wide in the store when it can be, else (no store, or
// the store not answering) over this replica's live sessions, as a single replica always did.
import { HttpError, RPC } from '../http/errors.js';
import type { FleetLimits } from '../sessions/limits.js';

export interface PrincipalCapOptions {
  /** Most sessions one principal may hold alive. */
  readonly cap: number;
  /** Where the fleet's count is kept (Redis mode); undefined: this replica counts alone. */
  readonly fleet: FleetLimits | undefined;
  /** How many live sessions `owner` has on this replica (the fallback count). */
  readonly liveOf: (owner: string) => number;
}

export class PrincipalCap {
  constructor(private readonly o: PrincipalCapOptions) {}

  /** Counts session `id` (alive until `expiresAt`) for `owner`, or throws 429 past the cap. */
  async admit(owner: string, id: string, expiresAt: number): Promise<void> {
    const { cap, fleet } = this.o;
    const counted = fleet ? await fleet.admitSession(owner, id, expiresAt, cap) : 'unavailable';
    if (counted === 'admitted' || (counted === 'unavailable' && this.o.liveOf(owner) < cap)) return;
    throw new HttpError(429, RPC.serverError, `Too many live sessions for this caller (${cap}): end one with DELETE, or retry later`, { 'retry-after': '60' });
  }

  /** The session was used and now lives until `expiresAt`. */
  extend(owner: string | undefined, id: string, expiresAt: number): void {
    if (owner !== undefined) this.o.fleet?.extendSession(owner, id, expiresAt);
  }

  /** The session ended (DELETE) or never came to be. */
  release(owner: string | undefined, id: string): void {
    if (owner !== undefined) this.o.fleet?.releaseSession(owner, id);
  }
}
