// The formulas of docs/scaling.md (bench/scaling-model.ts): the parts whose shape matters for the
// projection, so a change that breaks them is seen before a doc quotes them.
import { describe, expect, it } from 'vitest';
import { announcesPerSecond, commandsPerSecond, connectionsPerReplica, DEFAULT_TIMERS, deliveries, logBytes, touchesPerSecond, type Constants } from '../../bench/scaling-model.js';

const k: Constants = {
  dataPerCall: 0.5,
  appendsPerCall: 1,
  eventsPerCall: 1,
  announcesPerCall: 1,
  flushWindowMs: 0,
  idsPerAnnounce: 1,
  bytesPerAnnounce: 84,
  streamReadsPerStreamedCall: 1,
  openCalls: 0,
  commandsPerRestore: 1,
  shapePerCreation: 1,
  limitsPerCreation: 1,
  hashBytes: 500,
  logBytesPerEntry: 1000,
  logEntriesBase: 2,
  fullLogBytes: 90_000,
  replicaBaseBytes: 100e6,
  replicaBytesPerLiveSession: 90_000,
  connectionsSingle: 2,
  connectionsPerMaster: 1,
  connectionsClusterFixed: 3,
};

describe('scaling model', () => {
  it('scaling:announce-cap — announcements follow the calls until a replica flushes every FLUSH_MS, then stop growing with calls', () => {
    expect(announcesPerSecond({ replicas: 10, sessions: 1000, callsPerSecond: 100, streamShare: 0 }, k)).toBeCloseTo(100);
    const cap = (10 * 1000) / DEFAULT_TIMERS.flushMs;
    expect(announcesPerSecond({ replicas: 10, sessions: 1000, callsPerSecond: 1e6, streamShare: 0 }, k)).toBeCloseTo(cap);
    // Fitted merging: 30 appends/s on one replica with a 5 ms window share flushes (30 / 1.15).
    expect(announcesPerSecond({ replicas: 1, sessions: 48, callsPerSecond: 30, streamShare: 0 }, { ...k, flushWindowMs: 5 })).toBeCloseTo(30 / 1.15);
    expect(announcesPerSecond({ replicas: 1, sessions: 48, callsPerSecond: 1e6, streamShare: 0 }, { ...k, flushWindowMs: 5 })).toBeCloseTo(cap / 10, 0);
  });

  it('scaling:deliveries — every replica hears every announcement: the total grows with replicas x announcements', () => {
    const at = (replicas: number) => deliveries({ replicas, sessions: 1000, callsPerSecond: 300, streamShare: 0 }, k);
    expect(at(3).perReplica).toBeCloseTo(301);
    expect(at(6).perReplica).toBeCloseTo(301);
    expect(at(6).total / at(3).total).toBeCloseTo(2);
  });

  it('scaling:touches — a (session, replica) pair touches once per interval at most, or on every call when called less often', () => {
    // Pair called every S·R/C = 1.6 s, interval 2 s: every second call.
    expect(touchesPerSecond({ replicas: 1, sessions: 48, callsPerSecond: 30, streamShare: 0 }, { ...DEFAULT_TIMERS, touchIntervalMs: 2000 })).toBeCloseTo(15);
    // Called every 4.8 s: every call touches.
    expect(touchesPerSecond({ replicas: 3, sessions: 48, callsPerSecond: 30, streamShare: 0 }, { ...DEFAULT_TIMERS, touchIntervalMs: 2000 })).toBeCloseTo(30);
  });

  it('scaling:liveness — a replica refreshes its key at most once a second while it has an open call', () => {
    const load = { replicas: 1, sessions: 48, callsPerSecond: 30, streamShare: 0 };
    expect(commandsPerSecond(load, k).liveness).toBe(0);
    // Half a call open on average: half the seconds of one replica, or of six; two open calls cap one replica.
    expect(commandsPerSecond(load, { ...k, openCalls: 0.5 }).liveness).toBeCloseTo(0.5);
    expect(commandsPerSecond({ ...load, replicas: 6 }, { ...k, openCalls: 0.5 }).liveness).toBeCloseTo(0.5);
    expect(commandsPerSecond(load, { ...k, openCalls: 2 }).liveness).toBe(1);
    expect(commandsPerSecond({ ...load, replicas: 100 }, { ...k, openCalls: 1e6 }).liveness).toBeCloseTo(100);
  });

  it('scaling:log-bound — a session\'s log grows by E entries per call up to the bytes of a full log', () => {
    expect(logBytes(10, k)).toBe(12_000);
    expect(logBytes(10_000, k)).toBe(90_000);
    expect(logBytes(Number.POSITIVE_INFINITY, { ...k, eventsPerCall: 0, fullLogBytes: 0 })).toBe(2000);
  });

  it('scaling:restores-and-connections — misses of the live cache add restores; a cluster adds connections per master', () => {
    const load = { replicas: 100, sessions: 1e6, callsPerSecond: 1e6 / 30, streamShare: 0 };
    const sticky = commandsPerSecond({ ...load, liveHitRatio: 1 }, k).load;
    const spread = commandsPerSecond({ ...load, liveHitRatio: 0.002 }, k).load;
    expect(spread - sticky).toBeCloseTo(0.998 * load.callsPerSecond);
    expect(connectionsPerReplica(load, k)).toBe(2);
    expect(connectionsPerReplica({ ...load, cluster: true, masters: 6 }, k)).toBe(9);
  });
});

describe('scaling model after the announcement and the touches rode into the append script', () => {
  it('scaling:riding — no announce PUBLISH of its own, and no touch where calls log events; JSON mode still touches', () => {
    const load = { replicas: 3, sessions: 48, callsPerSecond: 30, streamShare: 0 };
    const timers = { ...DEFAULT_TIMERS, touchIntervalMs: 2000 };
    const sse = commandsPerSecond(load, { ...k, touchesRide: true }, timers);
    expect(sse.announce).toBe(0);
    expect(sse.touch).toBe(0);
    expect(deliveries(load, { ...k, touchesRide: true }, timers).perReplica).toBeGreaterThan(30); // still heard by every replica
    expect(commandsPerSecond(load, { ...k, appendsPerCall: 0, touchesRide: false }, timers).touch).toBeCloseTo(30);
  });
});
