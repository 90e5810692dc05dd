// The format rule in both stores (docs/compatibility.md): what a newer release wrote is read, kept
// through every rewrite path, and re-stamped with this release's version; what is outside the window
// is corrupt with its version named.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FORMAT_VERSION, READABLE_VERSIONS } from '../../app/sessions/format.js';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import type { SessionStore } from '../../app/sessions/store.js';
import { sampleShape } from '../support/records.js';
import { useRedisStores } from '../support/stores.js';

const fixture = useRedisStores(500);

const adapters: Array<[string, () => Promise<SessionStore>]> = [
  ['memory', async () => new MemorySessionStore()],
  ['redis', () => fixture.open()],
];

/** Fields a next release might add: one at the top of the shape, one inside the client info. */
const withNextFields = () => ({ ...sampleShape({ toolsets: ['math'] }), resumeHints: { lastTool: 'add', n: 3 }, clientInfo: { name: 'c', version: '1', title: 'Next' } });

describe.each(adapters)('session format: %s store', (_name, open) => {
  it('format:keep — fields it does not know survive load, a winning rewrite, a conflicting one and data writes', async () => {
    const store = await open();
    const shape = withNextFields();
    await store.create(shape, 60_000);
    const loaded = await store.load(shape.id);
    expect(loaded).toEqual({ status: 'found', shape, rev: 1 });
    if (loaded.status !== 'found') return;
    await store.dataSet(shape.id, 'k', 'v', 60_000);
    await store.dataDelete(shape.id, 'k', 60_000);
    expect(await store.updateShape({ ...loaded.shape, toolsets: ['math', 'text'] }, 1, 60_000)).toEqual({ status: 'written', rev: 2 });
    const conflict = await store.updateShape({ ...loaded.shape, toolsets: [] }, 1, 60_000);
    expect(conflict).toEqual({ status: 'conflict', current: { shape: { ...shape, toolsets: ['math', 'text'] }, rev: 2 } });
    expect(await store.load(shape.id)).toEqual({ status: 'found', shape: { ...shape, toolsets: ['math', 'text'] }, rev: 2 });
  });

  it('format:stamp — every write carries this release version, whatever version the shape was read as', async () => {
    const store = await open();
    const shape = sampleShape({ v: READABLE_VERSIONS.max });
    await store.create(shape, 60_000);
    expect(await store.load(shape.id)).toMatchObject({ status: 'found', shape: { v: FORMAT_VERSION } });
    await store.updateShape({ ...shape, toolsets: ['math'] }, 1, 60_000);
    expect(await store.load(shape.id)).toMatchObject({ status: 'found', shape: { v: FORMAT_VERSION, toolsets: ['math'] }, rev: 2 });
  });
});

describe('session format: a Redis hash written by other releases', () => {
  it('format:next-record — reads a record of the next version, keeps its unknown shape and hash fields through every write, and rewrites it as its own version', async () => {
    const prefix = `fmt${randomUUID().slice(0, 6)}:`;
    const store = await fixture.open({ prefix });
    const raw = fixture.redis.client();
    const shape = { ...withNextFields(), v: FORMAT_VERSION + 1 };
    const key = `${prefix}session:{${shape.id}}`;
    // A next release may add hash fields of its own beside rev, shape and the d: data fields.
    await raw.hset(key, { rev: '4', shape: JSON.stringify(shape), 'd:"k"': '"from next"', 'x:next': 'opaque' });
    await raw.pexpire(key, 60_000);

    expect(await store.load(shape.id)).toEqual({ status: 'found', shape, rev: 4 });
    expect(await store.dataGet(shape.id, 'k')).toBe('from next');
    expect({ ...(await store.dataList(shape.id)) }).toEqual({ k: 'from next' });
    await store.dataSet(shape.id, 'mine', 1, 60_000);
    await store.dataDelete(shape.id, 'k', 60_000);
    expect(await store.updateShape({ ...shape, toolsets: ['math', 'text'] }, 4, 60_000)).toEqual({ status: 'written', rev: 5 });

    expect(await raw.hget(key, 'x:next')).toBe('opaque');
    expect(JSON.parse((await raw.hget(key, 'shape')) ?? '')).toEqual({ ...shape, v: FORMAT_VERSION, toolsets: ['math', 'text'] });
    raw.disconnect();
  });

  it('format:outside — a record of a version outside the window is corrupt, and the reason names the version', async () => {
    const prefix = `fmt${randomUUID().slice(0, 6)}:`;
    const store = await fixture.open({ prefix });
    const raw = fixture.redis.client();
    for (const v of [READABLE_VERSIONS.min - 1, READABLE_VERSIONS.max + 1]) {
      const shape = sampleShape({ v });
      await raw.hset(`${prefix}session:{${shape.id}}`, { rev: '1', shape: JSON.stringify(shape) });
      const result = await store.load(shape.id);
      expect(result).toEqual({ status: 'corrupt', reason: `record format version ${v} is outside the versions this release reads (${READABLE_VERSIONS.min}..${READABLE_VERSIONS.max}; it writes ${FORMAT_VERSION})` });
      // A conditional write over it refuses too, rather than taking a shape it cannot read as current.
      expect(await store.updateShape(shape, 2, 60_000)).toEqual({ status: 'gone' });
    }
    raw.disconnect();
  });
});
