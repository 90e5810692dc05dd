// End to end on a sharded Redis: real server processes with REDIS_CLUSTER=true, a real 3-master Redis
// Cluster, the real SDK 1.32 client; a slot migration and a node restart under a live session. (The
// continuity, streams and limits suites run on a cluster too; this file holds what only a cluster has.)
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, roundRobinFetch, type LegacyClient } from '../support/clients.js';
import { retryWhileHealing, TestRedisCluster } from '../support/redis-cluster.js';
import { ServerProcess } from '../support/server-process.js';

let cluster: TestRedisCluster;
const servers: ServerProcess[] = [];

async function server(): Promise<ServerProcess> {
  const s = await ServerProcess.start({ env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' } });
  servers.push(s);
  return s;
}

const info = async (client: LegacyClient) => JSON.parse(await client.call('session_info')) as { sessionId: string; replica: { name: string } };
const sessionKey = (id: string) => `mcp-continuity:session:{${id}}`;

/** Retries a call while the cluster heals (a node coming back, CLUSTERDOWN for a moment). */
const eventually = <T>(call: () => Promise<T>, ms = 15_000): Promise<T> => retryWhileHealing(call, ms);

beforeAll(async () => {
  cluster = await TestRedisCluster.start();
}, 30_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await cluster?.close();
});

describe('continuity on a Redis Cluster', () => {
  it('cluster:replicas — a session with data and a toolset alternates between two processes, and survives its slot moving to another master', async () => {
    const [a, b] = [await server(), await server()];
    const client = await connectLegacy(a.url, { fetch: roundRobinFetch(() => [a.origin, b.origin]) });
    const names = new Set<string>();
    for (let i = 0; i < 4; i++) {
      await client.call('remember', { key: 'n', value: String(i) });
      expect(await client.call('recall', { key: 'n' })).toBe(String(i));
      names.add((await info(client)).replica.name);
    }
    expect(names.size).toBe(2);
    await client.call('enable_toolset', { name: 'math' });
    expect(await client.call('add', { a: 2, b: 40 })).toBe('42');

    const { sessionId } = await info(client);
    const moved = await cluster.migrateSlotOf(sessionKey(sessionId));
    expect(await cluster.ownerOf(sessionKey(sessionId))).toBe(moved.to);

    // Both processes follow MOVED: data, shape writes and the event log all land on the new owner.
    expect(await client.call('recall', { key: 'n' })).toBe('3');
    expect(await client.call('recall', { key: 'n' })).toBe('3');
    await client.call('enable_toolset', { name: 'text' });
    for (let i = 0; i < 4; i++) {
      await client.call('remember', { key: 'after', value: `moved ${i}` });
      expect(await client.call('recall', { key: 'after' })).toBe(`moved ${i}`);
    }
    expect(await client.call('multiply', { a: 6, b: 7 })).toBe('42');
    expect(await client.call('uppercase', { text: 'abc' })).toBe('ABC');
    expect((await info(client)).sessionId).toBe(sessionId);
    const owner = cluster.node(moved.to);
    expect(await owner.exists(sessionKey(sessionId))).toBe(1);
    owner.disconnect();
    await client.close();
  });

  it('cluster:node-restart — the master holding a session restarts (data kept) and the session goes on on both processes', async () => {
    const [a, b] = [await server(), await server()];
    const client = await connectLegacy(a.url, { fetch: roundRobinFetch(() => [a.origin, b.origin]) });
    await client.call('remember', { key: 'city', value: 'Lisbon' });
    await client.call('enable_toolset', { name: 'math' });
    const { sessionId } = await info(client);
    const owner = await cluster.ownerOf(sessionKey(sessionId));

    await cluster.stopKeepingData(owner);
    await cluster.resume(owner);
    await cluster.waitUntilOk();

    expect(await eventually(() => client.call('recall', { key: 'city' }).then((v) => (v === 'Lisbon' ? v : Promise.reject(new Error(v)))))).toBe('Lisbon');
    for (let i = 0; i < 4; i++) {
      await eventually(() => client.call('remember', { key: 'n', value: String(i) }));
      expect(await client.call('recall', { key: 'n' })).toBe(String(i));
    }
    expect(await client.call('add', { a: 2, b: 40 })).toBe('42');
    expect((await info(client)).sessionId).toBe(sessionId);
    await client.close();
  });
});
