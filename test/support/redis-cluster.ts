// Starts a private 3-master Redis 7 cluster on free ports (redis-server --cluster-enabled ×3, then
// redis-cli --cluster create) so tests can restart a node or move a slot. No mocks.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { freePort, startRedisProcess, stopRedisProcess } from './redis.js';

export class TestRedisCluster {
  readonly #children = new Map<number, ChildProcess>();
  readonly #dir = mkdtempSync(join(tmpdir(), 'mcp-continuity-cluster-'));

  private constructor(readonly ports: readonly number[]) {}

  /** Three masters, no replicas, every slot assigned, `cluster_state:ok` on every node. */
  static async start(): Promise<TestRedisCluster> {
    const ports = [await freePort(), await freePort(), await freePort()];
    const cluster = new TestRedisCluster(ports);
    await Promise.all(ports.map((port) => cluster.resume(port)));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}\n${create.stderr}`);
    await cluster.waitUntilOk();
    return cluster;
  }

  /** The seed endpoint a store is given (any node works; the client discovers the rest). */
  get url(): string {
    return `redis://127.0.0.1:${this.ports[0]}`;
  }

  /** A plain client to one node, for CLUSTER commands and inspection. Caller quits it. */
  node(port: number): Redis {
    const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    return client;
  }

  /** A cluster client (follows MOVED) for planting and inspecting keys. Caller disconnects it. */
  client(): Cluster {
    const client = new Cluster([{ host: '127.0.0.1', port: this.ports[0] as number }], { redisOptions: { maxRetriesPerRequest: 1 } });
    client.on('error', () => {});
    return client;
  }

  /** The port of the master that serves `key`'s slot. */
  async ownerOf(key: string): Promise<number> {
    const admin = this.node(this.ports[0] as number);
    try {
      const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', key));
      const shards = (await admin.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
      const owner = shards.find(([from, to]) => slot >= from && slot <= to);
      if (!owner) throw new Error(`no node serves slot ${slot}`);
      return owner[2][1];
    } finally {
      admin.disconnect();
    }
  }

  /**
   * Moves the slot of `key` (with its keys) to another master, the way `redis-cli --cluster reshard`
   * does it: SETSLOT IMPORTING/MIGRATING, MIGRATE the keys, SETSLOT NODE on every master.
   */
  async migrateSlotOf(key: string): Promise<{ from: number; to: number }> {
    const from = await this.ownerOf(key);
    const to = this.ports.find((p) => p !== from) as number;
    const [source, target] = [this.node(from), this.node(to)];
    try {
      const slot = Number(await source.call('CLUSTER', 'KEYSLOT', key));
      const [sourceId, targetId] = [String(await source.call('CLUSTER', 'MYID')), String(await target.call('CLUSTER', 'MYID'))];
      await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
      await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
      for (;;) {
        const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
        if (keys.length === 0) break;
        await source.call('MIGRATE', '127.0.0.1', to, '', 0, 5000, 'KEYS', ...keys);
      }
      for (const port of this.ports) {
        const node = this.node(port);
        await node.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId).finally(() => node.disconnect());
      }
      return { from, to };
    } finally {
      source.disconnect();
      target.disconnect();
    }
  }

  /** (Re)starts one node on its port; its nodes file brings it back into the cluster with its slots. */
  async resume(port: number): Promise<void> {
    if (this.#children.has(port)) return;
    const args = ['--cluster-enabled', 'yes', '--cluster-config-file', join(this.#dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000', '--dbfilename', `dump-${port}.rdb`, '--enable-debug-command', 'local'];
    this.#children.set(port, await startRedisProcess(port, this.#dir, args));
  }

  /** Stops one node after writing its data to disk (SHUTDOWN SAVE): `resume` brings it back with its keys. */
  async stopKeepingData(port: number): Promise<void> {
    const child = this.#children.get(port);
    this.#children.delete(port);
    if (child) await stopRedisProcess(child, port, 'save');
  }

  /** Resolves once every running node reports `cluster_state:ok`. */
  async waitUntilOk(ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const states = await Promise.all(
        [...this.#children.keys()].map(async (port) => {
          const node = this.node(port);
          try {
            return /cluster_state:ok/.test(String(await node.call('CLUSTER', 'INFO')));
          } catch {
            return false;
          } finally {
            node.disconnect();
          }
        }),
      );
      if (states.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error('the test cluster did not reach cluster_state:ok');
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#children].map(([port, child]) => stopRedisProcess(child, port, 'kill')));
    this.#children.clear();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Retries `call` while a cluster heals (a node coming back, CLUSTERDOWN for a moment), up to `ms`. */
export async function retryWhileHealing<T>(call: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}
