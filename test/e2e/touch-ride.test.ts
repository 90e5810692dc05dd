// The sliding TTL rides on the call's own command: in SSE mode a call's events are appended by a script
// that also extends the session's record, so calls spread over two replicas send no PEXPIRE of their own,
// yet the record's expiry still slides with every call, never past the session's absolute ceiling.
// Real redis-server, two real server processes, the real SDK client, MONITOR on the test's own Redis.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, splitFetch } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

const IDLE_MS = 2000;
const MAX_MS = 6000;
const recordKey = (id: string) => `mcp-continuity:session:{${id}}`;

let redis: TestRedis;
let probe: Redis;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  redis = await TestRedis.start();
  probe = redis.client();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  probe?.disconnect();
  await redis?.close();
});

async function replicas(mode: 'sse' | 'json'): Promise<[ServerProcess, ServerProcess]> {
  const env = { REDIS_URL: redis.url, MCP_RESPONSE_MODE: mode, SESSION_IDLE_TTL: `${IDLE_MS}ms`, SESSION_MAX_TTL: `${MAX_MS}ms`, LOG_LEVEL: 'info' };
  const pair = await Promise.all([ServerProcess.start({ env }), ServerProcess.start({ env })]);
  servers.push(...pair);
  return pair;
}

/** PEXPIRE commands on the session's record while `body` runs (MONITOR): those a replica sent, and those inside scripts. */
async function pexpires(id: string, body: () => Promise<void>): Promise<{ separate: number; inScripts: number }> {
  const node = redis.client();
  const monitor = await node.monitor();
  node.disconnect(); // MONITOR runs on a connection of its own
  const counts = { separate: 0, inScripts: 0 };
  monitor.on('error', () => {});
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if ((args[0] ?? '').toLowerCase() !== 'pexpire' || args[1] !== recordKey(id)) return;
    if (source === 'lua') counts.inScripts++;
    else counts.separate++;
  });
  try {
    await body();
    await sleep(300); // the last flush
    return counts;
  } finally {
    monitor.disconnect();
  }
}

/** Calls alternating between the two replicas (GET stream on the first). */
async function spreadClient(a: ServerProcess, b: ServerProcess) {
  let n = 0;
  const post = () => (n++ % 2 === 0 ? a.origin : b.origin);
  return connectLegacy(a.url, { fetch: splitFetch(() => a.origin, post) });
}

describe('touches ride on the call\'s own command', () => {
  it('touch-ride:sse — calls spread over two replicas send no PEXPIRE of their own; the record slides past the idle TTL, never past its ceiling', async () => {
    const [a, b] = await replicas('sse');
    const client = await spreadClient(a, b);
    const id = client.sessionId;
    const shape = JSON.parse((await probe.hget(recordKey(id), 'shape')) ?? '{}') as { maxExpiresAt: number };
    expect(shape.maxExpiresAt).toBeGreaterThan(Date.now());
    await client.call('session_info'); // the first call ends the short pending TTL

    const expiries: number[] = [];
    const startedAt = Date.now();
    const counted = await pexpires(id, async () => {
      // Calls for longer than the idle TTL: the record lives on only if every call slides it.
      while (Date.now() - startedAt < IDLE_MS * 1.6) {
        await client.call('session_info');
        expiries.push(await probe.pexpiretime(recordKey(id)));
        await sleep(IDLE_MS / 8);
      }
    });
    expect(counted.separate).toBe(0);
    expect(counted.inScripts).toBeGreaterThan(0);
    expect(Math.min(...expiries)).toBeGreaterThan(0); // the record never expired meanwhile
    expect(Math.max(...expiries)).toBeGreaterThan(startedAt + IDLE_MS); // it slid past where the idle TTL would have ended it
    for (let i = 1; i < expiries.length; i++) expect(expiries[i]).toBeGreaterThanOrEqual(expiries[i - 1] as number); // only ever extended

    // Up to the absolute ceiling and past it: the expiry never goes beyond it, and then the session ends.
    const late: number[] = [];
    let ended = false;
    while (!ended && Date.now() < shape.maxExpiresAt + 2000) {
      try {
        await client.call('session_info');
      } catch {
        ended = true;
      }
      late.push(await probe.pexpiretime(recordKey(id)));
      await sleep(IDLE_MS / 4);
    }
    expect(ended).toBe(true);
    // A touch of its own (the first call after initialize, say) is a PX computed on the replica's clock that
    // Redis adds on arrival: it may pass the ceiling by the command's transit, a few ms, never by a slide.
    const TRANSIT_MS = 25;
    for (const at of late.filter((t) => t > 0)) expect(at).toBeLessThanOrEqual(shape.maxExpiresAt + TRANSIT_MS);
    expect(await probe.exists(recordKey(id))).toBe(0);
    await client.close();
  }, 60_000);

  it('touch-ride:json — the same calls in JSON mode (no events to ride on) still extend the record with a touch of their own', async () => {
    const [a, b] = await replicas('json');
    const client = await spreadClient(a, b);
    const id = client.sessionId;
    await client.call('session_info');
    const startedAt = Date.now();
    const counted = await pexpires(id, async () => {
      while (Date.now() - startedAt < IDLE_MS * 1.6) {
        await client.call('session_info');
        await sleep(IDLE_MS / 8);
      }
    });
    expect(counted.separate).toBeGreaterThan(0);
    expect(await probe.pexpiretime(recordKey(id))).toBeGreaterThan(startedAt + IDLE_MS);
    await client.close();
  }, 60_000);
});
