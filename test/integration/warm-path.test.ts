// The warm path touches no Redis, and a burst of requests for one cold session restores it once.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { startServer, type RunningServer } from '../../app/server.js';
import { connectAsking } from '../support/asking-client.js';
import { connectLegacy, rawPost } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';

let redis: TestRedis;
const running: RunningServer[] = [];

async function start(): Promise<RunningServer> {
  const config = loadConfig({ PORT: '0', REDIS_URL: redis.url, MCP_RESPONSE_MODE: 'json' });
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  running.push(server);
  return server;
}

/** Calls per Redis command since the last CONFIG RESETSTAT, from INFO commandstats. */
async function commandCounts(): Promise<Record<string, number>> {
  const client = redis.client();
  const info = await client.info('commandstats');
  client.disconnect();
  const counts: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) counts[match[1] as string] = Number(match[2]);
  return counts;
}

beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await Promise.all(running.map((s) => s.close()));
  await redis?.close();
});

describe('warm path and restore', () => {
  it('hosting:warm — calls that touch no data send no command to Redis; each data call sends exactly one', async () => {
    const server = await start();
    const client = await connectLegacy(server.url);
    await client.call('remember', { key: 'k', value: 'v' });
    await client.call('session_info'); // the first call after initialize extends the record's TTL once
    await new Promise((resolve) => setTimeout(resolve, 100));
    const admin = redis.client();
    await admin.config('RESETSTAT');
    const started = Date.now();
    for (let i = 0; i < 50; i++) await client.call('session_info');
    const idle = await commandCounts();
    await admin.config('RESETSTAT');
    // A tool list is the shape itself: it is read from the store, so a toolset enabled elsewhere shows.
    await client.client.listTools();
    const listing = await commandCounts();
    await admin.config('RESETSTAT');
    for (let i = 0; i < 50; i++) expect(await client.call('recall', { key: 'k' })).toBe('v');
    const reads = await commandCounts();
    await admin.config('RESETSTAT');
    for (let i = 0; i < 50; i++) await client.call('remember', { key: 'k', value: String(i) });
    const writes = await commandCounts();
    admin.disconnect();
    const seconds = (Date.now() - started) / 1000;
    const server_ = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([c]) => !['info', 'config|resetstat', 'publish'].includes(c)));
    // The only background traffic is the channel heartbeat: one PUBLISH a second.
    expect(idle.publish ?? 0).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
    expect(server_(idle)).toEqual({});
    expect(server_(listing)).toEqual({ hmget: 1 });
    expect(server_(reads)).toEqual({ hmget: 50 });
    // One EVALSHA (one round trip) per write; the other commands run inside the script: its deadline
    // (TIME), the write, and the sliding expiry riding on it (TIME, PTTL and PEXPIRE of the record and its log).
    expect(server_(writes)).toEqual({ evalsha: 50, time: 100, exists: 50, hgetall: 50, hset: 50, pttl: 100, pexpire: 100 });
    await client.close();
  });

  it('hosting:single-flight — concurrent first requests for a cold session cause one restore', async () => {
    const [a, b] = [await start(), await start()];
    const client = await connectLegacy(a.url);
    await client.call('remember', { key: 'k', value: 'v' });
    const headers = { 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' };
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, i) => rawPost(b.url, { jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'recall', arguments: { key: 'k' } } }, headers)),
    );
    const bodies = await Promise.all(burst.map((r) => r.text()));
    expect(burst.map((r) => r.status)).toEqual(Array(8).fill(200));
    for (const body of bodies) expect(body).toContain('"text":"v"');
    expect(b.host.stats.restores).toBe(1);
    await client.close();
  });

  it('hosting:warm-asking — a client that answers elicitations pays nothing for calls that do not ask; in JSON mode its questions go to the GET stream and the tool finishes with the answer', async () => {
    const server = await start();
    const client = await connectAsking(server.url, { answer: { action: 'accept', content: { confirm: false } } });
    await client.call('remember', { key: 'k', value: 'v' });
    await client.call('session_info');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const admin = redis.client();
    const server_ = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([c]) => !['info', 'config|resetstat', 'publish'].includes(c)));
    await admin.config('RESETSTAT');
    for (let i = 0; i < 20; i++) await client.call('session_info');
    const idle = await commandCounts();
    await admin.config('RESETSTAT');
    for (let i = 0; i < 20; i++) expect(await client.call('forget_all')).toBe('Kept everything.');
    const asking = await commandCounts();
    admin.disconnect();
    expect(server_(idle)).toEqual({});
    // One HGETALL per call (the scratchpad's keys); the rest is the question's trip through the event log to the GET stream.
    expect(server_(asking).hgetall).toBe(20);
    expect(client.asked).toHaveLength(20);
    await client.close();
  });
});
