// The Redis topologies an e2e suite runs on (one node, a local 3-master cluster), each started once for
// the suite that asks for it, with what a test needs to point servers at it, inspect it and take it away.
import { afterAll, beforeAll } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import { TestRedis } from './redis.js';
import { TestRedisCluster } from './redis-cluster.js';

/** For `describe.each`: every suite that uses `useTopology` runs on both. */
export const TOPOLOGIES = ['one node', 'cluster'] as const;
export type TopologyName = (typeof TOPOLOGIES)[number];

export interface Topology {
  readonly name: TopologyName;
  /** The environment that points a server process at this Redis (`REDIS_URL`, and `REDIS_CLUSTER` on a cluster). */
  env(): Record<string, string>;
  /** A client for inspecting keys (on a cluster it follows the slots). Caller disconnects it. */
  client(): Redis | Cluster;
  /** Every key that matches `pattern`, on every master. */
  keys(pattern: string): Promise<string[]>;
  /**
   * Stops the Redis that serves `key` after writing its data to disk (one node: the server; a cluster:
   * the master owning the key's slot, or every master without a key) and returns what brings it back:
   * started again with its data and, on a cluster, `cluster_state:ok` everywhere.
   */
  stopKeepingData(key?: string): Promise<() => Promise<void>>;
}

/** Registers beforeAll/afterAll hooks that start `name`'s Redis for the calling suite and stop it after. */
export function useTopology(name: TopologyName): Topology {
  let redis: TestRedis | undefined;
  let cluster: TestRedisCluster | undefined;
  beforeAll(async () => {
    if (name === 'cluster') cluster = await TestRedisCluster.start();
    else redis = await TestRedis.start();
  }, 30_000);
  afterAll(async () => {
    await Promise.all([redis?.close(), cluster?.close()]);
  });
  const started = <T>(value: T | undefined): T => {
    if (!value) throw new Error(`the suite's Redis (${name}) is not started yet`);
    return value;
  };
  if (name === 'one node') {
    return {
      name,
      env: () => ({ REDIS_URL: started(redis).url }),
      client: () => started(redis).client(),
      async keys(pattern) {
        const client = started(redis).client();
        return client.keys(pattern).finally(() => client.disconnect());
      },
      async stopKeepingData() {
        const server = started(redis);
        await server.stopKeepingData();
        return () => server.resume();
      },
    };
  }
  return {
    name,
    env: () => ({ REDIS_URL: started(cluster).url, REDIS_CLUSTER: 'true' }),
    client: () => started(cluster).client(),
    async keys(pattern) {
      const nodes = started(cluster).ports.map((port) => started(cluster).node(port));
      const found = await Promise.all(nodes.map((node) => node.keys(pattern).finally(() => node.disconnect())));
      return found.flat();
    },
    async stopKeepingData(key) {
      const c = started(cluster);
      const ports = key ? [await c.ownerOf(key)] : [...c.ports];
      await Promise.all(ports.map((port) => c.stopKeepingData(port)));
      return async () => {
        await Promise.all(ports.map((port) => c.resume(port)));
        await c.waitUntilOk();
      };
    },
  };
}
