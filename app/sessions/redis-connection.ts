// One connection set to one Redis target: the command client and the invalidation channel. The store
// swaps it for a new one when the target changes (a connection string read late, a rotated key).
import { Redis } from 'ioredis';
import { InvalidationChannel } from './redis-channel.js';
import { defineScripts } from './redis-scripts.js';
import { describeRedisTarget, toIoredisOptions, type RedisTarget } from './redis-url.js';

export interface RedisConnectionOptions {
  readonly target: RedisTarget;
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
  /** Channels of peer messages (this replica's own and the fleet's), with their handlers. */
  readonly peerChannels: Readonly<Record<string, (message: string) => void>>;
  readonly onSuspect: (why: string) => void;
  /** How often memory use is read (`INFO memory`), and the share of `maxmemory` that counts as nearly full. */
  readonly memoryCheckMs: number;
  readonly nearlyFullRatio: number;
  readonly onStatus: (event: { level: 'info' | 'warn'; message: string }) => void;
}

const AUTH_FAILURE = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i;

export class RedisConnection {
  readonly client: Redis;
  readonly channel: InvalidationChannel;
  readonly where: string;
  #closed = false;
  #lastReset = 0;
  /** The last memory reading was at or above `nearlyFullRatio` of `maxmemory`. */
  nearlyFull = false;
  readonly #memoryTimer: NodeJS.Timeout;

  constructor(readonly options: RedisConnectionOptions) {
    this.where = describeRedisTarget(options.target);
    const connection = {
      ...toIoredisOptions(options.target),
      connectTimeout: Math.max(options.commandTimeoutMs, 1000),
      // TCP keepalive: a peer that vanished without a FIN is noticed by the kernel, not never.
      keepAlive: 5000,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 500),
    };
    this.client = new Redis({
      ...connection,
      // Fail fast while disconnected instead of queueing: a caller gets "unavailable" at once.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs,
    });
    defineScripts(this.client);
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
      extraChannels: options.peerChannels,
      onSuspect: (why) => {
        if (!this.#closed) options.onSuspect(why);
      },
    });
    this.#memoryTimer = setInterval(() => void this.#checkMemory(), options.memoryCheckMs);
    this.#memoryTimer.unref();
  }

  /** Reads memory use against `maxmemory`; no limit set (or no answer) keeps the last reading. */
  async #checkMemory(): Promise<void> {
    try {
      const info = await this.client.info('memory');
      const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
      const max = Number(/^maxmemory:(\d+)/m.exec(info)?.[1]);
      const nearlyFull = max > 0 && used / max >= this.options.nearlyFullRatio;
      if (nearlyFull !== this.nearlyFull && !this.#closed) {
        this.options.onStatus(nearlyFull ? { level: 'warn', message: `redis memory at ${Math.round((used / max) * 100)}% of maxmemory: new sessions are refused until it drops` } : { level: 'info', message: 'redis memory below the limit again: new sessions accepted' });
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
    this.client.disconnect(true);
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
