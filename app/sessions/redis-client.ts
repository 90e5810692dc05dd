// The command client of either topology (one node, or a Redis Cluster through ioredis `Cluster`), and
// batches that respect a cluster's rule that one pipeline goes to one node.
import { Cluster, Redis, type ChainableCommander, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './redis-url.js';
import { toIoredisOptions } from './redis-url.js';

/** Both topologies answer the same commands; only pipelines and pub/sub differ. */
export type RedisClient = Redis | Cluster;

export const isCluster = (client: RedisClient): client is Cluster => client instanceof Cluster;

export interface ClientOptions {
  readonly target: RedisTarget;
  /** `cluster`: the target is one node of a Redis Cluster (Azure `OSSCluster`); the client follows MOVED. */
  readonly cluster: boolean;
  readonly commandTimeoutMs: number;
}

/** Options of every connection to one node: TCP keepalive set explicitly (ioredis leaves it off on cluster nodes). */
export function nodeOptions(options: ClientOptions): RedisOptions {
  return {
    ...toIoredisOptions(options.target),
    connectTimeout: Math.max(options.commandTimeoutMs, 1000),
    // A peer that vanished without a FIN is noticed by the kernel, not never.
    keepAlive: 5000,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
  };
}

/** Cluster options shared by the command client and the sharded subscriber. */
function clusterOptions(options: ClientOptions, extra: Partial<ClusterOptions>): ClusterOptions {
  const { host: _host, port: _port, db: _db, retryStrategy: _retry, ...redisOptions } = nodeOptions(options);
  return {
    redisOptions,
    // Azure announces nodes by address; TLS must still name the endpoint's host (servername set above).
    dnsLookup: (address, callback) => callback(null, address),
    clusterRetryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
    slotsRefreshTimeout: Math.max(options.commandTimeoutMs, 1000),
    retryDelayOnMoved: 0,
    ...extra,
  };
}

/** The command client: fails fast while disconnected (a caller gets "unavailable" at once, nothing queues). */
export function createCommandClient(options: ClientOptions): RedisClient {
  const node = nodeOptions(options);
  if (!options.cluster) return new Redis({ ...node, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: options.commandTimeoutMs });
  return new Cluster([{ host: node.host, port: node.port }], clusterOptions(options, {
    enableOfflineQueue: false,
    // A MOVED after a slot migration is followed at once; more than a few hops is a cluster in flux.
    maxRedirections: 4,
    redisOptions: { ...clusterOptions(options, {}).redisOptions, maxRetriesPerRequest: 1, commandTimeout: options.commandTimeoutMs },
  }));
}

/** A cluster client for SSUBSCRIBE only: one connection per node that owns a subscribed channel's slot. */
export function createShardedSubscriber(options: ClientOptions): Cluster {
  const node = nodeOptions(options);
  return new Cluster([{ host: node.host, port: node.port }], clusterOptions(options, { shardedSubscribers: true, redisOptions: { ...clusterOptions(options, {}).redisOptions, maxRetriesPerRequest: null } }));
}

/** Commands for one hash slot, queued on a pipeline. */
export type SlotCommands = (pipeline: ChainableCommander) => void;

/**
 * Runs groups of commands in one round trip: one pipeline on a single node; on a cluster one pipeline
 * per group, all sent at once (a pipeline may not span nodes; each group stays in one slot). Results
 * come back in order; the first error is thrown after every group has answered.
 */
export async function runGroups(client: RedisClient, groups: readonly SlotCommands[]): Promise<unknown[]> {
  const pipelines = isCluster(client) ? groups.map((group) => {
    const pipeline = client.pipeline();
    group(pipeline);
    return pipeline;
  }) : [groups.reduce((pipeline, group) => (group(pipeline), pipeline), client.pipeline())];
  const results = (await Promise.all(pipelines.map((p) => p.exec()))).flatMap((r) => r ?? []);
  const failure = results.find(([error]) => error)?.[0];
  if (failure) throw failure;
  return results.map(([, value]) => value);
}

/** Every master of a cluster (the node itself otherwise): what `INFO memory` must be read on. */
export function masters(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes('master') : [client];
}
