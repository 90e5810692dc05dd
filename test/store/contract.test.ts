// One contract, two adapters: the memory store and the Redis store (against a real redis-server).
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import { emptyState } from '../../app/sessions/record.js';
import { RedisSessionStore } from '../../app/sessions/redis-store.js';
import { parseRedisUrl } from '../../app/sessions/redis-url.js';
import type { SessionStore } from '../../app/sessions/store.js';
import { sampleRecord } from '../support/records.js';
import { TestRedis } from '../support/redis.js';
import { useRedisStores } from '../support/stores.js';

const record = sampleRecord;

const fixture = useRedisStores(500);
const openRedis = (prefix?: string) => fixture.open({ prefix });

const adapters: Array<[string, () => Promise<SessionStore>]> = [
  ['memory', async () => new MemorySessionStore()],
  ['redis', () => openRedis()],
];

describe.each(adapters)('SessionStore contract: %s', (_name, open) => {
  it('gives back exactly what was saved', async () => {
    const store = await open();
    const saved = record();
    await store.save(saved, 60_000);
    expect(await store.load(saved.id)).toEqual({ status: 'found', record: saved });
  });

  it('answers absent for an id never saved', async () => {
    const store = await open();
    expect((await store.load(randomUUID())).status).toBe('absent');
  });

  it('lets a record expire after its time to live, and touch extends it', async () => {
    const store = await open();
    const [short, touched] = [record(), record()];
    await store.save(short, 150);
    await store.save(touched, 150);
    await sleep(80);
    expect(await store.touch(touched.id, 1000)).toBe(true);
    await sleep(150);
    expect(['absent', 'expired']).toContain((await store.load(short.id)).status);
    expect((await store.load(touched.id)).status).toBe('found');
  });

  it('reports that touch found nothing for a missing record', async () => {
    const store = await open();
    expect(await store.touch(randomUUID(), 1000)).toBe(false);
  });

  it('writes only where absent when asked, and overwrites otherwise', async () => {
    const store = await open();
    const first = record();
    await store.save(first, 60_000);
    await store.save({ ...first, state: { ...emptyState(), scratchpad: { city: 'Porto' } } }, 60_000, { onlyIfAbsent: true });
    expect(await store.load(first.id)).toMatchObject({ record: { state: { scratchpad: { city: 'Lisbon' } } } });
    await store.save({ ...first, state: { ...emptyState(), scratchpad: { city: 'Faro' } } }, 60_000);
    expect(await store.load(first.id)).toMatchObject({ record: { state: { scratchpad: { city: 'Faro' } } } });
  });

  it('deletes, says whether something was there, and tells listeners', async () => {
    const store = await open();
    const saved = record();
    await store.save(saved, 60_000);
    const heard: string[] = [];
    const off = store.onInvalidate((id, kind) => heard.push(`${kind} ${id}`));
    expect(await store.delete(saved.id)).toBe(true);
    expect(await store.delete(saved.id)).toBe(false);
    expect((await store.load(saved.id)).status).toBe('absent');
    await sleep(100);
    expect(heard).toContain(`deleted ${saved.id}`);
    off();
  });

  it('treats a non-positive time to live as removal', async () => {
    const store = await open();
    const saved = record();
    await store.save(saved, 60_000);
    await store.save(saved, 0);
    expect((await store.load(saved.id)).status).toBe('absent');
  });

  it('answers ping while up', async () => {
    expect(await (await open()).ping()).toBe(true);
  });
});

describe('RedisSessionStore specifics', () => {
  it('keeps keys under its prefix, so two deployments share one Redis without meeting', async () => {
    const [a, b] = [await openRedis('alpha:'), await openRedis('beta:')];
    const saved = record();
    await a.save(saved, 60_000);
    expect((await b.load(saved.id)).status).toBe('absent');
    const inspect = fixture.redis.client();
    expect(await inspect.exists(`alpha:session:${saved.id}`)).toBe(1);
    inspect.disconnect();
  });

  it('tells other replicas (not itself) that a record changed', async () => {
    const prefix = `shared${randomUUID().slice(0, 6)}:`;
    const [a, b] = [await openRedis(prefix), await openRedis(prefix)];
    const heardA: string[] = [];
    const heardB: string[] = [];
    a.onInvalidate((id, kind) => heardA.push(`${kind} ${id}`));
    b.onInvalidate((id, kind) => heardB.push(`${kind} ${id}`));
    await sleep(100); // subscriptions settle
    const saved = record();
    await a.save(saved, 60_000);
    await sleep(150);
    expect(heardB).toEqual([`updated ${saved.id}`]);
    expect(heardA).toEqual([]);
  });

  it('reports planted garbage, wrong versions and mismatched ids as corrupt', async () => {
    const store = await openRedis('plant:');
    const inspect = fixture.redis.client();
    const cases: Array<[string, string]> = [
      ['not JSON', '{"v":1,'],
      ['record version 2 is not 1', JSON.stringify({ ...record(), v: 2 })],
      ['schema', JSON.stringify({ v: 1, id: 'x' })],
      ['record id does not match its key', JSON.stringify(record())],
    ];
    for (const [reason, raw] of cases) {
      const id = randomUUID();
      await inspect.set(`plant:session:${id}`, raw);
      const result = await store.load(id);
      expect(result.status).toBe('corrupt');
      expect(result.status === 'corrupt' && result.reason).toContain(reason);
    }
    inspect.disconnect();
  });

  it('answers unavailable within its command bound when Redis is gone, and recovers when it is back', async () => {
    const local = await TestRedis.start();
    const store = new RedisSessionStore({ target: parseRedisUrl(local.url), keyPrefix: 'out:', commandTimeoutMs: 300 });
    try {
      expect(await store.waitUntilReady(5000)).toBe(true);
      let reconnected = 0;
      store.onReconnect(() => reconnected++);
      await local.stop();
      const started = Date.now();
      expect((await store.load(randomUUID())).status).toBe('unavailable');
      await expect(store.save(record(), 1000)).rejects.toThrow();
      expect(await store.ping()).toBe(false);
      expect(Date.now() - started).toBeLessThan(3000);
      await local.resume();
      const deadline = Date.now() + 8000;
      while (!(await store.ping()) && Date.now() < deadline) await sleep(100);
      expect(await store.ping()).toBe(true);
      expect(reconnected).toBe(1);
    } finally {
      await store.close();
      await local.close();
    }
  });
});
