// A private redis-server for a store suite, and Redis stores on it that are closed after the suite.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { RedisSessionStore } from '../../app/sessions/redis-store.js';
import { parseRedisUrl } from '../../app/sessions/redis-url.js';
import { TestRedis } from './redis.js';
import { TestRedisCluster } from './redis-cluster.js';

export interface RedisStoreFixture {
  /** The suite's redis-server (started in beforeAll). */
  readonly redis: TestRedis;
  /** A connected store; by default on the suite's server under a fresh prefix. */
  open(options?: { target?: TestRedis; prefix?: string }): Promise<RedisSessionStore>;
}

/** Registers beforeAll/afterAll hooks in the calling suite. */
export function useRedisStores(commandTimeoutMs: number): RedisStoreFixture {
  let redis: TestRedis | undefined;
  const opened: RedisSessionStore[] = [];
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await redis?.close();
  });
  return {
    get redis() {
      if (!redis) throw new Error('the suite redis-server is not started yet');
      return redis;
    },
    async open({ target, prefix } = {}) {
      const server = target ?? this.redis;
      const store = new RedisSessionStore({ target: parseRedisUrl(server.url), keyPrefix: prefix ?? `t${randomUUID().slice(0, 8)}:`, commandTimeoutMs, heartbeatMs: 200 });
      opened.push(store);
      expect(await store.waitUntilReady(5000)).toBe(true);
      return store;
    },
  };
}

export interface ClusterStoreFixture {
  /** The suite's 3-master cluster (started in beforeAll). */
  readonly cluster: TestRedisCluster;
  /** A connected cluster-mode store under a fresh prefix. */
  open(options?: { prefix?: string }): Promise<RedisSessionStore>;
}

/** Registers beforeAll/afterAll hooks that start one local Redis Cluster for the calling suite. */
export function useClusterStores(commandTimeoutMs: number): ClusterStoreFixture {
  let cluster: TestRedisCluster | undefined;
  const opened: RedisSessionStore[] = [];
  beforeAll(async () => {
    cluster = await TestRedisCluster.start();
  }, 30_000);
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
    await cluster?.close();
  });
  return {
    get cluster() {
      if (!cluster) throw new Error('the suite Redis Cluster is not started yet');
      return cluster;
    },
    async open({ prefix } = {}) {
      const store = new RedisSessionStore({ target: parseRedisUrl(this.cluster.url), cluster: true, keyPrefix: prefix ?? `t${randomUUID().slice(0, 8)}:`, commandTimeoutMs, heartbeatMs: 200 });
      opened.push(store);
      expect(await store.waitUntilReady(5000)).toBe(true);
      return store;
    },
  };
}
