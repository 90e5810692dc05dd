// Store behaviour the chaos drill relies on after an outage: newest copy wins, missed invalidations are told.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import { emptyState, type SessionRecord } from '../../app/sessions/record.js';
import type { SessionStore } from '../../app/sessions/store.js';
import { sampleRecord } from '../support/records.js';
import { TestRedis } from '../support/redis.js';
import { useRedisStores } from '../support/stores.js';

const fixture = useRedisStores(300);
const openRedis = (target?: TestRedis) => fixture.open({ target });

function at(id: string, updatedAt: number, city: string): SessionRecord {
  return sampleRecord({ id, createdAt: 1, updatedAt, state: { ...emptyState(), scratchpad: { city } } });
}

const adapters: Array<[string, () => Promise<SessionStore>]> = [
  ['memory', async () => new MemorySessionStore()],
  ['redis', () => openRedis()],
];

describe.each(adapters)('save only if newer: %s', (_name, open) => {
  it('writes over an older record and says so', async () => {
    const store = await open();
    const id = randomUUID();
    await store.save(at(id, 100, 'Lisbon'), 60_000);
    expect(await store.save(at(id, 200, 'Porto'), 60_000, { onlyIfNewer: true })).toBe(true);
    expect(await store.load(id)).toMatchObject({ status: 'found', record: { state: { scratchpad: { city: 'Porto' } } } });
  });

  it('leaves a newer record alone and says it did not write', async () => {
    const store = await open();
    const id = randomUUID();
    await store.save(at(id, 300, 'Faro'), 60_000);
    expect(await store.save(at(id, 200, 'Porto'), 60_000, { onlyIfNewer: true })).toBe(false);
    expect(await store.load(id)).toMatchObject({ status: 'found', record: { state: { scratchpad: { city: 'Faro' } } } });
  });

  it('writes where no record exists (Redis came back empty)', async () => {
    const store = await open();
    const id = randomUUID();
    expect(await store.save(at(id, 5, 'Braga'), 60_000, { onlyIfNewer: true })).toBe(true);
    expect((await store.load(id)).status).toBe('found');
  });
});

describe('redis invalidation channel', () => {
  it('tells listeners that invalidations may have been missed once the subscriber is back after a cut', async () => {
    const local = await TestRedis.start();
    const store = await openRedis(local);
    let missed = 0;
    let reconnected = 0;
    store.onMissedInvalidations(() => missed++);
    store.onReconnect(() => reconnected++);
    await local.stop();
    await sleep(200);
    await local.resume();
    const deadline = Date.now() + 8000;
    while ((missed === 0 || reconnected === 0) && Date.now() < deadline) await sleep(50);
    expect(missed).toBe(1);
    expect(reconnected).toBe(1);
    await store.close();
    await local.close();
  });
});
