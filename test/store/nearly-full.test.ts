// While Redis is nearly full, sessions stop growing: a log that grows is cut to a few KB and data may
// not grow past a small floor (overwrites that do not grow still work), so allkeys-lru has nothing to take.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_LIMITS, eventBytes } from '../../app/sessions/events.js';
import { RedisSessionStore } from '../../app/sessions/redis-store.js';
import { parseRedisUrl } from '../../app/sessions/redis-url.js';
import { sampleShape } from '../support/records.js';
import { TestRedis } from '../support/redis.js';

let redis: TestRedis;
let store: RedisSessionStore;

beforeAll(async () => {
  redis = await TestRedis.start({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] });
  // Any use counts as nearly full here.
  store = new RedisSessionStore({ target: parseRedisUrl(redis.url), keyPrefix: 'nf:', commandTimeoutMs: 1000, nearlyFullRatio: 0.000001, memoryCheckMs: 50 });
  await store.waitUntilReady(5000);
  while (!store.health().nearlyFull) await sleep(20);
});

afterAll(async () => {
  await store?.close();
  await redis?.close();
});

describe('nearly full', () => {
  it('redis:nearly-full — data may not grow past the floor, overwrites of the same size still work', async () => {
    const shape = sampleShape();
    await store.create(shape, 60_000);
    await store.dataSet(shape.id, 'small', 'x'.repeat(100), 60_000);
    await expect(store.dataSet(shape.id, 'big', 'y'.repeat(2000), 60_000)).rejects.toThrow('nearly full');
    await store.dataSet(shape.id, 'small', 'z'.repeat(100), 60_000);
    expect(await store.dataList(shape.id)).toEqual({ small: 'z'.repeat(100) });
  });

  it('redis:nearly-full-log — a log that grows is cut to the nearly-full bound', async () => {
    const shape = sampleShape();
    await store.create(shape, 60_000);
    const event = (n: number) => ({ eventId: `e${n}`, streamId: 's', message: JSON.stringify({ n, pad: 'p'.repeat(1500) }) });
    for (let n = 1; n <= 10; n++) await store.appendEvents([{ id: shape.id, events: [event(n)], ttlMs: 60_000 }]);
    const log = await store.readEvents(shape.id);
    expect(log.reduce((n, e) => n + eventBytes(e), 0)).toBeLessThanOrEqual(EVENT_LIMITS.nearlyFullBytes);
    expect(log.at(-1)?.eventId).toBe('e10');
  });
});
