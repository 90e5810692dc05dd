// Redis SessionStore: one hash per session (shape, revision, data fields), sliding PX expiry,
// conditional shape writes announced on a heartbeat-proven channel, atomic per-key data operations.
import { randomUUID } from 'node:crypto';
import { ReplyError } from 'ioredis';
import type { RedisClient } from './redis-client.js';
import { DATA_LIMITS, dataErrors, decodeDataKey, decodeDataValue, encodeDataKey, encodeDataValue, SessionDataError, type DataValue } from './data.js';
import { RedisConnection } from './redis-connection.js';
import { LATE, runScript, type ScriptName } from './redis-scripts.js';
import { lateForRequest } from './write-fence.js';
import type { RedisTarget } from './redis-url.js';
import { EVENT_LIMITS, type AppendedEvents, type EventBatch, type LoggedEvent } from './events.js';
import { appendEvents, decodeAppended, eventsKey, readEvents } from './redis-events.js';
import { decodePeerMessage, encodePeerMessage } from './peer-messages.js';
import { mailboxKey, publishPeer, readMailbox } from './redis-peers.js';
import { decodeShape, encodeShape, type SessionShape } from './shape.js';
import type { InvalidateListener, LoadResult, PeerMessage, SessionStore, ShapeWrite, StoreHealth } from './store.js';

export interface RedisStoreOptions {
  /** Where Redis is. Absent: the store starts offline (as in an outage) until `setTarget` (Key Vault read late). */
  readonly target?: RedisTarget | undefined;
  /** The target is one node of a Redis Cluster (Azure `OSSCluster`): ioredis `Cluster`, sharded peer channels. Default false. */
  readonly cluster?: boolean;
  /** Prefix of every key and channel, so several deployments can share one Redis. */
  readonly keyPrefix: string;
  /** Upper bound on any single command, so a dead or hung Redis costs a bounded wait, never a hang. */
  readonly commandTimeoutMs: number;
  /** Heartbeat period of the invalidation channel. Default 1 s. */
  readonly heartbeatMs?: number;
  /** Silence after which cached shapes are no longer trusted. Default 3 heartbeats. */
  readonly suspectAfterMs?: number;
  /** Where connection trouble is reported (state changes only, never the password). */
  readonly onStatus?: (event: { level: 'info' | 'warn'; message: string }) => void;
  /** Redis refused the credentials (`WRONGPASS`/`NOAUTH`): the key may have been rotated. */
  readonly onAuthFailure?: () => void;
  /** Says what the store waits for before its first connection, for `/readyz`. Default "redis". */
  readonly describeWait?: () => string;
  /** Share of `maxmemory` above which the store reports itself nearly full. Default 0.9. */
  readonly nearlyFullRatio?: number;
  /** How often the memory use is read (`INFO memory`). Default 5 s. */
  readonly memoryCheckMs?: number;
}

/** Replies that mean "Redis is there but will not take this now": retry later, nothing was written. */
const TRANSIENT_REPLY = /^(OOM|READONLY|LOADING|BUSY|MASTERDOWN|NOAUTH|WRONGPASS|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/** An error reply about the key itself (WRONGTYPE: something that is not a session lives there). */
function isPermanentReply(error: unknown): boolean {
  return error instanceof ReplyError && !TRANSIENT_REPLY.test((error as Error).message);
}

/** While Redis is nearly full, a session's data may still grow up to this (a first few small keys). */
const NEARLY_FULL_DATA_BYTES = 1024;

/** Where a write's sliding expiry takes the session (Unix ms): its TTL from now, already capped by the ceiling. */
const slideTo = (ttlMs: number) => Date.now() + Math.floor(ttlMs);

const sameTarget = (a: RedisTarget, b: RedisTarget) => JSON.stringify(a) === JSON.stringify(b);

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #o: RedisStoreOptions;
  #conn: RedisConnection | undefined;
  readonly #prefix: string;
  readonly #events: string;
  readonly #invalidateListeners = new Set<InvalidateListener>();
  readonly #suspectListeners = new Set<() => void>();
  readonly #reconnectListeners = new Set<() => void>();
  readonly #appendedListeners = new Set<(appended: AppendedEvents) => void>();
  readonly #peerListeners = new Set<(message: PeerMessage) => void>();
  readonly #changeListeners = new Set<(message: string) => void>();
  readonly #onStatus: NonNullable<RedisStoreOptions['onStatus']>;
  /** Tags this process's own announcements so it does not invalidate what it just wrote. */
  readonly #origin = randomUUID();
  readonly replicaId = this.#origin;
  /** No connection answers commands (never connected yet, or an outage): the next ready is a recovery. */
  #down = true;
  #everReady = false;
  #reportedBeforeReady = false;
  #closing = false;
  readonly #commandTimeoutMs: number;

  constructor(options: RedisStoreOptions) {
    this.#o = options;
    this.#prefix = options.keyPrefix;
    this.#events = `${options.keyPrefix}events`;
    this.#onStatus = options.onStatus ?? (() => {});
    this.#commandTimeoutMs = options.commandTimeoutMs;
    if (options.target) this.setTarget(options.target);
  }

  /**
   * Connects to `target`, or reconnects when it differs from the current one (new credentials after a
   * rotation). Sessions keep being served meanwhile; commands fail as "unavailable" for the moment it takes.
   */
  setTarget(target: RedisTarget): void {
    const old = this.#conn;
    if (this.#closing || (old && sameTarget(old.options.target, target))) return;
    const heartbeatMs = this.#o.heartbeatMs ?? 1000;
    const conn: RedisConnection = new RedisConnection({
      target,
      cluster: this.#o.cluster ?? false,
      commandTimeoutMs: this.#commandTimeoutMs,
      channel: this.#events,
      heartbeatChannel: `${this.#prefix}heartbeat:${this.#origin}`,
      heartbeatMs,
      suspectAfterMs: this.#o.suspectAfterMs ?? heartbeatMs * 3,
      memoryCheckMs: this.#o.memoryCheckMs ?? 5000,
      nearlyFullRatio: this.#o.nearlyFullRatio ?? 0.9,
      onStatus: this.#onStatus,
      onReady: (where) => {
        if (this.#conn !== conn) return;
        if (this.#down) this.#onStatus({ level: 'info', message: `redis ready at ${where}` });
        const recovered = this.#down && this.#everReady;
        const first = !this.#everReady;
        this.#down = false;
        this.#everReady = true;
        // The first connection ever counts too when sessions were created before it (Key Vault read late).
        if (recovered || first) for (const listener of this.#reconnectListeners) listener();
      },
      onDown: (message) => {
        if (this.#conn === conn) this.#markDown(message);
      },
      onAuthFailure: () => this.#o.onAuthFailure?.(),
      onAnnouncement: (message) => this.#announcement(message),
      peerChannels: {
        [this.#fleetChannel]: (m) => this.#peerMessage(m),
        [this.changesChannel]: (m) => {
          for (const listener of this.#changeListeners) listener(m);
        },
      },
      replicaChannel: { name: this.#peerChannel(this.#origin), onMessage: (m) => this.#peerMessage(m) },
      onSuspect: (why) => {
        if (this.#closing || this.#conn !== conn) return;
        this.#onStatus({ level: 'warn', message: `${why}: cached session shapes are re-read before use` });
        for (const listener of this.#suspectListeners) listener();
      },
    });
    this.#conn = conn;
    if (old) {
      this.#markDown(`redis target changed (${conn.where}); reconnecting with the new connection string`);
      for (const listener of this.#suspectListeners) listener();
      void old.close();
    }
  }

  /** Waits up to `ms` for the command connection and a proven invalidation channel. */
  async waitUntilReady(ms: number): Promise<boolean> {
    const conn = this.#conn;
    if (!conn) return false;
    const deadline = Date.now() + ms;
    if (!conn.ready) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        conn.client.once('ready', done);
      });
    }
    return conn.ready && (await conn.channel.waitUntilProven(Math.max(0, deadline - Date.now())));
  }

  /** The current command client (it changes with the connection string): for modules that keep their own keys here. */
  get commandClient(): RedisClient | undefined {
    return this.#conn?.client;
  }

  /** The command client, or an error that reads as "unavailable" while there is none. */
  get #client(): RedisClient {
    if (!this.#conn) throw new Error('no Redis connection string yet');
    return this.#conn.client;
  }

  /** Every key of a session shares the `{id}` hash tag, so one script may touch them on a sharded Redis. */
  key(id: string): string {
    return `${this.#prefix}session:{${id}}`;
  }

  /** The session's SSE event log: a Redis stream in the session's hash slot. */
  eventsKey(id: string): string {
    return eventsKey(this.#prefix, id);
  }

  async appendEvents(batches: readonly EventBatch[]): Promise<string[]> {
    // Nearly full: a log that grows is cut to a few KB, so no session's log grows Redis toward eviction.
    const maxBytes = this.#conn?.nearlyFull ? EVENT_LIMITS.nearlyFullBytes : EVENT_LIMITS.logBytes;
    return appendEvents(this.#client, { prefix: this.#prefix, channel: this.#events, origin: this.#origin, maxBytes }, batches);
  }

  async readEvents(id: string, after?: string): Promise<LoggedEvent[]> {
    return readEvents(this.#client, this.eventsKey(id), after);
  }

  async markAlive(writer: string, ttlMs: number): Promise<void> {
    await this.#client.set(`${this.#prefix}alive:${writer}`, '1', 'PX', Math.ceil(ttlMs));
  }

  async isAlive(writer: string): Promise<boolean> {
    return (await this.#client.exists(`${this.#prefix}alive:${writer}`)) === 1;
  }

  onEventsAppended(listener: (appended: AppendedEvents) => void): () => void {
    this.#appendedListeners.add(listener);
    return () => this.#appendedListeners.delete(listener);
  }

  async create(shape: SessionShape, ttlMs: number): Promise<boolean> {
    if (ttlMs <= 0) return false;
    return (await this.#write('mcpCreate', shape.id, [encodeShape(shape), Math.ceil(ttlMs)], 'saved'))[0] === 1;
  }

  async load(id: string): Promise<LoadResult> {
    let reply: Array<string | null>;
    try {
      reply = await this.#client.hmget(this.key(id), 'rev', 'shape');
    } catch (error) {
      // WRONGTYPE: something else lives under the key. A bad record, not an outage.
      if (isPermanentReply(error)) return { status: 'corrupt', reason: (error as Error).message };
      this.#conn?.resetIfHung(error);
      this.#conn?.checkAuth(error);
      return { status: 'unavailable', reason: (error as Error).message };
    }
    const [rev = null, raw = null] = reply;
    if (rev === null && raw === null) return { status: 'absent' };
    const revision = Number(rev);
    if (!Number.isInteger(revision) || revision < 1 || raw === null) return { status: 'corrupt', reason: 'revision or shape missing' };
    const decoded = decodeShape(raw, id);
    if (!decoded.ok) return { status: 'corrupt', reason: decoded.reason };
    // PX and the absolute ceiling agree to the millisecond; this catches a clock step between replicas.
    if (decoded.shape.maxExpiresAt <= Date.now()) return { status: 'expired' };
    return { status: 'found', shape: decoded.shape, rev: revision };
  }

  async updateShape(shape: SessionShape, rev: number, ttlMs: number): Promise<ShapeWrite> {
    const reply = (await this.#write('mcpUpdateShape', shape.id, [String(rev), encodeShape(shape), Math.ceil(Math.max(ttlMs, 1)), this.#events, `shape ${shape.id} ${this.#origin}`], 'saved')) as [number, string?, string?];
    if (reply[0] === 1) return { status: 'written', rev: Number(reply[1]) };
    if (reply[0] === 2) {
      const decoded = decodeShape(reply[2] ?? '', shape.id);
      if (decoded.ok) return { status: 'conflict', current: { shape: decoded.shape, rev: Number(reply[1]) } };
    }
    return { status: 'gone' };
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    if (ttlMs <= 0) {
      await this.#client.del(this.key(id));
      return false;
    }
    return (await this.#client.pexpire(this.key(id), Math.ceil(ttlMs))) === 1;
  }

  async delete(id: string): Promise<boolean> {
    // Announce only a delete that removed something: a DELETE for an unknown id must not fan out.
    return (await runScript(this.#client, 'mcpDelete', this.key(id), this.eventsKey(id), this.#events, `deleted ${id} ${this.#origin}`)) === 1;
  }

  async dataGet(id: string, key: string): Promise<DataValue | undefined> {
    const [rev, raw] = await this.#run(() => this.#client.hmget(this.key(id), 'rev', encodeDataKey(key)), 'read');
    if (rev === null) throw dataErrors.gone();
    return raw === null || raw === undefined ? undefined : decodeDataValue(raw);
  }

  async dataSet(id: string, key: string, value: DataValue, ttlMs: number): Promise<void> {
    this.fenceWrite('saved');
    const field = encodeDataKey(key);
    const encoded = encodeDataValue(value);
    // Nearly full: no session's data grows past a small floor, so growth cannot push others out (allkeys-lru).
    const floor = this.#conn?.nearlyFull ? NEARLY_FULL_DATA_BYTES : -1;
    const reply = (await this.#write('mcpDataSet', id, [field, encoded, Math.ceil(Math.max(ttlMs, 1)), DATA_LIMITS.keys, DATA_LIMITS.totalBytes, floor, slideTo(ttlMs)], 'saved', true)) as [number, number?];
    if (reply[0] === 1) return;
    if (reply[0] === 4) throw dataErrors.nearlyFull();
    if (reply[0] === 2) throw dataErrors.full();
    if (reply[0] === 3) throw dataErrors.tooLarge(reply[1] ?? 0);
    throw dataErrors.gone();
  }

  async dataDelete(id: string, key: string, ttlMs: number): Promise<boolean> {
    this.fenceWrite('deleted');
    const [removed] = await this.#write('mcpDataDelete', id, [encodeDataKey(key), Math.ceil(Math.max(ttlMs, 1)), slideTo(ttlMs)], 'deleted', true);
    if (removed === -1) throw dataErrors.gone();
    return removed === 1;
  }

  async dataList(id: string): Promise<Record<string, DataValue>> {
    const all = await this.#run(() => this.#client.hgetall(this.key(id)), 'read');
    if (!('rev' in all)) throw dataErrors.gone();
    const out = Object.create(null) as Record<string, DataValue>;
    for (const [field, raw] of Object.entries(all)) {
      const key = decodeDataKey(field);
      const value = key === undefined ? undefined : decodeDataValue(raw);
      if (key !== undefined && value !== undefined) out[key] = value;
    }
    return out;
  }

  // Peer channels are never inside a session's script. A replica's own channel is sharded on a cluster
  // (one subscriber, on one shard); the fleet's is classic, which a cluster delivers on every node.
  async sendToReplica(replicaId: string, message: PeerMessage): Promise<boolean> {
    const mailbox = message.kind === 'response' ? { key: mailboxKey(this.#prefix, message.session), answer: JSON.stringify(message.message) } : undefined;
    return publishPeer(this.#client, this.#peerChannel(replicaId), encodePeerMessage(this.#origin, message), { mailbox, sharded: true });
  }

  async broadcast(message: PeerMessage): Promise<void> {
    await publishPeer(this.#client, this.#fleetChannel, encodePeerMessage(this.#origin, message));
  }

  async routedResponses(id: string): Promise<unknown[]> {
    return readMailbox(this.#client, mailboxKey(this.#prefix, id));
  }

  onPeerMessage(listener: (message: PeerMessage) => void): () => void {
    this.#peerListeners.add(listener);
    return () => this.#peerListeners.delete(listener);
  }

  get keyPrefix(): string {
    return this.#prefix;
  }

  /** The fleet's change channel (scratchpad updates, listen events), heard by every replica including this one. */
  get changesChannel(): string {
    return `${this.#prefix}changes`;
  }

  onChange(listener: (message: string) => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /**
   * Runs `command` on this store's connection with its error mapping ("unavailable: retry", WRONGTYPE as
   * gone), for sibling adapters that share the connection (scratchpads). `deadline` is what write scripts take.
   */
  async command<T>(verb: 'saved' | 'read' | 'deleted', command: (client: RedisClient, deadline: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#commandTimeoutMs - Math.min(250, this.#commandTimeoutMs / 4);
    return this.#run(() => command(this.#client, deadline), verb);
  }

  #peerChannel(replicaId: string): string {
    return `${this.#prefix}peer:${replicaId}`;
  }

  get #fleetChannel(): string {
    return `${this.#prefix}peers`;
  }

  #peerMessage(raw: string): void {
    const envelope = decodePeerMessage(raw);
    // The fleet channel echoes this replica's own broadcasts back to it.
    if (!envelope || envelope.from === this.#origin) return;
    for (const listener of this.#peerListeners) listener(envelope.message);
  }

  onInvalidate(listener: InvalidateListener): () => void {
    this.#invalidateListeners.add(listener);
    return () => this.#invalidateListeners.delete(listener);
  }

  onChannelSuspect(listener: () => void): () => void {
    this.#suspectListeners.add(listener);
    return () => this.#suspectListeners.delete(listener);
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  health(): StoreHealth {
    const conn = this.#conn;
    const waitingFor = this.#everReady ? undefined : (this.#o.describeWait?.() ?? 'redis');
    return { connected: conn !== undefined && conn.ready && !this.#down, channelProven: conn?.channel.proven ?? false, nearlyFull: conn?.nearlyFull ?? false, ...(waitingFor ? { waitingFor } : {}) };
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#conn?.close();
  }

  /** Message: "shape <id> <origin> <rev>", "deleted <id> <origin>" or "appended <origin> <id> ~<stream>…". */
  #announcement(message: string): void {
    if (message.startsWith('appended ')) {
      const appended = decodeAppended(message);
      for (const listener of this.#appendedListeners) listener(appended);
      return;
    }
    const [kind, id, origin, rev] = message.split(' ');
    if (!id) return;
    let change: Parameters<InvalidateListener>[1];
    if (kind === 'deleted') change = { kind: 'deleted' };
    else if (kind === 'shape' && origin !== this.#origin && Number.isInteger(Number(rev))) change = { kind: 'shape', rev: Number(rev) };
    else return;
    for (const listener of this.#invalidateListeners) listener(id, change);
  }

  /**
   * Runs a write script with a deadline: past it, Redis refuses to run the script, so a write this
   * caller gave up on (and reported as not saved) can never land later. The deadline sits a little
   * before the command timeout to absorb clock skew between this replica and Redis.
   */
  async #write(script: ScriptName, id: string, args: ReadonlyArray<string | number>, verb: 'saved' | 'deleted', withLog = false): Promise<Array<number | string>> {
    const deadline = Date.now() + this.#commandTimeoutMs - Math.min(250, this.#commandTimeoutMs / 4);
    const keys = withLog ? [this.key(id), this.eventsKey(id)] : [this.key(id)];
    const reply = (await this.#run(() => runScript(this.#client, script, ...keys, ...args, deadline), verb)) as Array<number | string>;
    if (reply[0] === LATE) throw dataErrors.unavailable(verb);
    return reply;
  }

  /**
   * Refuses ("not saved: retry") a data write for a request whose client hung up, or that arrived more
   * than a command timeout ago: its client may have given up and written the key again elsewhere since
   * (app/sessions/write-fence.ts). With the scripts' deadline, a data write lands within two command
   * timeouts of its request's arrival, or not at all.
   */
  fenceWrite(verb: 'saved' | 'deleted'): void {
    if (lateForRequest(this.#commandTimeoutMs)) throw dataErrors.unavailable(verb);
  }

  /** Runs a command; anything but a definite answer becomes "unavailable: retry" for the caller. */
  async #run<T>(command: () => Promise<T>, verb: 'saved' | 'read' | 'deleted'): Promise<T> {
    try {
      return await command();
    } catch (error) {
      if (error instanceof SessionDataError) throw error;
      // WRONGTYPE and the like: the key holds something that is not a session.
      if (isPermanentReply(error)) throw dataErrors.gone();
      this.#conn?.resetIfHung(error);
      this.#conn?.checkAuth(error);
      throw dataErrors.unavailable(verb);
    }
  }

  #markDown(message: string): void {
    if (this.#closing) return;
    // Logged once per outage, and once before the first connection (a wrong address at start-up).
    const report = !this.#down || (!this.#everReady && !this.#reportedBeforeReady);
    this.#down = true;
    if (!this.#everReady) this.#reportedBeforeReady = true;
    if (report) this.#onStatus({ level: 'warn', message });
  }
}
