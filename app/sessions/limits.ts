// The port for limits on new sessions that must hold across the fleet: the new-session rate and the
// number of a principal's sessions alive. The Redis adapter counts them once for every replica.

/** One new-session token taken, or how long until one is available. */
export type Take = { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number };

/** `fleet`: counted in the shared store; `local`: counted by this replica alone (no store, or the store is away). */
export type LimitsMode = 'fleet' | 'local';

export interface FleetLimits {
  /** How limits are counted right now: `local` while the store does not answer. */
  readonly mode: LimitsMode;
  /** Limit checks answered locally because the store did not answer. */
  readonly fallbacks: number;
  /** Takes one token of the new-session rate for `key` (a principal or a client address) for the whole fleet. */
  takeToken(key: string): Promise<Take | 'unavailable'>;
  /**
   * Counts session `id` of `owner` (alive until `expiresAt`, Unix ms) unless `owner` already has `cap`
   * sessions alive fleet-wide. `unavailable`: the store did not answer; the caller counts locally.
   */
  admitSession(owner: string, id: string, expiresAt: number, cap: number): Promise<'admitted' | 'refused' | 'unavailable'>;
  /** The session was used: it stays counted until `expiresAt`. Best effort, off the request path. */
  extendSession(owner: string, id: string, expiresAt: number): void;
  /** The session was deleted: it no longer counts. Best effort. */
  releaseSession(owner: string, id: string): void;
}
