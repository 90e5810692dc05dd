// End to end on a Redis Cluster: an elicitation answered on another replica than the one that asked,
// after the master that owns the asker's sharded peer channel restarted, and after that channel's slot
// moved to another master. Real server processes, a real 3-master cluster, real SDK 1.32 clients.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsking, routeByKind, type AskingClient } from '../support/asking-client.js';
import { retryWhileHealing, TestRedisCluster } from '../support/redis-cluster.js';
import { ServerProcess } from '../support/server-process.js';

let cluster: TestRedisCluster;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  cluster = await TestRedisCluster.start();
}, 30_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await cluster?.close();
});

async function pair(): Promise<[ServerProcess, ServerProcess]> {
  const start = () => ServerProcess.start({ env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' } });
  const both = await Promise.all([start(), start()]);
  servers.push(...both);
  return both;
}

/** Retries a call while the cluster heals (a node coming back, CLUSTERDOWN for a moment). */
const eventually = <T>(call: () => Promise<T>, ms = 20_000): Promise<T> => retryWhileHealing(call, ms);

/** Asks for confirmation (forget_all) with the answer going to the other replica; resolves the tool's text. */
async function confirmElsewhere(client: AskingClient): Promise<string> {
  const answered = await client.client.callTool({ name: 'forget_all', arguments: {} }, undefined, { timeout: 15_000 });
  return (answered.content as Array<{ text: string }>)[0]?.text ?? '';
}

/** The asking replica's peer channel, read off the id of the question it sent (`s1.<replica>.<copy>.<n>`). */
function peerChannelOf(client: AskingClient): string {
  const id = String(client.asked.at(-1)?.id);
  return `mcp-continuity:peer:${id.split('.')[1]}`;
}

describe('peer answers on a Redis Cluster', () => {
  for (const change of ['restart', 'move'] as const) {
    it(`peercluster:${change} — after the ${change === 'restart' ? 'master owning the asker\'s peer channel restarts (data kept)' : 'asker\'s peer channel slot moves to another master'}, an answer posted to the other replica still reaches the asker`, async () => {
      const [a, b] = await pair();
      // Every request to a, every answer to b.
      const client = await connectAsking(a.url, { fetch: routeByKind((kind) => (kind === 'response' ? b.origin : a.origin)) });
      await client.call('remember', { key: 'city', value: 'Lisbon' });
      expect(await confirmElsewhere(client)).toBe('Cleared 1 key.');
      const channel = peerChannelOf(client);

      if (change === 'restart') {
        const owner = await cluster.ownerOf(channel);
        await cluster.stopKeepingData(owner);
        await sleep(1500); // the subscriber's node is gone for a while, as in a real restart
        await cluster.resume(owner);
        await cluster.waitUntilOk();
      } else {
        const moved = await cluster.migrateSlotOf(channel);
        expect(await cluster.ownerOf(channel)).toBe(moved.to);
      }

      for (let round = 0; round < 2; round++) {
        await eventually(() => client.call('remember', { key: 'city', value: `Lisbon ${round}` }));
        expect(await confirmElsewhere(client)).toBe('Cleared 1 key.');
      }
      expect(client.asked).toHaveLength(3);
      // The subscriber group retries a lost node many times a second: the log says it once per outage.
      const lost = (a.output.match(/sharded peer channel lost a node subscriber/g) ?? []).length;
      if (change === 'restart') expect(lost).toBe(1);
      await client.close();
    }, 60_000);
  }

  it('peercluster:down — an answer posted while the asker\'s peer channel master is down (the cluster refuses every command: CLUSTERDOWN) is handed over once that master is back', async () => {
    const [a, b] = await pair();
    let hold: (() => Promise<void>) | undefined;
    const client = await connectAsking(a.url, { fetch: routeByKind((kind) => (kind === 'response' ? b.origin : a.origin)), beforeAnswer: async () => hold?.() });
    await client.call('remember', { key: 'city', value: 'Lisbon' });
    expect(await confirmElsewhere(client)).toBe('Cleared 1 key.');
    const owner = await cluster.ownerOf(peerChannelOf(client));
    await client.call('remember', { key: 'city', value: 'Lisbon' });
    let back: Promise<void> | undefined;
    // The user answers once the cluster has marked the master failed (node timeout 2 s); it comes back 2 s later.
    hold = async () => {
      await cluster.stopKeepingData(owner);
      await sleep(4500);
      back = sleep(2000).then(() => cluster.resume(owner));
    };
    try {
      expect(await confirmElsewhere(client)).toBe('Cleared 1 key.');
      expect(back).toBeDefined();
    } finally {
      await back;
      await cluster.resume(owner);
      await cluster.waitUntilOk();
    }
    await client.close();
  }, 60_000);
});
