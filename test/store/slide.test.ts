// The sliding expiry riding on writes a session sends anyway (its event appends, its data writes): the
// contract on the memory store and the Redis store, and the Redis script with a previous release's arguments.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import { APPEND_EVENTS, DATA_SET } from '../../app/sessions/redis-scripts.js';
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

const event = (n: number) => ({ eventId: `e${n}`, streamId: 's', message: `{"n":${n}}` });
const isGone = async (store: SessionStore, id: string) => ['absent', 'expired'].includes((await store.load(id)).status);

describe.each(adapters)('sliding expiry riding on writes: %s', (_name, open) => {
  it('an append with expiresAt extends the record past its TTL; one without leaves it as it was', async () => {
    const store = await open();
    const [riding, plain] = [sampleShape(), sampleShape()];
    await store.create(riding, 200);
    await store.create(plain, 200);
    expect(await store.appendEvents([{ id: riding.id, events: [event(1)], ttlMs: 1000, expiresAt: Date.now() + 1000 }])).toEqual([]);
    expect(await store.appendEvents([{ id: plain.id, events: [event(1)], ttlMs: 1000 }])).toEqual([]);
    await sleep(350);
    expect((await store.load(riding.id)).status).toBe('found');
    expect(await isGone(store, plain.id)).toBe(true);
  });

  it('never shortens a record, and never brings back one that is gone (its id is handed back)', async () => {
    const store = await open();
    const shape = sampleShape();
    await store.create(shape, 1000);
    await store.appendEvents([{ id: shape.id, events: [event(1)], ttlMs: 50, expiresAt: Date.now() + 50 }]);
    await store.dataSet(shape.id, 'k', 'v', 50);
    await store.dataDelete(shape.id, 'nothing', 50);
    await sleep(250);
    expect((await store.load(shape.id)).status).toBe('found');

    const missing = randomUUID();
    expect(await store.appendEvents([{ id: missing, events: [event(2)], ttlMs: 1000, expiresAt: Date.now() + 1000 }, { id: shape.id, events: [event(3)], ttlMs: 1000, expiresAt: Date.now() + 1000 }])).toEqual([missing]);
    expect((await store.load(missing)).status).toBe('absent');
    expect(await store.readEvents(missing)).toEqual([]);
  });

  it('a data write slides the record (only ever later)', async () => {
    const store = await open();
    const shape = sampleShape();
    await store.create(shape, 200);
    await store.dataSet(shape.id, 'k', 'v', 1000);
    await sleep(350);
    expect(await store.dataGet(shape.id, 'k')).toBe('v');
  });
});

describe('the Redis append and data scripts: expiries in Redis', () => {
  const pttls = async (id: string, prefix: string) => {
    const client = fixture.redis.client();
    try {
      return [await client.pttl(`${prefix}session:{${id}}`), await client.pttl(`${prefix}session:{${id}}:events`)];
    } finally {
      client.disconnect();
    }
  };

  it('record and log slide to the same instant, never past the expiry given (the ceiling)', async () => {
    const prefix = `s${randomUUID().slice(0, 8)}:`;
    const store = await fixture.open({ prefix });
    const shape = sampleShape();
    await store.create(shape, 500);
    await store.appendEvents([{ id: shape.id, events: [event(1)], ttlMs: 60_000, expiresAt: Date.now() + 5000 }]);
    const [record, log] = await pttls(shape.id, prefix);
    expect(record).toBeGreaterThan(4000);
    expect(record).toBeLessThanOrEqual(5000);
    expect(log).toBeGreaterThan(4000);
    expect(log).toBeLessThanOrEqual(5000); // the expiry given wins over the log's own px
    await store.dataSet(shape.id, 'k', 'v', 8000);
    const [after, logAfter] = await pttls(shape.id, prefix);
    expect(after).toBeGreaterThan(7000);
    expect(logAfter).toBeGreaterThan(7000);
    // An expiry in the past (at the ceiling) extends nothing and deletes nothing.
    await store.appendEvents([{ id: shape.id, events: [event(2)], ttlMs: 60_000, expiresAt: Date.now() - 10 }]);
    expect((await pttls(shape.id, prefix))[0]).toBeGreaterThan(6000);
  });

  it('the script still runs a previous release\'s argument list (no expiry): appends, gives the log its px, leaves the record', async () => {
    const prefix = `o${randomUUID().slice(0, 8)}:`;
    const store = await fixture.open({ prefix });
    const shape = sampleShape();
    await store.create(shape, 3000);
    const client = fixture.redis.client();
    try {
      const keys = [`${prefix}session:{${shape.id}}`, `${prefix}session:{${shape.id}}:events`];
      // max count, max bytes, px, channel, announcement, then one quadruple: no expiry argument.
      expect(await client.eval(APPEND_EVENTS, 2, ...keys, 100, 65536, 60_000, `${prefix}events`, '', 'e1', 's', '{"old":1}', '')).toBe(1);
    } finally {
      client.disconnect();
    }
    expect((await store.readEvents(shape.id)).map((e) => [e.eventId, e.message])).toEqual([['e1', '{"old":1}']]);
    const [record, log] = await pttls(shape.id, prefix);
    expect(record).toBeLessThanOrEqual(3000);
    expect(log).toBeGreaterThan(50_000);
  });

  it('the data script still runs a previous release\'s argument list (one key, no expiry): sets the field, gives the record its px', async () => {
    const prefix = `d${randomUUID().slice(0, 8)}:`;
    const store = await fixture.open({ prefix });
    const shape = sampleShape();
    await store.create(shape, 3000);
    const client = fixture.redis.client();
    try {
      // field, value, px, max keys, max bytes, growth floor, deadline.
      expect(await client.eval(DATA_SET, 1, `${prefix}session:{${shape.id}}`, 'd:"k"', '"v"', 60_000, 64, 16384, -1, Date.now() + 5000)).toEqual([1]);
    } finally {
      client.disconnect();
    }
    expect(await store.dataGet(shape.id, 'k')).toBe('v');
    expect((await pttls(shape.id, prefix))[0]).toBeGreaterThan(50_000);
  });
});
