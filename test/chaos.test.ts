// The chaos drill, short: replicas behind a readiness-aware proxy through drained restarts, a SIGKILL and a Redis outage.
import { describe, expect, it } from 'vitest';
import { elicitationsLostOutsideFaults } from '../bench/chaos.js';
import { runDrill, type DrillOptions } from '../bench/chaos-drill.js';

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

describe('chaos drill (short)', () => {
  it('chaos:redis — with two writes in flight per client, no session and no confirmed write is lost through a rolling restart, a SIGKILL (its calls in flight fail fast), a frozen invalidation connection and a Redis restart, and the drained rolling restart fails no call', { timeout: 90_000 }, async () => {
    const result = await runDrill({ ...SHORT, mode: 'redis' });
    expect(result.lostDetails).toEqual([]);
    expect(result.lost).toBe(0);
    expect(result.confirmedWritesLost).toBe(0);
    expect(result.restarts).toBe(SHORT.replicas);
    // Each replica drained (readiness failed, the proxy moved away, calls finished) and exited cleanly.
    expect(result.drainExitCodes).toEqual(Array.from({ length: SHORT.replicas }, () => 0));
    expect(result.failuresByPhase['rolling restart'] ?? 0).toBe(0);
    expect(result.kills).toBe(1);
    // Calls in flight on the killed replica: their streams resume elsewhere and fail fast with -32003 ("may or may not have taken effect").
    expect(result.orphans.details.filter((line) => line.includes(': timeout'))).toEqual([]);
    expect(result.orphans.timeouts).toBe(0);
    expect(result.calls).toBeGreaterThan(result.failed);
    // Clients whose tool asks the user: the proxy sends each answer to any replica, and none is lost but to
    // the faults themselves (charged by what each call touched and when it ran, see faultOf).
    expect(result.elicitations.answered).toBeGreaterThan(0);
    expect(result.elicitations.lost.filter((line) => line.endsWith('charged to: none'))).toEqual([]);
    expect(elicitationsLostOutsideFaults(result)).toBe(0);
  });

  it('chaos:memory — the same drill without Redis loses sessions', { timeout: 60_000 }, async () => {
    const result = await runDrill({ ...SHORT, mode: 'memory' });
    expect(result.lost).toBeGreaterThan(0);
  });
});
