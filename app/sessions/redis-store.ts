// Redis SessionStore: one key per session, sliding PX expiry, pub/sub to drop deleted sessions on every replica.
import { randomUUID } from 'node:crypto';
import { Redis, ReplyError } from 'ioredis';
import { decodeRecord, encodeRecord, type SessionRecord } from './record.js';
import { describeRedisTarget, toIoredisOptions, type RedisTarget } from './redis-url.js';
import type { InvalidateListener, LoadResult, SaveOptions, SessionStore } from './store.js';

// The channel is an argument, not a key: scripts may only declare keys of one hash slot (clustered Redis,
// Azure Managed Redis), and a channel is not a key.

/** SET + PUBLISH unless the stored record's updatedAt is at least ours (ARGV: value, px, updatedAt, channel, message). */
const SAVE_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and tonumber(stored.updatedAt) and tonumber(stored.updatedAt) >= tonumber(ARGV[3]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`;

/** DEL, then PUBLISH only when a key was removed (ARGV: channel, message). */
const DELETE_AND_ANNOUNCE = `
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
  return 1
end
return 0`;

export interface RedisStoreOptions {
  readonly target: RedisTarget;
  /** Prefix of every key and of the invalidation channel. */
  readonly keyPrefix: string;
  /** Upper bound on any single command, so a dead Redis costs a bounded wait, never a hang. */
  readonly commandTimeoutMs: number;
  /** Where connection trouble is reported (state changes only, never the password). */
  readonly onStatus?: (event: { level: 'info' | 'warn'; message: string }) => void;
}

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis' as const;
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #invalidateListeners = new Set<InvalidateListener>();
  readonly #reconnectListeners = new Set<() => void>();
  readonly #onStatus: NonNullable<RedisStoreOptions['onStatus']>;
  /** Tags this process's own messages so it does not invalidate the copy it just saved. */
  readonly #origin = randomUUID();
  /** Settles once the invalidation channel is subscribed (or that failed). */
  readonly #subscribed: Promise<void>;
  readonly #commandTimeoutMs: number;
  #isSubscribed = false;
  #subscriberDown = false;
  readonly #missedListeners = new Set<() => void>();
  #wasReady = false;
  #down = false;
  #closing = false;

  constructor(options: RedisStoreOptions) {
    this.#prefix = options.keyPrefix;
    this.#channel = `${options.keyPrefix}events`;
    this.#onStatus = options.onStatus ?? (() => {});
    this.#commandTimeoutMs = options.commandTimeoutMs;
    const common = {
      ...toIoredisOptions(options.target),
      connectTimeout: Math.max(options.commandTimeoutMs, 1000),
      // Reconnect forever with a short cap: until a replica notices Redis is back it serves its own copies,
      // which other replicas may already have changed (the chaos drill measures this window).
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
      lazyConnect: false,
    };
    this.#client = new Redis({
      ...common,
      // Fail fast while disconnected instead of queueing: callers fall back (404, or save later).
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs,
    });
    // The subscriber queues SUBSCRIBE until connected and re-subscribes after every reconnect.
    this.#subscriber = new Redis({ ...common, maxRetriesPerRequest: null });
    const where = describeRedisTarget(options.target);
    this.#client.on('ready', () => {
      if (this.#down || !this.#wasReady) this.#onStatus({ level: 'info', message: `redis ready at ${where}` });
      const recovered = this.#down;
      this.#wasReady = true;
      this.#down = false;
      if (recovered) for (const listener of this.#reconnectListeners) listener();
    });
    this.#client.on('error', (error: Error) => this.#markDown(`redis error at ${where}: ${error.message}`));
    this.#client.on('end', () => this.#markDown(`redis connection to ${where} ended`));
    this.#client.on('close', () => this.#markDown(`redis connection to ${where} closed`));
    this.#subscriber.on('error', () => {});
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.#channel) return;
      // Message: "<deleted|updated> <session id> <origin>".
      const [kind, id, origin] = message.split(' ');
      if (!id || (kind !== 'deleted' && kind !== 'updated')) return;
      if (kind === 'updated' && origin === this.#origin) return;
      for (const listener of this.#invalidateListeners) listener(id, kind);
    });
    this.#subscribed = this.#subscriber.subscribe(this.#channel).then(
      () => {
        this.#isSubscribed = true;
      },
      () => undefined,
    );
    // Messages published while the subscriber was away are lost: after a re-subscribe, every copy is suspect.
    this.#subscriber.on('ready', () => {
      if (this.#subscriberDown && !this.#closing) for (const listener of this.#missedListeners) listener();
      this.#subscriberDown = false;
    });
    this.#subscriber.on('close', () => {
      if (this.#isSubscribed) this.#subscriberDown = true;
    });
  }

  /**
   * Waits up to `ms` for the first connection and the invalidation subscription (a replica that serves
   * before it listens could miss a change); false if Redis did not answer in time.
   */
  async waitUntilReady(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    const ready = await this.#clientReady(ms);
    if (ready && !this.#isSubscribed) await Promise.race([this.#subscribed, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
    return ready;
  }

  #clientReady(ms: number): Promise<boolean> {
    if (this.#client.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(false), ms);
      const onReady = () => finish(true);
      const finish = (ready: boolean) => {
        clearTimeout(timer);
        this.#client.off('ready', onReady);
        resolve(ready);
      };
      this.#client.on('ready', onReady);
    });
  }

  key(id: string): string {
    return `${this.#prefix}session:${id}`;
  }

  async load(id: string): Promise<LoadResult> {
    // A copy loaded before we listen for invalidations could go stale unnoticed (a fresh replica under load).
    if (!this.#isSubscribed) await Promise.race([this.#subscribed, new Promise((resolve) => setTimeout(resolve, this.#commandTimeoutMs).unref())]);
    let raw: string | null;
    try {
      raw = await this.#client.get(this.key(id));
    } catch (error) {
      // Redis answered with an error about this key (WRONGTYPE: something else lives there): a bad record, not an outage.
      if (error instanceof ReplyError) return { status: 'corrupt', reason: (error as Error).message };
      return { status: 'unavailable', reason: (error as Error).message };
    }
    if (raw === null) return { status: 'absent' };
    const decoded = decodeRecord(raw, id);
    if (!decoded.ok) return { status: 'corrupt', reason: decoded.reason };
    // PX and the absolute ceiling agree to the millisecond; this catches a clock step between replicas.
    if (decoded.record.maxExpiresAt <= Date.now()) return { status: 'expired' };
    return { status: 'found', record: decoded.record };
  }

  async save(record: SessionRecord, ttlMs: number, options: SaveOptions = {}): Promise<boolean> {
    const key = this.key(record.id);
    if (ttlMs <= 0) {
      await this.#client.del(key);
      return false;
    }
    const px = Math.ceil(ttlMs);
    if (options.onlyIfAbsent) return (await this.#client.set(key, encodeRecord(record), 'PX', px, 'NX')) === 'OK';
    if (options.onlyIfNewer) {
      const message = `updated ${record.id} ${this.#origin}`;
      return (await this.#client.eval(SAVE_IF_NEWER, 1, key, encodeRecord(record), px, record.updatedAt ?? 0, this.#channel, message)) === 1;
    }
    const result = await this.#client
      .multi()
      .set(key, encodeRecord(record), 'PX', px)
      .publish(this.#channel, `updated ${record.id} ${this.#origin}`)
      .exec();
    const failure = result?.[0]?.[0];
    if (failure) throw failure;
    return true;
  }

  async touch(id: string, ttlMs: number): Promise<boolean> {
    if (ttlMs <= 0) {
      await this.#client.del(this.key(id));
      return false;
    }
    return (await this.#client.pexpire(this.key(id), Math.ceil(ttlMs))) === 1;
  }

  async delete(id: string): Promise<boolean> {
    // Announce only a delete that removed something: a DELETE for an unknown id must not fan out to every replica.
    return (await this.#client.eval(DELETE_AND_ANNOUNCE, 1, this.key(id), this.#channel, `deleted ${id} ${this.#origin}`)) === 1;
  }

  onInvalidate(listener: InvalidateListener): () => void {
    this.#invalidateListeners.add(listener);
    return () => this.#invalidateListeners.delete(listener);
  }

  onMissedInvalidations(listener: () => void): () => void {
    this.#missedListeners.add(listener);
    return () => this.#missedListeners.delete(listener);
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.#client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([this.#client.quit(), this.#subscriber.quit()]);
    this.#client.disconnect();
    this.#subscriber.disconnect();
  }

  #markDown(message: string): void {
    if (this.#down || this.#closing) return;
    this.#down = true;
    this.#onStatus({ level: 'warn', message });
  }
}
