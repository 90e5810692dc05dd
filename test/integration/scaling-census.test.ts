// The scaling bench's command census (bench/scaling-census.ts) sorts what the real Redis store sends
// into the model's terms: a real RedisSessionStore against a real redis-server, watched with MONITOR.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watch } from '../../bench/scaling-census.js';
import { RedisSessionStore } from '../../app/sessions/redis-store.js';
import { parseRedisUrl } from '../../app/sessions/redis-url.js';
import { sampleShape } from '../support/records.js';
import { TestRedis } from '../support/redis.js';

const PREFIX = 'census:';
let redis: TestRedis;
let store: RedisSessionStore;

beforeAll(async () => {
  redis = await TestRedis.start();
  store = new RedisSessionStore({ target: parseRedisUrl(redis.url), keyPrefix: PREFIX, commandTimeoutMs: 2000, heartbeatMs: 100, memoryCheckMs: 60_000 });
  await store.waitUntilReady(5000);
});

afterAll(async () => {
  await store?.close();
  await redis?.close();
});

describe('scaling census', () => {
  it('scaling:census — each store operation lands in its own term, script internals apart, publishes by channel', async () => {
    const record = sampleShape();
    const id = record.id;
    const census = await watch(redis.url, PREFIX);
    expect(await store.create(record, 60_000)).toBe(true);
    await store.dataSet(id, 'k', 'v', 60_000);
    await store.dataGet(id, 'k');
    await store.appendEvents([{ id, ttlMs: 60_000, events: [{ eventId: 'e1', streamId: '_GET_stream', message: '{}' }, { eventId: 'e2', streamId: '_GET_stream', message: '{}' }] }]);
    await store.readEvents(id);
    await store.touch(id, 60_000);
    await store.markAlive('w1', 1000);
    await store.isAlive('w1');
    await store.load(id);
    await sleep(350); // a few heartbeats
    const c = await census.stop();
    expect(c.topLevel.shape).toBe(1);
    expect(c.topLevel.data).toBe(2);
    expect(c.topLevel.eventAppend).toBe(1);
    // The announcement rides in the append script: no PUBLISH of its own.
    expect(c.topLevel.announce).toBe(0);
    expect(c.inScripts.publish).toBe(1);
    expect(c.topLevel.streamRead).toBe(1);
    expect(c.topLevel.touch).toBe(1);
    expect(c.topLevel.liveness).toBe(2);
    expect(c.topLevel.load).toBe(1);
    expect(c.topLevel.heartbeat).toBeGreaterThanOrEqual(2);
    expect(c.topLevel.other).toBe(0);
    // Two events in one append script: two XADDs inside it, none at the top level.
    expect(c.inScripts.xadd).toBe(2);
    expect(c.publishes.events).toEqual({ count: 1, bytes: Buffer.byteLength(`appended ${store.replicaId} ${id} ~_GET_stream`) });
    expect(c.announcedIds).toBe(1);
  });
});
