// The chaos drill's Redis: one node or a local 3-master cluster, with the faults the drill puts on it
// (a frozen invalidation connection, slots moving under live sessions, the store going away with its data).
import { TestRedis } from '../test/support/redis.js';
import { TestRedisCluster } from '../test/support/redis-cluster.js';
import { FreezingProxy } from '../test/support/tcp-proxy.js';

export type DrillTopology = 'one node' | 'cluster';

/** Every key of a session shares this hash tag, so its slot is the session's. */
export const sessionKey = (id: string) => `mcp-continuity:session:{${id}}`;

export class DrillRedis {
  private constructor(
    readonly topology: DrillTopology,
    readonly freezer: FreezingProxy,
    readonly node: TestRedis | undefined,
    readonly cluster: TestRedisCluster | undefined,
  ) {}

  /**
   * Replica 0 reaches Redis through a proxy that can freeze its connections without closing them. On a
   * cluster the proxy stands in front of the seed node: the classic subscriber (the invalidation
   * channel) keeps that endpoint, commands and sharded subscriptions go to the nodes it announces.
   */
  static async start(topology: DrillTopology): Promise<DrillRedis> {
    if (topology === 'cluster') {
      const cluster = await TestRedisCluster.start();
      return new DrillRedis(topology, await FreezingProxy.start(cluster.ports[0] as number), undefined, cluster);
    }
    const node = await TestRedis.start();
    return new DrillRedis(topology, await FreezingProxy.start(node.port), node, undefined);
  }

  /** The environment of replica `i` (replica 0 behind the freezing proxy). */
  env(i: number): Record<string, string> {
    const direct = this.cluster?.url ?? (this.node as TestRedis).url;
    return { REDIS_URL: i === 0 ? this.freezer.url : direct, ...(this.cluster ? { REDIS_CLUSTER: 'true' } : {}) };
  }

  /** Moves the slot of each live session (with its keys) to another master while its client runs on; returns how many moved. */
  async migrateSessions(ids: readonly string[]): Promise<number> {
    if (!this.cluster) return 0;
    let moved = 0;
    for (const id of new Set(ids)) {
      await this.cluster.migrateSlotOf(sessionKey(id));
      moved++;
    }
    return moved;
  }

  /**
   * Takes the store away for about `ms`, keeping its data (SHUTDOWN SAVE), and brings it back, as a
   * restart or failover does: the server, or on a cluster the master that holds the most of `ids`'s
   * sessions (the cluster reports `fail` once the node timeout passes). Returns where it was down.
   */
  async outage(ms: number, pause: (ms: number) => Promise<void>, ids: readonly string[]): Promise<{ from: number; to: number; what: string }> {
    const from = performance.now();
    if (!this.cluster) {
      const node = this.node as TestRedis;
      await node.stopKeepingData();
      await pause(ms);
      await node.resume();
      return { from, to: performance.now(), what: 'Redis' };
    }
    const owners = await Promise.all(ids.map((id) => (this.cluster as TestRedisCluster).ownerOf(sessionKey(id))));
    const counts = new Map<number, number>();
    for (const port of owners) counts.set(port, (counts.get(port) ?? 0) + 1);
    const port = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? (this.cluster.ports[1] as number);
    await this.cluster.stopKeepingData(port);
    await pause(ms);
    await this.cluster.resume(port);
    await this.cluster.waitUntilOk();
    return { from, to: performance.now(), what: `the master on port ${port} (${counts.get(port) ?? 0} of ${ids.length} sessions)` };
  }

  async close(): Promise<void> {
    await this.freezer.close();
    await Promise.all([this.node?.close(), this.cluster?.close()]);
  }
}
