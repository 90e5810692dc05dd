// The scaling model of docs/scaling.md as code: per-second Redis commands by kind, pub/sub deliveries,
// memory and connections for R replicas, S sessions and C calls/s, from constants measured by
// bench/scaling-bench.ts at one point (R = 1) and checked at the others.
import type { Kind } from './scaling-census.js';

/** The fleet and its load. */
export interface Load {
  readonly replicas: number;
  readonly sessions: number;
  readonly callsPerSecond: number;
  /** Share of sessions holding a GET stream (each on one replica). */
  readonly streamShare: number;
  /** Masters of the Redis (1: one node or Azure EnterpriseCluster; N: a Redis Cluster / OSSCluster). */
  readonly masters?: number;
  /** Classic-only (false) or a cluster client with a sharded peer channel (true). */
  readonly cluster?: boolean;
  /**
   * Share of calls that land on a replica already holding the session live. 1 with sticky routing
   * and enough live slots; with calls spread over replicas, about min(1, MAX_LIVE_SESSIONS / S).
   */
  readonly liveHitRatio?: number;
  /** Replicas one session's calls visit: R when calls are spread (default), 1 when sticky. */
  readonly replicasPerSession?: number;
  /** New sessions per second (initialize): S divided by how long a session lasts. Default 0. */
  readonly createsPerSecond?: number;
}

/** Timers of the server (config defaults unless the run set them). */
export interface Timers {
  readonly heartbeatMs: number;
  readonly memoryCheckMs: number;
  /** Least time between TTL extensions of one session on one replica: min(SESSION_IDLE_TTL / 10, 60 s). */
  readonly touchIntervalMs: number;
  /** A replica's check that streamed sessions still exist (SSE keep-alive period, 15 s). */
  readonly goneCheckMs: number;
  /** The event log's batching delay: at most about 1000 / FLUSH_MS flushes per replica per second. */
  readonly flushMs: number;
}

export const DEFAULT_TIMERS: Timers = { heartbeatMs: 1000, memoryCheckMs: 5000, touchIntervalMs: 60_000, goneCheckMs: 15_000, flushMs: 5 };

/** Constants measured at the calibration point, per call unless named otherwise. */
export interface Constants {
  /** Data operations (HMGET / data scripts) per call: what the tools touch. */
  readonly dataPerCall: number;
  /** Event-log flushes (one `mcpAppendEvents` script per session per flush) per call. */
  readonly appendsPerCall: number;
  /** SSE events stored per call (XADD inside the append script): E. */
  readonly eventsPerCall: number;
  /** Commands the append script runs inside Redis per call of it (CPU, not round trips). */
  readonly inScriptsPerAppend?: number;
  /**
   * `appended` announcements per call at the calibration point: one PUBLISH per flush, shared by the
   * sessions in it, run inside the flush's last append script (no command of its own).
   */
  readonly announcesPerCall: number;
  /**
   * The calls log SSE events (SSE mode), so their TTL extension rides on the append script: no touch of
   * their own. False (JSON mode): each (session, replica) pair touches once per interval.
   */
  readonly touchesRide?: boolean;
  /**
   * How long a flush gathers appends, fitted at the calibration point: a replica with u appends/s
   * announces u / (1 + u·w) times a second (about 1 / FLUSH_MS at most). 0: no merging was seen.
   */
  readonly flushWindowMs: number;
  /** Session ids per announcement, and payload bytes per announcement. */
  readonly idsPerAnnounce: number;
  readonly bytesPerAnnounce: number;
  /** XRANGE reads by GET streams per call of a session holding one. */
  readonly streamReadsPerStreamedCall: number;
  /**
   * Calls open at once across the fleet (long calls/s × their duration), fitted at the calibration
   * point: a replica refreshes its liveness key once a second while one of its calls is open, so with
   * x open calls spread over R replicas the fleet sends min(R, x) SETs/s (evenly spaced calls, as the
   * bench sends them; random arrivals overlap more and send R·(1 − e^(−x/R)), a little less).
   */
  readonly openCalls: number;
  /** Top-level commands of one restore (a call on a replica that does not hold the session). */
  readonly commandsPerRestore: number;
  /** Per new session (initialize, initialized, first call): the create script, and the fleet-wide limiter's scripts. */
  readonly shapePerCreation: number;
  readonly limitsPerCreation: number;
  /** Redis bytes of one session: its hash; its event log per entry (and fixed), up to the bytes of a full log. */
  readonly hashBytes: number;
  readonly logBytesPerEntry: number;
  /** Log entries a session has besides E per call (GET-stream priming events and the like). */
  readonly logEntriesBase: number;
  readonly fullLogBytes: number;
  /** Replica RSS: at start, and added per live session. */
  readonly replicaBaseBytes: number;
  readonly replicaBytesPerLiveSession: number;
  /** Connections one replica opens: to a single node, and per master of a cluster plus fixed ones. */
  readonly connectionsSingle: number;
  readonly connectionsPerMaster: number;
  readonly connectionsClusterFixed: number;
}

export type Rates = Record<Kind, number>;

/** Announcements per second: one per flush; appends arriving within a flush share it, so a replica saturates near 1000 / flushMs. */
export function announcesPerSecond(load: Load, k: Constants, t: Timers = DEFAULT_TIMERS): number {
  const appends = (k.appendsPerCall * load.callsPerSecond) / load.replicas;
  const perReplica = appends / (1 + (appends * k.flushWindowMs) / 1000);
  return load.replicas * Math.min(perReplica, 1000 / t.flushMs);
}

/**
 * TTL touches: each (session, replica) pair touches at most once per interval. With calls round-robin
 * over sessions and replicas (the bench), a pair is called every P = S·R/C s and touches every
 * ceil(I/P) calls; in general the rate is at most min(C, S·R/I).
 */
export function touchesPerSecond(load: Load, t: Timers = DEFAULT_TIMERS): number {
  const pairs = load.sessions * (load.replicasPerSession ?? load.replicas);
  const period = pairs / load.callsPerSecond;
  // (less a hair: a pair called exactly every I / 2 s touches every second call, not every third)
  return load.callsPerSecond / Math.max(1, Math.ceil(t.touchIntervalMs / 1000 / period - 1e-9));
}

/** Top-level Redis commands per second, by kind. */
export function commandsPerSecond(load: Load, k: Constants, t: Timers = DEFAULT_TIMERS): Rates {
  const { replicas: R, sessions: S, callsPerSecond: C, streamShare: g } = load;
  const M = load.masters ?? 1;
  const miss = 1 - (load.liveHitRatio ?? 1);
  return {
    data: k.dataPerCall * C,
    eventAppend: k.appendsPerCall * C,
    // The announcement is a PUBLISH inside the append script: deliveries, not a command of its own.
    announce: 0,
    heartbeat: (R * 1000 * (load.cluster ? 2 : 1)) / t.heartbeatMs,
    liveness: Math.min(R, k.openCalls),
    // A restore's own touch is in its commands: only calls served live touch here; none where touches ride.
    touch: k.touchesRide ? 0 : (load.liveHitRatio ?? 1) * touchesPerSecond(load, t),
    peer: 0,
    limits: k.limitsPerCreation * (load.createsPerSecond ?? 0),
    memory: (R * M * 1000) / t.memoryCheckMs,
    streamRead: k.streamReadsPerStreamedCall * g * C,
    load: (g * S * 1000) / t.goneCheckMs + miss * C * k.commandsPerRestore,
    shape: k.shapePerCreation * (load.createsPerSecond ?? 0),
    scratchpad: 0,
    other: 0,
  };
}

export const total = (rates: Rates) => Object.values(rates).reduce((a, b) => a + b, 0);

/**
 * Pub/sub deliveries. Every replica subscribes to the fleet's `events` channel, so each announcement
 * is delivered R times: per replica it is the fleet's announcement rate, in all R x that. Heartbeats
 * go to their sender only.
 */
export function deliveries(load: Load, k: Constants, t: Timers = DEFAULT_TIMERS) {
  const announces = announcesPerSecond(load, k, t);
  const beats = (1000 * (load.cluster ? 2 : 1)) / t.heartbeatMs;
  const perReplica = announces + beats;
  // A message on the wire: the RESP frame (~30 bytes), the channel name (~20) and the payload.
  // Bytes of an announcement grow by one id (37 bytes) per session in its flush.
  const idsPerAnnounce = announces > 0 ? (k.appendsPerCall * load.callsPerSecond) / announces : 0;
  const bytesPerAnnounce = k.bytesPerAnnounce + 37 * (idsPerAnnounce - k.idsPerAnnounce);
  const bytesPerReplica = announces * (bytesPerAnnounce + 50) + beats * 100;
  return { perReplica, total: perReplica * load.replicas, bytesPerReplica, bytesTotal: bytesPerReplica * load.replicas };
}

/** Bytes of one session's log after `calls` calls: entries grow by E per call up to the log's bounds. */
export function logBytes(calls: number, k: Constants): number {
  const entries = k.logEntriesBase + (k.eventsPerCall > 0 ? k.eventsPerCall * calls : 0);
  return Math.min(k.fullLogBytes || Number.POSITIVE_INFINITY, entries * k.logBytesPerEntry);
}

/** Redis bytes of `load.sessions` sessions that have made `callsPerSession` calls each (Infinity: full logs). */
export function redisMemory(load: Load, k: Constants, callsPerSession: number): number {
  return load.sessions * (k.hashBytes + logBytes(callsPerSession, k));
}

export function replicaMemory(liveSessions: number, k: Constants): number {
  return k.replicaBaseBytes + liveSessions * k.replicaBytesPerLiveSession;
}

export function connectionsPerReplica(load: Load, k: Constants): number {
  const M = load.masters ?? 1;
  return load.cluster ? k.connectionsClusterFixed + M * k.connectionsPerMaster : k.connectionsSingle;
}
