// One contract, three adapters: the memory store and the Redis store against a real redis-server and a real 3-master Redis Cluster.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DATA_LIMITS } from '../../app/sessions/data.js';
import { EVENT_LIMITS, eventBytes } from '../../app/sessions/events.js';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import type { SessionStore } from '../../app/sessions/store.js';
import { RedisScratchpadStore } from '../../app/sessions/redis-scratchpads.js';
import { MemoryScratchpadStore, type ScratchpadLifetime, type ScratchpadStore } from '../../app/sessions/scratchpad-store.js';
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

  it('keeps the event log within its byte bound whatever the events weigh, newest kept, request ids kept with a priming event', async () => {
    const store = await open();
    const shape = sampleShape();
    await store.create(shape, 60_000);
    const big = (n: number) => ({ eventId: `e1.${'a'.repeat(12)}.s.w.${n}`, streamId: 's', message: JSON.stringify({ jsonrpc: '2.0', id: `${n}-${'x'.repeat(15_000)}`, result: {} }) });
    for (let n = 1; n <= 12; n++) await store.appendEvents([{ id: shape.id, events: [big(n)], ttlMs: 60_000 }]);
    await store.appendEvents([{ id: shape.id, events: [{ eventId: 'p', streamId: 's2', message: '', requests: '[7]' }], ttlMs: 60_000 }]);
    const log = await store.readEvents(shape.id);
    expect(log.reduce((n, e) => n + eventBytes(e), 0)).toBeLessThanOrEqual(EVENT_LIMITS.logBytes);
    expect(log.map((e) => e.eventId).slice(-2)).toEqual([big(12).eventId, 'p']);
    expect(log.at(-1)).toMatchObject({ streamId: 's2', message: '', requests: '[7]' });
    expect(log.length).toBeLessThan(13);
  });

  it('appends the events of several sessions in one flush, each to its own log, and tells listeners which streams got events', async () => {
    const store = await open();
    const shapes = [sampleShape(), sampleShape(), sampleShape(), sampleShape()];
    for (const shape of shapes) await store.create(shape, 60_000);
    const heard = new Map<string, string[] | undefined>();
    const off = store.onEventsAppended((appended) => {
      for (const [id, streams] of appended) heard.set(id, streams && [...streams].sort());
    });
    const event = (id: string, n: number, streamId = 'post') => ({ eventId: `e${n}.${id}`, streamId, message: `{"n":${n}}` });
    // The first session's second event is for its standalone stream, the others' are not.
    await store.appendEvents(shapes.map((s, n) => ({ id: s.id, events: [event(s.id, n), event(s.id, n + 10, n === 0 ? '_GET_stream' : 'post')], ttlMs: 60_000 })));
    for (const [n, shape] of shapes.entries()) {
      expect((await store.readEvents(shape.id)).map((e) => e.message)).toEqual([`{"n":${n}}`, `{"n":${n + 10}}`]);
    }
    await sleep(100);
    expect([...heard.keys()].sort()).toEqual(shapes.map((s) => s.id).sort());
    expect(heard.get(shapes[0]?.id as string)).toEqual(['_GET_stream', 'post']);
    for (const shape of shapes.slice(1)) expect(heard.get(shape.id)).toEqual(['post']);
    off();
  });

  it('answers health without a round trip', async () => {
    expect((await open()).health()).toMatchObject({ connected: true, channelProven: true });
  });
});

const padAdapters: Array<[string, (lifetime: ScratchpadLifetime) => Promise<ScratchpadStore>]> = [
  ['memory', async (lifetime) => new MemoryScratchpadStore({ lifetime })],
  ['redis', async (lifetime) => new RedisScratchpadStore({ store: await fixture.open(), lifetime })],
];
const LONG: ScratchpadLifetime = { idleMs: 60_000, maxMs: 120_000 };
const UNKNOWN = /Unknown or expired scratchpad/;

describe.each(padAdapters)('ScratchpadStore contract: %s', (_name, open) => {
  it('mints distinct 192-bit handles and keeps each one its data, for its owner only', async () => {
    const pads = await open(LONG);
    const [one, two] = [await pads.open('alice'), await pads.open('alice')];
    expect(one).toMatch(/^sp_[A-Za-z0-9_-]{32}$/);
    expect(one).not.toBe(two);
    await pads.set(one, 'alice', 'k', 'v1');
    await pads.set(two, 'alice', 'k', 2);
    expect(await pads.get(one, 'alice', 'k')).toBe('v1');
    expect(await pads.get(two, 'alice', 'k')).toBe(2);
    expect(await pads.get(one, 'alice', 'missing')).toBeUndefined();
    for (const key of AWKWARD) await pads.set(one, 'alice', key, key);
    const listed = await pads.list(one, 'alice');
    expect(Object.getPrototypeOf(listed)).toBeNull();
    expect(Object.keys(listed).sort()).toEqual([...AWKWARD, 'k'].sort());
    expect(await pads.delete(one, 'alice', 'k')).toBe(true);
    expect(await pads.delete(one, 'alice', 'k')).toBe(false);
    expect(await pads.clear(one, 'alice')).toBe(AWKWARD.length);
    expect(await pads.list(one, 'alice')).toEqual({});
  });

  it("answers another owner's handle exactly as an unknown one, for every operation, and changes nothing", async () => {
    const pads = await open(LONG);
    const handle = await pads.open('alice');
    await pads.set(handle, 'alice', 'k', 'v');
    for (const [handleTried, owner] of [[handle, 'mallory'], ['sp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'alice'], ['not-a-handle', 'alice']] as const) {
      await expect(pads.get(handleTried, owner, 'k')).rejects.toThrow(UNKNOWN);
      await expect(pads.set(handleTried, owner, 'k', 'x')).rejects.toThrow(UNKNOWN);
      await expect(pads.delete(handleTried, owner, 'k')).rejects.toThrow(UNKNOWN);
      await expect(pads.list(handleTried, owner)).rejects.toThrow(UNKNOWN);
      await expect(pads.clear(handleTried, owner)).rejects.toThrow(UNKNOWN);
    }
    expect(await pads.get(handle, 'alice', 'k')).toBe('v');
  });

  it('holds a scratchpad to the same limits as a session', async () => {
    const pads = await open(LONG);
    const handle = await pads.open('-');
    for (let i = 0; i < DATA_LIMITS.keys; i++) await pads.set(handle, '-', `k${i}`, i);
    await expect(pads.set(handle, '-', 'one-more', 1)).rejects.toThrow(/already holds 64 keys/);
    await pads.set(handle, '-', 'k0', 'overwriting is fine');
    const big = await pads.open('-');
    const value = 'x'.repeat(DATA_LIMITS.valueBytes - 2);
    for (let i = 0; i < 3; i++) await pads.set(big, '-', `v${i}`, value);
    await expect(pads.set(big, '-', 'v3', value)).rejects.toThrow(/limit is 16384/);
  });

  it('forgets a scratchpad idle past its lifetime, and never keeps one past its absolute end', async () => {
    const idle = await open({ idleMs: 150, maxMs: 10_000 });
    const [unused, used] = [await idle.open('a'), await idle.open('a')];
    await sleep(80);
    await idle.set(used, 'a', 'k', 1);
    await sleep(100);
    await expect(idle.get(unused, 'a', 'k')).rejects.toThrow(UNKNOWN);
    expect(await idle.get(used, 'a', 'k')).toBe(1);
    const capped = await open({ idleMs: 10_000, maxMs: 300 });
    const handle = await capped.open('a');
    for (let i = 0; i < 3; i++) {
      await sleep(50);
      await capped.set(handle, 'a', 'k', i);
    }
    await sleep(250);
    await expect(capped.get(handle, 'a', 'k')).rejects.toThrow(UNKNOWN);
  });

  it('announces each change on the change channel (writes that change nothing stay silent), and carries published messages', async () => {
    const pads = await open(LONG);
    const heard: string[] = [];
    pads.onChange((message) => heard.push(message));
    const handle = await pads.open('a');
    await pads.set(handle, 'a', 'k', 1);
    await pads.delete(handle, 'a', 'nothing-there');
    await pads.clear(handle, 'a');
    await pads.clear(handle, 'a');
    await pads.publishChange('event {"kind":"tools_list_changed"}');
    for (let i = 0; i < 100 && heard.length < 3; i++) await sleep(10);
    await sleep(50);
    expect(heard).toEqual([`updated ${handle}`, `updated ${handle}`, 'event {"kind":"tools_list_changed"}']);
  });
});
