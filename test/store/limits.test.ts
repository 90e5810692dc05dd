// The Redis side of fleet-wide limits, on one node and on a 3-master cluster: a token bucket on Redis's
// clock shared by every store, and a per-principal count of sessions that expire out by score.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RedisLimits } from '../../app/sessions/redis-limits.js';
import type { RedisSessionStore } from '../../app/sessions/redis-store.js';
import { useClusterStores, useRedisStores } from '../support/stores.js';

const single = useRedisStores(500);
const clustered = useClusterStores(500);

const topologies = [
  ['one node', single],
  ['cluster', clustered],
] as const;

function limits(store: RedisSessionStore, prefix: string, rate = { tokens: 3, perMs: 600 }, statuses: string[] = []): RedisLimits {
  return new RedisLimits({ client: () => store.commandClient, keyPrefix: prefix, rate, onStatus: (e) => statuses.push(e.message) });
}

describe.each(topologies)('fleet-wide limits in Redis (%s)', (_name, fixture) => {
  it('limits:bucket — two stores share one bucket per key: 3 tokens in all, then a wait; a bucket refills on Redis time', async () => {
    const prefix = `lim${randomUUID().slice(0, 6)}:`;
    const [storeA, storeB] = [await fixture.open({ prefix }), await fixture.open({ prefix })];
    const [a, b] = [limits(storeA, prefix, { tokens: 3, perMs: 60_000 }), limits(storeB, prefix, { tokens: 3, perMs: 60_000 })];
    const takes = [await a.takeToken('key:x'), await b.takeToken('key:x'), await a.takeToken('key:x'), await b.takeToken('key:x')];
    expect(takes.slice(0, 3)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(takes[3]).toMatchObject({ ok: false });
    expect((takes[3] as { retryAfterS: number }).retryAfterS).toBeGreaterThanOrEqual(1);
    expect((takes[3] as { retryAfterS: number }).retryAfterS).toBeLessThanOrEqual(20);
    expect(await a.takeToken('key:other')).toEqual({ ok: true });
    // One token per 200 ms: after 300 ms the other store finds one back.
    const [fastA, fastB] = [limits(storeA, prefix, { tokens: 1, perMs: 200 }), limits(storeB, prefix, { tokens: 1, perMs: 200 })];
    expect(await fastA.takeToken('key:fast')).toEqual({ ok: true });
    await sleep(300);
    expect(await fastB.takeToken('key:fast')).toEqual({ ok: true });
    expect(a.mode).toBe('fleet');
  });

  it('limits:sessions — a principal holds at most the cap alive; a released or expired session frees a place, an extended one stays', async () => {
    const prefix = `lim${randomUUID().slice(0, 6)}:`;
    const [a, b] = [limits(await fixture.open({ prefix }), prefix), limits(await fixture.open({ prefix }), prefix)];
    const owner = 'a'.repeat(32);
    const [s1, s2, s3] = [randomUUID(), randomUUID(), randomUUID()];
    const later = () => Date.now() + 60_000;
    expect(await a.admitSession(owner, s1, later(), 2)).toBe('admitted');
    expect(await b.admitSession(owner, s2, Date.now() + 300, 2)).toBe('admitted');
    b.extendSession(owner, s2, later()); // same key, same connection: ordered before the next script
    expect(await a.admitSession(owner, s3, later(), 2)).toBe('refused');
    expect(await b.admitSession('b'.repeat(32), s3, later(), 2)).toBe('admitted'); // another principal
    a.releaseSession(owner, s1);
    expect(await a.admitSession(owner, s3, Date.now() + 300, 2)).toBe('admitted');
    await sleep(400); // s3 has expired by score; s2 was extended
    expect(await b.admitSession(owner, randomUUID(), later(), 2)).toBe('admitted');
    expect(await b.admitSession(owner, randomUUID(), later(), 2)).toBe('refused');
  });
});

describe('fleet-wide limits without Redis', () => {
  it('limits:unavailable — no connection answers "unavailable" and says so once, until Redis answers again', async () => {
    const store = await single.open();
    const statuses: string[] = [];
    let client: RedisSessionStore['commandClient'] = undefined;
    const fleet = new RedisLimits({ client: () => client, keyPrefix: 'gone:', rate: { tokens: 1, perMs: 1000 }, onStatus: (e) => statuses.push(e.message) });
    expect(await fleet.takeToken('key:x')).toBe('unavailable');
    expect(await fleet.admitSession('c'.repeat(32), randomUUID(), Date.now() + 1000, 1)).toBe('unavailable');
    expect([fleet.mode, fleet.fallbacks, statuses.length]).toEqual(['local', 2, 1]);
    client = store.commandClient;
    expect(await fleet.takeToken('key:x')).toEqual({ ok: true });
    expect(fleet.mode).toBe('fleet');
    expect(statuses).toEqual([expect.stringMatching(/unavailable \(no Redis connection yet\)/), 'fleet-wide session limits counted in Redis again']);
  });
});
