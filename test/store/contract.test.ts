// One contract, three adapters: the memory store and the Redis store against a real redis-server and a real 3-master Redis Cluster.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DATA_LIMITS } from '../../app/sessions/data.js';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import type { SessionStore } from '../../app/sessions/store.js';
import { sampleShape } from '../support/records.js';
import { useClusterStores, useRedisStores } from '../support/stores.js';

const fixture = useRedisStores(500);
const clustered = useClusterStores(500);

const adapters: Array<[string, () => Promise<SessionStore>]> = [
  ['memory', async () => new MemorySessionStore()],
  ['redis', () => fixture.open()],
  ['redis cluster', () => clustered.open()],
];

/** Strings a client can send that a naive UTF-8 round trip would mangle. */
const AWKWARD = ['__proto__', 'constructor', 'a\u0000b', '\ud800', 'x\udfffy', '👩‍👩‍👧', 'é', ''.padEnd(128, 'k')];

describe.each(adapters)('SessionStore contract: %s', (_name, open) => {
  it('gives back exactly the shape it created, at revision 1, and creates only once', async () => {
    const store = await open();
    const shape = sampleShape({ capabilities: { sampling: {} }, toolsets: ['math'] });
    expect(await store.create(shape, 60_000)).toBe(true);
    expect(await store.create({ ...shape, toolsets: [] }, 60_000)).toBe(false);
    expect(await store.load(shape.id)).toEqual({ status: 'found', shape, rev: 1 });
  });

  it('answers absent for an id never created', async () => {
    expect((await (await open()).load(randomUUID())).status).toBe('absent');
  });

  it('writes a shape only over the revision it was read at, and hands back the current one on conflict', async () => {
    const store = await open();
    const shape = sampleShape();
    await store.create(shape, 60_000);
    expect(await store.updateShape({ ...shape, toolsets: ['math'] }, 1, 60_000)).toEqual({ status: 'written', rev: 2 });
    const stale = await store.updateShape({ ...shape, toolsets: ['text'] }, 1, 60_000);
    expect(stale).toEqual({ status: 'conflict', current: { shape: { ...shape, toolsets: ['math'] }, rev: 2 } });
    expect(await store.updateShape({ ...shape, toolsets: ['math', 'text'] }, 2, 60_000)).toEqual({ status: 'written', rev: 3 });
    expect(await store.updateShape(sampleShape(), 1, 60_000)).toEqual({ status: 'gone' });
  });

  it('lets a session expire after its time to live, and touch extends it', async () => {
    const store = await open();
    const [short, touched] = [sampleShape(), sampleShape()];
    await store.create(short, 150);
    await store.create(touched, 150);
    await sleep(80);
    expect(await store.touch(touched.id, 1000)).toBe(true);
    await sleep(150);
    expect(['absent', 'expired']).toContain((await store.load(short.id)).status);
    expect((await store.load(touched.id)).status).toBe('found');
    expect(await store.touch(randomUUID(), 1000)).toBe(false);
  });

  it('deletes every key of a session, says whether something was there, and tells listeners', async () => {
    const store = await open();
    const shape = sampleShape();
    await store.create(shape, 60_000);
    await store.dataSet(shape.id, 'k', 'v', 60_000);
    const heard: string[] = [];
    const off = store.onInvalidate((id, change) => heard.push(`${change.kind} ${id}`));
    expect(await store.delete(shape.id)).toBe(true);
    expect(await store.delete(shape.id)).toBe(false);
    expect((await store.load(shape.id)).status).toBe('absent');
    await expect(store.dataGet(shape.id, 'k')).rejects.toThrow(/ended or expired/);
    await sleep(100);
    expect(heard).toEqual([`deleted ${shape.id}`]);
    off();
  });

  it('keeps data per key: set, get, overwrite, delete, list', async () => {
    const store = await open();
    const shape = sampleShape();
    await store.create(shape, 60_000);
    expect(await store.dataGet(shape.id, 'missing')).toBeUndefined();
    await store.dataSet(shape.id, 'a', 'one', 60_000);
    await store.dataSet(shape.id, 'b', 2, 60_000);
    await store.dataSet(shape.id, 'a', 'uno', 60_000);
    expect(await store.dataGet(shape.id, 'a')).toBe('uno');
    expect(await store.dataDelete(shape.id, 'b', 60_000)).toBe(true);
    expect(await store.dataDelete(shape.id, 'b', 60_000)).toBe(false);
    expect({ ...(await store.dataList(shape.id)) }).toEqual({ a: 'uno' });
    // Data writes leave the shape and its revision alone.
    expect(await store.load(shape.id)).toEqual({ status: 'found', shape, rev: 1 });
  });

  it('stores every JSON scalar as given and every awkward key and string intact', async () => {
    const store = await open();
    const shape = sampleShape();
    await store.create(shape, 60_000);
    const values = [0, -1.5, 1e300, true, false, null, '', '\ud800 lone', '\u2028', '{"not":"parsed"}', '1'];
    for (const [i, value] of values.entries()) await store.dataSet(shape.id, `v${i}`, value, 60_000);
    for (const [i, value] of values.entries()) expect(await store.dataGet(shape.id, `v${i}`)).toStrictEqual(value);
    for (const key of AWKWARD) await store.dataSet(shape.id, key, key, 60_000);
    for (const key of AWKWARD) expect(await store.dataGet(shape.id, key)).toBe(key);
    const listed = await store.dataList(shape.id);
    expect(Object.getPrototypeOf(listed)).toBeNull();
    for (const key of AWKWARD) expect(Object.hasOwn(listed, key)).toBe(true);
  });

  it('refuses a key past the key limit and a total past the byte limit, keeping what it had', async () => {
    const store = await open();
    const shape = sampleShape();
    await store.create(shape, 60_000);
    for (let i = 0; i < DATA_LIMITS.keys; i++) await store.dataSet(shape.id, `k${i}`, 'x', 60_000);
    await expect(store.dataSet(shape.id, 'one-more', 'x', 60_000)).rejects.toMatchObject({ code: 'full' });
    await store.dataSet(shape.id, 'k0', 'overwriting is fine', 60_000);
    const big = sampleShape();
    await store.create(big, 60_000);
    for (let i = 0; i < 4; i++) await store.dataSet(big.id, `big${i}`, 'y'.repeat(4000), 60_000);
    await expect(store.dataSet(big.id, 'big4', 'y'.repeat(4000), 60_000)).rejects.toMatchObject({ code: 'too-large' });
    expect(Object.keys(await store.dataList(big.id)).sort()).toEqual(['big0', 'big1', 'big2', 'big3']);
  });

  it('refuses data operations on a session that does not exist, instead of creating one', async () => {
    const store = await open();
    const id = randomUUID();
    await expect(store.dataSet(id, 'k', 'v', 60_000)).rejects.toMatchObject({ code: 'gone' });
    expect((await store.load(id)).status).toBe('absent');
  });

  it('appends the events of several sessions in one flush, each to its own log, and tells listeners', async () => {
    const store = await open();
    const shapes = [sampleShape(), sampleShape(), sampleShape(), sampleShape()];
    for (const shape of shapes) await store.create(shape, 60_000);
    const heard: string[] = [];
    const off = store.onEventsAppended((ids) => heard.push(...ids));
    const event = (id: string, n: number) => ({ eventId: `e${n}.${id}`, streamId: 'post', message: `{"n":${n}}` });
    await store.appendEvents(shapes.map((s, n) => ({ id: s.id, events: [event(s.id, n), event(s.id, n + 10)], ttlMs: 60_000 })));
    for (const [n, shape] of shapes.entries()) {
      expect((await store.readEvents(shape.id)).map((e) => e.message)).toEqual([`{"n":${n}}`, `{"n":${n + 10}}`]);
    }
    await sleep(100);
    expect(heard.sort()).toEqual(shapes.map((s) => s.id).sort());
    off();
  });

  it('answers health without a round trip', async () => {
    expect((await open()).health()).toMatchObject({ connected: true, channelProven: true });
  });
});
