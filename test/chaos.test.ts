// The chaos drill, short: replicas behind a readiness-aware proxy through drained restarts, a SIGKILL and a Redis
// outage, on one Redis node and on a 3-master cluster (slots moving, a master restarting).
import { describe, expect, it } from 'vitest';
import { elicitationsLostOutsideFaults } from '../bench/chaos.js';
import type { CallRecord } from '../bench/chaos-calls.js';
import { FAIL_FAST_WINDOW_MS, faultOf, orphanReport, runDrill, type DrillOptions, type DrillResult } from '../bench/chaos-drill.js';

const SHORT: Omit<DrillOptions, 'mode'> = {
  replicas: 2,
  clients: 6,
  settleMs: 1000,
  rollingRounds: 1,
  kills: 1,
  outageMs: 2000,
  frozenMs: 5000,
  thinkMs: 20,
  // Above the orphan detection (the client's 1 s retry, then about 3 s until the writer's key is called
  // dead, more under load): a call in flight on the killed replica must end with -32003, not a timeout.
  callTimeoutMs: 8000,
  drainDelayMs: 1000,
};

/** What the drill in Redis mode must hold, on one node and on a cluster alike. */
function expectNothingLost(result: DrillResult): void {
  expect(result.lostDetails).toEqual([]);
  expect(result.lost).toBe(0);
  expect(result.confirmedWritesLost).toBe(0);
  expect(result.restarts).toBe(SHORT.replicas);
  // Each replica drained (readiness failed, the proxy moved away, calls finished) and exited cleanly.
  expect(result.drainExitCodes).toEqual(Array.from({ length: SHORT.replicas }, () => 0));
  expect(result.failuresByPhase['rolling restart'] ?? 0).toBe(0);
  expect(result.kills).toBe(1);
  // Calls in flight on the killed replica: their streams resume elsewhere and fail fast with -32003 ("may or may not have taken effect").
  // (Not counted: calls killed before their first event reached the store, which no replica can know of, reported as unresumable; and calls still waiting when Redis went down soon after the kill, charged to the outage.)
  expect(result.orphans.timeouts, result.orphans.details.join('\n')).toBe(0);
  expect(result.calls).toBeGreaterThan(result.failed);
  // Clients whose tool asks the user: the proxy sends each answer to any replica, and none is lost but to
  // the faults themselves (charged by what each call touched and when it ran, see faultOf).
  expect(result.elicitations.answered).toBeGreaterThan(0);
  expect(result.elicitations.lost.filter((line) => line.endsWith('charged to: none'))).toEqual([]);
  expect(elicitationsLostOutsideFaults(result)).toBe(0);
}

describe('chaos drill (short)', () => {
  it('chaos:redis — with two writes in flight per client, no session and no confirmed write is lost through a rolling restart, a SIGKILL (its calls in flight fail fast), a frozen invalidation connection and a Redis restart, and the drained rolling restart fails no call', { timeout: 90_000 }, async () => {
    expectNothingLost(await runDrill({ ...SHORT, mode: 'redis' }));
  });

  it('chaos:cluster — the same drill on a 3-master Redis Cluster, with every live session\'s slot moved to another master mid-run and the master holding most sessions restarted (data kept): nothing lost either', { timeout: 90_000 }, async () => {
    // The frozen invalidation connection is the single-node drill's (the same classic subscriber): 5 s saved here.
    const result = await runDrill({ ...SHORT, mode: 'redis', topology: 'cluster', frozenMs: 0 });
    expect(result.topology).toBe('cluster');
    expect(result.slotsMoved).toBe(SHORT.clients);
    expectNothingLost(result);
  });

  it('chaos:memory — the same drill without Redis loses sessions', { timeout: 60_000 }, async () => {
    const result = await runDrill({ ...SHORT, mode: 'memory' });
    expect(result.lost).toBeGreaterThan(0);
  });
});

describe('chaos drill accounting', () => {
  const call = (over: Partial<CallRecord>): CallRecord => ({ id: '0.0', client: 0, tool: 'forget_all', started: 1000, startPhase: 'rolling restart 1', port: 1, ended: 5000, endPhase: 'frozen subscriber', outcome: 'timeout', questions: [], ...over });
  const kills = [{ port: 2, at: 1500, back: 1900 }];

  it('charges a lost call to the SIGKILL it touched, even when the client gave up in a later phase', () => {
    // Asked by the surviving replica 1; the answer went to replica 2 just as it was killed (502, never retried).
    expect(faultOf(call({ questions: [{ id: 's1.r1.1.0', asked: 1200, answerPort: 2, answerStatus: 502 }] }), { kills })).toBe('SIGKILL');
    expect(faultOf(call({ port: 2 }), { kills })).toBe('SIGKILL');
  });

  it('charges a lost call to the Redis outage it overlapped, and to nothing when it touched no fault', () => {
    expect(faultOf(call({}), { kills, outage: { from: 4000, to: 6000 } })).toBe('Redis down');
    // Running on and answered to the replica that survived: nothing explains its loss.
    expect(faultOf(call({ questions: [{ id: 's1.r1.1.0', asked: 1200, answerPort: 1, answerStatus: 202 }] }), { kills, outage: { from: 6000, to: 8000 } })).toBe('none');
    // Sent to the dead replica before the proxy noticed (502): the kill's; sent after it was back: not.
    expect(faultOf(call({ port: 2, started: 1600, ended: 1700, outcome: 'http' }), { kills })).toBe('SIGKILL');
    expect(faultOf(call({ port: 2, started: 2000 }), { kills })).toBe('none');
  });

  it('reports calls in flight on a killed replica as failed fast (with the time from the kill) or timed out', () => {
    const calls = [call({ port: 2, outcome: 'orphaned', ended: 4500 }), call({ port: 2, outcome: 'orphaned', ended: 5500 }), call({ port: 2, outcome: 'timeout', ended: 9000 }), call({ port: 1 })];
    const report = orphanReport([{ calls, resumes: [] }], kills, 0);
    expect(report).toMatchObject({ inFlight: 3, failedFast: 2, failedFastMs: { p50: 3000, max: 4000 }, timeouts: 1, unresumable: 0 });
    // A resume refused because no replica knows the stream: the kill beat the event write, not a slow verdict.
    const refused = orphanReport([{ calls, resumes: [{ at: 3000, port: 1, status: 400, refusal: 'Bad Request: Last-Event-ID names no stream of this session that can be resumed' }] }], kills, 0);
    expect(refused).toMatchObject({ timeouts: 0, unresumable: 1 });
    // Redis went down soon after the kill, while the call waited: charged to the outage; a later outage is not.
    expect(orphanReport([{ calls, resumes: [] }], kills, 0, { from: kills[0]!.at + 1000, to: kills[0]!.at + 3000 })).toMatchObject({ timeouts: 0, inOutage: 1 });
    expect(orphanReport([{ calls, resumes: [] }], kills, 0, { from: kills[0]!.at + FAIL_FAST_WINDOW_MS + 1, to: kills[0]!.at + FAIL_FAST_WINDOW_MS + 3000 })).toMatchObject({ timeouts: 1, inOutage: 0 });
  });
});
