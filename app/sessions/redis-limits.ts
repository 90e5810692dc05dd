// Fleet-wide limits in Redis: a token bucket per principal (or client address) for new sessions and a
// sorted set per principal of its sessions scored by expiry, each in one script on Redis's own clock.
// Keys are hash-tagged by principal, never by session, and no session key shares a script with them.
import { createHash } from 'node:crypto';
import type { Rate } from '../config.js';
import type { FleetLimits, LimitsMode, Take } from './limits.js';
import type { RedisClient } from './redis-client.js';

/** Redis's clock in Unix ms: every replica's script agrees on "now", whatever their clocks say. */
const NOW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`;

/**
 * KEYS: the bucket (hash: tokens, at). ARGV: capacity, window ms. Refills capacity/window per ms, takes
 * one token. Returns {1, 0} taken or {0, ms until one is available}. Idle a full window, the bucket is
 * full again, so the key expires then.
 */
export const TAKE_TOKEN = `${NOW}
local capacity, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * capacity / window)
local taken, wait = 0, 0
if tokens >= 1 then
  tokens, taken = tokens - 1, 1
else
  wait = math.ceil((1 - tokens) * window / capacity)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], window)
return {taken, wait}`;

/**
 * KEYS: the principal's sessions (sorted set, score = expiry ms). ARGV: cap, session id, expiry.
 * Drops the expired, then adds the session unless the principal already has `cap` alive. The set
 * expires with its last member. Returns 1 admitted, 0 refused.
 */
export const ADMIT_SESSION = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
return 1`;

const SCRIPTS = { mcpTakeToken: TAKE_TOKEN, mcpAdmitSession: ADMIT_SESSION } as const;
type Call = (key: string, ...args: Array<string | number>) => Promise<unknown>;

export interface RedisLimitsOptions {
  /** The store's current command client (it changes when the connection string does); undefined before the first. */
  readonly client: () => RedisClient | undefined;
  /** Prefix of every key, as the store's. */
  readonly keyPrefix: string;
  /** New sessions per key; undefined: no rate limit. */
  readonly rate: Rate | undefined;
  /** Transitions between fleet-wide and local counting, one line each. */
  readonly onStatus: (event: { level: 'info' | 'warn'; message: string }) => void;
}

const tag = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);

export class RedisLimits implements FleetLimits {
  readonly #o: RedisLimitsOptions;
  readonly #taught = new WeakSet<object>();
  #mode: LimitsMode = 'fleet';
  /** Limit checks answered locally because Redis did not answer. */
  fallbacks = 0;

  constructor(options: RedisLimitsOptions) {
    this.#o = options;
  }

  get mode(): LimitsMode {
    return this.#mode;
  }

  /** The rate's bucket and the cap's set share the principal's tag: `key` is the principal itself, the owner its hash. */
  rateKey(key: string): string {
    return `${this.#o.keyPrefix}limits:{${tag(key)}}:rate`;
  }

  sessionsKey(owner: string): string {
    return `${this.#o.keyPrefix}limits:{${owner}}:sessions`;
  }

  async takeToken(key: string): Promise<Take | 'unavailable'> {
    const rate = this.#o.rate;
    if (!rate) return { ok: true };
    const reply = (await this.#run('mcpTakeToken', this.rateKey(key), rate.tokens, rate.perMs)) as [number, number] | 'unavailable';
    if (reply === 'unavailable') return reply;
    return reply[0] === 1 ? { ok: true } : { ok: false, retryAfterS: Math.max(1, Math.ceil(reply[1] / 1000)) };
  }

  async admitSession(owner: string, id: string, expiresAt: number, cap: number): Promise<'admitted' | 'refused' | 'unavailable'> {
    const reply = await this.#run('mcpAdmitSession', this.sessionsKey(owner), cap, id, Math.ceil(expiresAt));
    return reply === 'unavailable' ? reply : reply === 1 ? 'admitted' : 'refused';
  }

  extendSession(owner: string, id: string, expiresAt: number): void {
    const client = this.#o.client();
    if (!client) return;
    const key = this.sessionsKey(owner);
    // XX: a session the set no longer holds (deleted meanwhile) is not added back; GT: never shortened.
    client.pipeline().zadd(key, 'XX', 'GT', Math.ceil(expiresAt), id).pexpireat(key, Math.ceil(expiresAt), 'GT').exec().catch(() => undefined);
  }

  releaseSession(owner: string, id: string): void {
    this.#o.client()?.zrem(this.sessionsKey(owner), id).catch(() => undefined);
  }

  async #run(name: keyof typeof SCRIPTS, key: string, ...args: Array<string | number>): Promise<unknown> {
    const client = this.#o.client();
    try {
      if (!client) throw new Error('no Redis connection yet');
      if (!this.#taught.has(client)) {
        for (const [script, lua] of Object.entries(SCRIPTS)) client.defineCommand(script, { numberOfKeys: 1, lua });
        this.#taught.add(client);
      }
      const reply = await (client as unknown as Record<string, Call>)[name]?.(key, ...args);
      this.#switch('fleet');
      return reply;
    } catch (error) {
      this.fallbacks++;
      this.#switch('local', (error as Error).message);
      return 'unavailable';
    }
  }

  #switch(mode: LimitsMode, why?: string): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    this.#o.onStatus(
      mode === 'local'
        ? { level: 'warn', message: `fleet-wide session limits unavailable (${why ?? 'redis away'}): this replica counts new sessions on its own until Redis answers` }
        : { level: 'info', message: 'fleet-wide session limits counted in Redis again' },
    );
  }
}
