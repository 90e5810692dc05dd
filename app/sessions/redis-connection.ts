// One connection set to one Redis target: the command client and the invalidation channel. The store
// swaps it for a new one when the target changes (a connection string read late, a rotated key).
//
// Channels on a Redis Cluster, and why:
// - `events` (shape changes, deletes, appended events) and `peers` (cancellations): classic. Every
//   replica needs them; a cluster delivers a classic PUBLISH to subscribers on every node, so one
//   subscriber connection to any node hears all of it. Sharded, they would sit in one slot anyway.
// - `heartbeat:<replica>`: classic, because it proves the very connection that carries `events`.
// - `peer:<replica>` (answers for one replica's sessions): sharded (SSUBSCRIBE/SPUBLISH). One
//   receiver: SPUBLISH reaches only the shard that owns the channel instead of every node, and counts
//   its receivers exactly (a classic PUBLISH on a cluster counts the local node's only). It carries
//   beats of its own, so the proof covers that connection too.
import { InvalidationChannel } from './redis-channel.js';
import { createCommandClient, createShardedSubscriber, isCluster, masters, nodeOptions, type RedisClient } from './redis-client.js';
import { defineScripts } from './redis-scripts.js';
import { describeRedisTarget, type RedisTarget } from './redis-url.js';

export interface RedisConnectionOptions {
  readonly target: RedisTarget;
  /** The target is a node of a Redis Cluster (Azure `OSSCluster`). */
  readonly cluster: boolean;
  readonly commandTimeoutMs: number;
  readonly channel: string;
  readonly heartbeatChannel: string;
  readonly heartbeatMs: number;
  readonly suspectAfterMs: number;
  /** Commands are answered again (first time, or after an outage). */
  readonly onReady: (where: string) => void;
  readonly onDown: (message: string) => void;
  /** Redis refused the credentials: the key may have been rotated. */
  readonly onAuthFailure: () => void;
  readonly onAnnouncement: (message: string) => void;
  /** Channels of peer messages for the whole fleet, with their handlers (classic pub/sub). */
  readonly peerChannels: Readonly<Record<string, (message: string) => void>>;
  /** This replica's own peer channel: sharded on a cluster, classic otherwise. */
  readonly replicaChannel: { readonly name: string; readonly onMessage: (message: string) => void };
  readonly onSuspect: (why: string) => void;
  /** How often memory use is read (`INFO memory`), and the share of `maxmemory` that counts as nearly full. */
  readonly memoryCheckMs: number;
  readonly nearlyFullRatio: number;
  readonly onStatus: (event: { level: 'info' | 'warn'; message: string }) => void;
}

const AUTH_FAILURE = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i;

export class RedisConnection {
  readonly client: RedisClient;
  readonly channel: InvalidationChannel;
  readonly where: string;
  #closed = false;
  #lastReset = 0;
  /** The last memory reading was at or above `nearlyFullRatio` of `maxmemory`. */
  nearlyFull = false;
  readonly #memoryTimer: NodeJS.Timeout;

  constructor(readonly options: RedisConnectionOptions) {
    this.where = describeRedisTarget(options.target);
    const clientOptions = { target: options.target, cluster: options.cluster, commandTimeoutMs: options.commandTimeoutMs };
    // Classic subscriptions go to the endpoint node even on a cluster: a classic PUBLISH reaches every node's subscribers.
    const connection = nodeOptions(clientOptions);
    this.client = createCommandClient(clientOptions);
    defineScripts(this.client);
    const client = this.client;
    const replica = options.replicaChannel;
    this.client.on('ready', () => {
      if (!this.#closed) options.onReady(this.where);
    });
    this.client.on('error', (error: Error) => {
      if (this.#closed) return;
      options.onDown(`redis error at ${this.where}: ${error.message}`);
      if (AUTH_FAILURE.test(error.message)) options.onAuthFailure();
    });
    this.client.on('close', () => {
      if (!this.#closed) options.onDown(`redis connection to ${this.where} closed`);
    });
    // One node of a cluster failing is not an outage of the store, but a refused key is news.
    this.client.on('node error', (error: Error) => {
      if (!this.#closed && AUTH_FAILURE.test(error.message)) options.onAuthFailure();
    });
    this.channel = new InvalidationChannel({
      connection,
      channel: options.channel,
      heartbeatChannel: options.heartbeatChannel,
      publish: (channel, message) => this.client.publish(channel, message),
      heartbeatMs: options.heartbeatMs,
      suspectAfterMs: options.suspectAfterMs,
      onMessage: (message) => {
        if (!this.#closed) options.onAnnouncement(message);
      },
      extraChannels: isCluster(client) ? options.peerChannels : { ...options.peerChannels, [replica.name]: replica.onMessage },
      sharded: isCluster(client)
        ? { subscriber: createShardedSubscriber(clientOptions), channel: replica.name, onMessage: replica.onMessage, publish: (channel, message) => client.spublish(channel, message) }
        : undefined,
      onSuspect: (why) => {
        if (!this.#closed) options.onSuspect(why);
      },
    });
    this.#memoryTimer = setInterval(() => void this.#checkMemory(), options.memoryCheckMs);
    this.#memoryTimer.unref();
  }

  /** Reads memory use against `maxmemory` on every master (the fullest counts); no answer keeps the last reading. */
  async #checkMemory(): Promise<void> {
    try {
      const ratios = await Promise.all(
        masters(this.client).map(async (node) => {
          const info = await node.info('memory');
          const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
          const max = Number(/^maxmemory:(\d+)/m.exec(info)?.[1]);
          return max > 0 ? used / max : 0;
        }),
      );
      // A cluster fills unevenly (one hot slot, one big session): the fullest shard evicts first.
      const ratio = Math.max(0, ...ratios);
      const nearlyFull = ratio >= this.options.nearlyFullRatio;
      if (nearlyFull !== this.nearlyFull && !this.#closed) {
        this.options.onStatus(nearlyFull ? { level: 'warn', message: `redis memory at ${Math.round(ratio * 100)}% of maxmemory${isCluster(this.client) ? ' on its fullest master' : ''}: new sessions are refused and sessions do not grow until it drops` } : { level: 'info', message: 'redis memory below the limit again: new sessions accepted' });
      }
      this.nearlyFull = nearlyFull;
    } catch {
      // Unreachable: the outage rules apply.
    }
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** A command that timed out means a hung server or a dead path: start a new connection (at most every 5 s). */
  resetIfHung(error: unknown): void {
    if (!(error instanceof Error) || error.message !== 'Command timed out' || this.#closed) return;
    const now = Date.now();
    if (now - this.#lastReset < 5000) return;
    this.#lastReset = now;
    this.options.onDown('redis command timed out; connection reset');
    // Not `Cluster.disconnect(true)`: a slots refresh in flight (a node just failed) puts a node back into
    // its pool, the pool never drains, and the client stays `disconnecting` for good (ioredis 5.11). Node
    // connections are dropped instead: the cluster reconnects once none is left, or goes on with the
    // ones a refresh opened anew.
    if (isCluster(this.client)) for (const node of this.client.nodes()) node.disconnect();
    else this.client.disconnect(true);
  }

  /** Reports an error reply that says the credentials were refused (a command after a rotation). */
  checkAuth(error: unknown): void {
    if (!this.#closed && error instanceof Error && AUTH_FAILURE.test(error.message)) this.options.onAuthFailure();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#memoryTimer);
    await Promise.allSettled([this.client.quit(), this.channel.close()]);
    this.client.disconnect();
  }
}
