// The chaos drill, short: replicas behind a round-robin proxy through restarts, a SIGKILL and a Redis outage.
import { describe, expect, it } from 'vitest';
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
  callTimeoutMs: 4000,
};

describe('chaos drill (short)', () => {
  it('chaos:redis — with two writes in flight per client, no session and no confirmed write is lost through a rolling restart, a SIGKILL, a frozen invalidation connection and a Redis restart', { timeout: 90_000 }, async () => {
    const result = await runDrill({ ...SHORT, mode: 'redis' });
    expect(result.lostDetails).toEqual([]);
    expect(result.lost).toBe(0);
    expect(result.confirmedWritesLost).toBe(0);
    expect(result.restarts).toBe(SHORT.replicas);
    expect(result.kills).toBe(1);
    expect(result.calls).toBeGreaterThan(result.failed);
  });

  it('chaos:memory — the same drill without Redis loses sessions', { timeout: 60_000 }, async () => {
    const result = await runDrill({ ...SHORT, mode: 'memory' });
    expect(result.lost).toBeGreaterThan(0);
  });
});
