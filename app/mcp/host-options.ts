// What a session host is configured with, and the defaults it applies (in one place).
import type { Logger } from 'pino';
import type { FleetLimits } from '../sessions/limits.js';
import type { SessionStore } from '../sessions/store.js';
import { scratchpadStoreFor } from '../sessions/redis-scratchpads.js';
import type { ScratchpadStore } from '../sessions/scratchpad-store.js';
import type { ReplicaInfo } from '../tools/index.js';
import type { ResponseMode } from './live-session.js';

export interface SessionHostOptions {
  readonly store: SessionStore;
  /** Scratchpads behind handles (shared with the modern era). Default: the one that goes with `store`, same TTLs. */
  readonly scratchpads?: ScratchpadStore;
  readonly logger: Logger;
  readonly replica: ReplicaInfo;
  /** Sliding idle lifetime of a record. */
  readonly idleTtlMs: number;
  /** Absolute lifetime of a session from creation. */
  readonly maxTtlMs: number;
  /** Lifetime of a record whose session made no call after initialize (a flood of bare initializes fades fast). */
  readonly pendingTtlMs: number;
  /** Most sessions live in this process at once. */
  readonly maxLiveSessions: number;
  /** Most sessions one principal may hold alive (with authentication on): fleet-wide with `fleetLimits`, else on this replica. Default 100. */
  readonly maxSessionsPerPrincipal?: number;
  /** Counts each principal's sessions for the whole fleet (Redis mode); while it does not answer, this replica's live ones count. */
  readonly fleetLimits?: FleetLimits | undefined;
  /** A live session idle this long leaves memory (its record stays). */
  readonly liveIdleMs: number;
  /** Largest POST body accepted. */
  readonly maxBodyBytes: number;
  /** The `retry:` hint on SSE streams: how long a client waits before reconnecting one. Default 1 s. */
  readonly sseRetryMs?: number;
  /** Comment lines on idle GET streams. Default 15 s. */
  readonly sseKeepAliveMs?: number;
  /** `sse` (default) streams each response; `json` answers plain JSON. */
  readonly responseMode?: ResponseMode;
  /** Least time between TTL extensions of one record. Default: a tenth of the idle TTL, at most 60 s. */
  readonly touchIntervalMs?: number;
  /**
   * While the store has been unreachable for less than this, a restore answers 503 (retry) rather than
   * 404 (start over): the session most likely still exists. Default 30 s.
   */
  readonly outageGraceMs?: number;
  readonly now?: () => number;
}

export interface HostStats {
  readonly liveSessions: number;
  readonly restores: number;
  readonly restoreMisses: number;
  /** Client answers to another replica's questions handed over, and cancellations sent to the fleet. */
  readonly routedResponses: number;
  readonly routedCancels: number;
}

/** The options with every default applied. */
export type HostSettings = Required<Omit<SessionHostOptions, 'now' | 'fleetLimits'>>;

export function withDefaults(options: SessionHostOptions): HostSettings {
  return {
    scratchpads: options.scratchpads ?? scratchpadStoreFor(options.store, { idleMs: options.idleTtlMs, maxMs: options.maxTtlMs }),
    responseMode: 'sse',
    touchIntervalMs: Math.min(options.idleTtlMs / 10, 60_000),
    outageGraceMs: 30_000,
    sseRetryMs: 1000,
    sseKeepAliveMs: 15_000,
    maxSessionsPerPrincipal: 100,
    ...options,
  };
}
