// The Redis store on a 3-master cluster when one master hangs: commands fail within their bound, the
// timeout resets the node connections, and the store answers again once the master does.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RedisSessionStore } from '../../app/sessions/redis-store.js';
import { sampleShape } from '../support/records.js';
import { useClusterStores } from '../support/stores.js';

const fixture = useClusterStores(300);

/** Reads `key` until it answers `expected` (or 8 s pass); the last answer or error. */
async function servedAgain(store: RedisSessionStore, id: string, expected: string): Promise<unknown> {
  const deadline = Date.now() + 8000;
  let value: unknown;
  while (value !== expected && Date.now() < deadline) {
    value = await store.dataGet(id, 'k').catch((error: Error) => error.message);
    if (value !== expected) await sleep(100);
  }
  return value;
}

describe('RedisSessionStore on a cluster', () => {
  it('store:cluster-hang — a master that hangs (DEBUG SLEEP) fails its commands within the bound, and the store serves its keys again once it wakes', async () => {
    const store = await fixture.open();
    const shape = sampleShape();
    await store.create(shape, 60_000);
    await store.dataSet(shape.id, 'k', 'before', 60_000);
    const owner = fixture.cluster.node(await fixture.cluster.ownerOf(store.key(shape.id)));
    try {
      const sleeping = owner.call('DEBUG', 'SLEEP', '2');
      await sleep(50);
      // Unavailable, not the value it would read once the master wakes: the command timed out, and the
      // timeout dropped the node connections (on a cluster, not the whole client: see RedisConnection.resetIfHung).
      await expect(store.dataGet(shape.id, 'k')).rejects.toMatchObject({ code: 'unavailable' });
      await sleeping;
      expect(await servedAgain(store, shape.id, 'before')).toBe('before');
    } finally {
      owner.disconnect();
    }
  });
});
