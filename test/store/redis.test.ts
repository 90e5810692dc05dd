// The Redis store under what production does to it: two replicas writing at once, a frozen
// invalidation connection, Redis refusing writes (OOM), a hung Redis (DEBUG SLEEP), an outage.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../app/sessions/redis-store.js';
import { parseRedisUrl } from '../../app/sessions/redis-url.js';
import { sampleShape } from '../support/records.js';
import { TestRedis } from '../support/redis.js';
import { useRedisStores } from '../support/stores.js';
import { FreezingProxy } from '../support/tcp-proxy.js';

const fixture = useRedisStores(500);

async function until(check: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await sleep(20);
  }
  return Date.now() - started;
}

describe('RedisSessionStore', () => {
  it('keeps every key of a session under its prefix and hash tag, so deployments sharing a Redis never meet', async () => {
    const [a, b] = [await fixture.open({ prefix: 'alpha:' }), await fixture.open({ prefix: 'beta:' })];
    const shape = sampleShape();
    await a.create(shape, 60_000);
    expect((await b.load(shape.id)).status).toBe('absent');
    const inspect = fixture.redis.client();
    expect(await inspect.keys(`*${shape.id}*`)).toEqual([`alpha:session:{${shape.id}}`]);
    inspect.disconnect();
  });

  it('announces a shape change to other replicas with its revision, and not to itself', async () => {
    const prefix = `shared${randomUUID().slice(0, 6)}:`;
    const [a, b] = [await fixture.open({ prefix }), await fixture.open({ prefix })];
    const heardA: string[] = [];
    const heardB: string[] = [];
    a.onInvalidate((id, change) => heardA.push(`${change.kind} ${id} ${'rev' in change ? change.rev : ''}`));
    b.onInvalidate((id, change) => heardB.push(`${change.kind} ${id} ${'rev' in change ? change.rev : ''}`));
    const shape = sampleShape();
    await a.create(shape, 60_000);
    await a.updateShape({ ...shape, toolsets: ['math'] }, 1, 60_000);
    await a.dataSet(shape.id, 'k', 'v', 60_000); // data changes announce nothing: nobody caches data
    await until(() => heardB.length > 0, 2000);
    await sleep(100);
    expect(heardB).toEqual([`shape ${shape.id} 2`]);
    expect(heardA).toEqual([]);
  });

  it('reports planted garbage, old versions, mismatched ids and foreign types as corrupt', async () => {
    const store = await fixture.open({ prefix: 'plant:' });
    const inspect = fixture.redis.client();
    const cases: Array<[string, (key: string, id: string) => Promise<unknown>]> = [
      ['not JSON', (key) => inspect.hset(key, { rev: '1', shape: '{"v":2,' })],
      ['record format version 1 is outside the versions this release reads', (key, id) => inspect.hset(key, { rev: '1', shape: JSON.stringify({ ...sampleShape({ id }), v: 1 }) })],
      ['record id does not match its key', (key) => inspect.hset(key, { rev: '1', shape: JSON.stringify(sampleShape()) })],
      ['revision or shape missing', (key) => inspect.hset(key, { shape: '{}' })],
      ['WRONGTYPE', (key) => inspect.set(key, 'a string')],
    ];
    for (const [reason, plant] of cases) {
      const id = randomUUID();
      await plant(`plant:session:{${id}}`, id);
      const result = await store.load(id);
      expect(result.status === 'corrupt' && result.reason).toContain(reason);
      if (reason === 'WRONGTYPE') await expect(store.dataSet(id, 'k', 'v', 1000)).rejects.toMatchObject({ code: 'gone' });
    }
    inspect.disconnect();
  });

  it('keeps every confirmed write when two replicas write different keys of one session at once', async () => {
    const prefix = `par${randomUUID().slice(0, 6)}:`;
    const [a, b] = [await fixture.open({ prefix }), await fixture.open({ prefix })];
    for (let trial = 0; trial < 30; trial++) {
      const shape = sampleShape();
      await a.create(shape, 60_000);
      const writes = Array.from({ length: 10 }, (_, i) => ((i % 2 ? a : b) as RedisSessionStore).dataSet(shape.id, `k${i}`, i, 60_000));
      await Promise.all(writes);
      const [onA, onB] = [await a.dataList(shape.id), await b.dataList(shape.id)];
      expect(Object.keys(onA).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
      expect({ ...onB }).toEqual({ ...onA });
    }
  });

  it('ends a key written by both replicas at one of the confirmed values, the same on both', async () => {
    const prefix = `same${randomUUID().slice(0, 6)}:`;
    const [a, b] = [await fixture.open({ prefix }), await fixture.open({ prefix })];
    const shape = sampleShape();
    await a.create(shape, 60_000);
    await Promise.all([a.dataSet(shape.id, 'k', 'from-a', 60_000), b.dataSet(shape.id, 'k', 'from-b', 60_000)]);
    const seen = [await a.dataGet(shape.id, 'k'), await b.dataGet(shape.id, 'k')];
    expect(['from-a', 'from-b']).toContain(seen[0]);
    expect(seen[1]).toBe(seen[0]);
  });

  it('serializes concurrent shape changes: one writes, the other gets a conflict with the winner', async () => {
    const prefix = `cas${randomUUID().slice(0, 6)}:`;
    const [a, b] = [await fixture.open({ prefix }), await fixture.open({ prefix })];
    const shape = sampleShape();
    await a.create(shape, 60_000);
    const results = await Promise.all([a.updateShape({ ...shape, toolsets: ['math'] }, 1, 60_000), b.updateShape({ ...shape, toolsets: ['text'] }, 1, 60_000)]);
    expect(results.map((r) => r.status).sort()).toEqual(['conflict', 'written']);
  });

  it('says "not saved" when Redis refuses writes (out of memory) and writes nothing', async () => {
    const local = await TestRedis.start({ args: ['--maxmemory-policy', 'noeviction'] });
    const store = await fixture.open({ target: local });
    const admin = local.client();
    try {
      const shape = sampleShape();
      await store.create(shape, 60_000);
      await store.dataSet(shape.id, 'before', 'kept', 60_000);
      await admin.config('SET', 'maxmemory', '1');
      await expect(store.dataSet(shape.id, 'after', 'x', 60_000)).rejects.toThrow('Not saved: session store unavailable, retry.');
      await expect(store.updateShape({ ...shape, toolsets: ['math'] }, 1, 60_000)).rejects.toThrow(/Not saved/);
      await expect(store.create(sampleShape(), 60_000)).rejects.toThrow(/Not saved/);
      expect(await store.dataGet(shape.id, 'before')).toBe('kept'); // reads still work
      await admin.config('SET', 'maxmemory', '0');
      expect({ ...(await store.dataList(shape.id)) }).toEqual({ before: 'kept' });
    } finally {
      admin.disconnect();
      await local.close();
    }
  });

  it('answers health at once while Redis hangs, fails commands within their bound, and resets the connection', async () => {
    const local = await TestRedis.start({ args: ['--enable-debug-command', 'yes'] });
    const store = new RedisSessionStore({ target: parseRedisUrl(local.url), keyPrefix: 'hang:', commandTimeoutMs: 300, heartbeatMs: 200 });
    const admin = local.client();
    try {
      expect(await store.waitUntilReady(5000)).toBe(true);
      const shape = sampleShape();
      await store.create(shape, 60_000);
      await admin.ping();
      const sleeping = admin.call('DEBUG', 'SLEEP', '2');
      await sleep(50);
      const started = performance.now();
      store.health();
      expect(performance.now() - started).toBeLessThan(5);
      const failing = Date.now();
      // Sent, then reported as not saved: it must never land, not even when Redis wakes up and reads it.
      await expect(store.dataSet(shape.id, 'late', 'x', 60_000)).rejects.toThrow('Not saved: session store unavailable, retry.');
      expect(Date.now() - failing).toBeLessThan(1500);
      await expect(store.dataGet(shape.id, 'k')).rejects.toMatchObject({ code: 'unavailable' });
      expect((await store.load(shape.id)).status).toBe('unavailable');
      await until(() => !store.health().channelProven, 2000);
      await until(() => store.health().connected && store.health().channelProven, 8000);
      await sleeping;
      expect(await store.dataGet(shape.id, 'k')).toBeUndefined();
      await sleep(200);
      expect(await admin.hget(`hang:session:{${shape.id}}`, 'd:"late"')).toBeNull();
    } finally {
      admin.disconnect();
      await store.close();
      await local.close();
    }
  });

  it('answers unavailable within its bound during an outage, and tells listeners when Redis is back', async () => {
    const local = await TestRedis.start();
    const store = await fixture.open({ target: local });
    let reconnected = 0;
    store.onReconnect(() => reconnected++);
    await local.stop();
    const started = Date.now();
    expect((await store.load(randomUUID())).status).toBe('unavailable');
    await expect(store.create(sampleShape(), 1000)).rejects.toMatchObject({ code: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(3000);
    await until(() => !store.health().connected, 2000);
    await local.resume();
    await until(() => store.health().connected && store.health().channelProven, 8000);
    expect(reconnected).toBe(1);
    await local.close();
  });

  it('notices a frozen invalidation connection within 5 s, tells listeners, and gets a new one', async () => {
    const proxy = await FreezingProxy.start(fixture.redis.port);
    const store = new RedisSessionStore({ target: parseRedisUrl(proxy.url), keyPrefix: 'frz:', commandTimeoutMs: 500, heartbeatMs: 1000 });
    try {
      expect(await store.waitUntilReady(5000)).toBe(true);
      let suspects = 0;
      store.onChannelSuspect(() => suspects++);
      expect(proxy.freezeSubscribers()).toBe(1);
      const noticedAfter = await until(() => !store.health().channelProven, 5000);
      expect(noticedAfter).toBeLessThan(5000);
      await until(() => suspects >= 1, 2000);
      // The reset made a fresh subscriber connection through the proxy; it is proven again.
      await until(() => store.health().channelProven, 5000);
      expect(proxy.liveSubscribers).toBe(1);
      expect(suspects).toBeGreaterThanOrEqual(2);
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});
