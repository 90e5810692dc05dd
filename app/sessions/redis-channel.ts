// The invalidation channel, with proof that it is alive: a replica publishes a heartbeat to itself and
// counts the channel alive only while its echoes come back. Pub/sub delivers in order on one
// connection, so an echo of a beat sent at T means every change announced before T has arrived. On a
// Redis Cluster the replica's own peer channel is sharded (SSUBSCRIBE) and gets beats of its own.
import { Redis, type Cluster, type RedisOptions } from 'ioredis';

/** A sharded channel (Redis 7, cluster only): point to point, owned by one shard, never broadcast on the cluster bus. */
export interface ShardedChannel {
  /** Subscribes with SSUBSCRIBE and re-subscribes after slot moves and node failures. */
  readonly subscriber: Cluster;
  readonly channel: string;
  readonly onMessage: (message: string) => void;
  /** SPUBLISH on the command client. */
  readonly publish: (channel: string, message: string) => Promise<unknown>;
}

/** Beats on the sharded channel start with this; peer messages there are JSON, so never collide. */
const BEAT = 'beat ';

/** Lost node subscribers this close together are one outage (the group retries a down node every ≤ 2 s). */
const OUTAGE_QUIET_MS = 10_000;

export interface InvalidationChannelOptions {
  readonly connection: RedisOptions;
  /** Shared channel on which replicas announce shape changes and deletes. */
  readonly channel: string;
  /** This replica's own heartbeat channel. */
  readonly heartbeatChannel: string;
  /** Publishes on the command connection (a beat proves both paths). */
  readonly publish: (channel: string, message: string) => Promise<unknown>;
  readonly heartbeatMs: number;
  /** With no echo of a beat sent within this long, the channel is suspect. */
  readonly suspectAfterMs: number;
  readonly onMessage: (message: string) => void;
  /** More channels on the same subscriber (peer messages), each with its handler. */
  readonly extraChannels?: Readonly<Record<string, (message: string) => void>>;
  /** The replica's own sharded channel (cluster): proven by beats of its own, like the classic one. */
  readonly sharded?: ShardedChannel | undefined;
  /** Invalidations may have been missed: the channel went silent, came back, or was re-subscribed. */
  readonly onSuspect: (why: string) => void;
  readonly now?: () => number;
}

export class InvalidationChannel {
  readonly #o: InvalidationChannelOptions;
  readonly #now: () => number;
  readonly #subscriber: Redis;
  readonly #timer: NodeJS.Timeout;
  /** Send time of the newest beat whose echo arrived. */
  #provenAt = Number.NEGATIVE_INFINITY;
  /** The same for the sharded channel; without one it never limits `proven`. */
  #shardedProvenAt = Number.NEGATIVE_INFINITY;
  #wasProven = false;
  /** A node subscriber of the sharded channel was lost and no sharded beat sent since has echoed. */
  #shardedLost = false;
  /** When the group last dropped a node subscriber (one outage, one warning). */
  #shardedLostAt = Number.NEGATIVE_INFINITY;
  #wasSubscribed = false;
  #everProven = false;
  #closing = false;
  readonly #firstProof: Promise<void>;
  #resolveFirstProof: () => void = () => {};

  constructor(options: InvalidationChannelOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#firstProof = new Promise((resolve) => (this.#resolveFirstProof = resolve));
    // Queues SUBSCRIBE until connected and re-subscribes after every reconnect.
    this.#subscriber = new Redis({ ...options.connection, maxRetriesPerRequest: null });
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel === options.heartbeatChannel) this.#echo(Number(message));
      else if (channel === options.channel) options.onMessage(message);
      else options.extraChannels?.[channel]?.(message);
    });
    this.#subscriber.on('ready', () => {
      // Messages published while the subscriber was away are lost.
      if (this.#wasSubscribed && !this.#closing) options.onSuspect('invalidation channel re-subscribed');
    });
    void this.#subscriber.subscribe(options.channel, options.heartbeatChannel, ...Object.keys(options.extraChannels ?? {})).then(
      () => {
        this.#wasSubscribed = true;
        this.#beat();
      },
      () => undefined,
    );
    if (options.sharded) this.#subscribeSharded(options.sharded);
    this.#timer = setInterval(() => this.#beat(), options.heartbeatMs);
    this.#timer.unref();
  }

  /** True while a beat sent within `suspectAfterMs` has echoed back. Costs no round trip. */
  get proven(): boolean {
    const since = this.#o.sharded ? Math.min(this.#provenAt, this.#shardedProvenAt) : this.#provenAt;
    return this.#now() - since < this.#o.suspectAfterMs;
  }

  #subscribeSharded(sharded: ShardedChannel): void {
    let subscribed = false;
    sharded.subscriber.on('error', () => {});
    sharded.subscriber.on('smessage', (channel: string, message: string) => {
      if (channel !== sharded.channel) return;
      if (message.startsWith(BEAT)) this.#echo(Number(message.slice(BEAT.length)), 'sharded');
      else sharded.onMessage(message);
    });
    // The group re-subscribes on its own after a slot move or a node loss; what was sent meanwhile is lost.
    // While a node stays down the group retries, and every failed attempt is one more `-subscriber` (tens
    // a second): the outage is reported once, and again only after 10 s without one.
    sharded.subscriber.on('-subscriber', () => {
      if (!subscribed || this.#closing) return;
      const quiet = this.#now() - this.#shardedLostAt > OUTAGE_QUIET_MS;
      this.#shardedLostAt = this.#now();
      if (!quiet) return;
      this.#shardedLost = true;
      this.#o.onSuspect('sharded peer channel lost a node subscriber');
    });
    void sharded.subscriber.ssubscribe(sharded.channel).then(
      () => {
        subscribed = true;
        this.#beat();
      },
      () => undefined,
    );
  }

  /** Resolves once the first beat has echoed (or after `ms`). */
  async waitUntilProven(ms: number): Promise<boolean> {
    if (this.proven) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#firstProof, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    return this.proven;
  }

  #beat(): void {
    if (this.#closing) return;
    this.#o.publish(this.#o.heartbeatChannel, String(this.#now())).catch(() => {});
    const sharded = this.#o.sharded;
    if (sharded) sharded.publish(sharded.channel, `${BEAT}${this.#now()}`).catch(() => {});
    if (this.#wasProven && !this.proven) {
      this.#wasProven = false;
      this.#o.onSuspect(`invalidation channel silent for ${this.#o.suspectAfterMs} ms; connection reset`);
      // A connection a network silently dropped never errors by itself: make a new one.
      this.#subscriber.disconnect(true);
      // The group keeps its channels across a reconnect and subscribes them again.
      this.#o.sharded?.subscriber.disconnect(true);
    }
  }

  #echo(sentAt: number, on: 'classic' | 'sharded' = 'classic'): void {
    if (!Number.isFinite(sentAt)) return;
    if (on === 'sharded') {
      this.#shardedProvenAt = Math.max(this.#shardedProvenAt, sentAt);
      if (this.#shardedLost && sentAt > this.#shardedLostAt) {
        this.#shardedLost = false;
        // Heard again after losing a node subscriber: what was published meanwhile is in the mailboxes.
        if (this.#wasProven && !this.#closing) this.#o.onSuspect('sharded peer channel subscribed again');
      }
    } else this.#provenAt = Math.max(this.#provenAt, sentAt);
    if (!this.proven || this.#wasProven) return;
    this.#wasProven = true;
    // Proven again after a silence: changes announced during it were missed, so re-read once more.
    if (this.#everProven) this.#o.onSuspect('invalidation channel proven alive again');
    this.#everProven = true;
    this.#resolveFirstProof();
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#timer);
    await Promise.all([this.#subscriber.quit().catch(() => {}), this.#o.sharded?.subscriber.quit().catch(() => {})]);
    this.#subscriber.disconnect();
    this.#o.sharded?.subscriber.disconnect();
  }
}
