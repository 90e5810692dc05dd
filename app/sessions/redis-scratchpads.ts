// Redis ScratchpadStore: one hash per handle (owner, absolute expiry, data fields) in its own hash slot,
// on the session store's connection; every operation is one script, so one round trip.
import { DATA_LIMITS, dataErrors, decodeDataKey, decodeDataValue, encodeDataKey, encodeDataValue, type DataValue } from './data.js';
import { RedisSessionStore } from './redis-store.js';
import type { SessionStore } from './store.js';
import { LATE, runScript } from './redis-scripts.js';
import { HANDLE_PATTERN, MemoryScratchpadStore, mintScratchpadHandle, type ScratchpadLifetime, type ScratchpadStore } from './scratchpad-store.js';

export interface RedisScratchpadOptions {
  /** The session store whose connection, key prefix and change channel the scratchpads share. */
  readonly store: RedisSessionStore;
  readonly lifetime: ScratchpadLifetime;
}

type Reply = Array<number | string | null | string[]>;

export class RedisScratchpadStore implements ScratchpadStore {
  readonly kind = 'redis' as const;
  readonly #o: RedisScratchpadOptions;
  readonly lifetime: ScratchpadLifetime;

  constructor(options: RedisScratchpadOptions) {
    this.#o = options;
    this.lifetime = options.lifetime;
  }

  /** A handle's hash: `{handle}` is its hash tag, so its one key is one slot on a sharded Redis. */
  key(handle: string): string {
    return `${this.#o.store.keyPrefix}scratchpad:{${handle}}`;
  }

  async open(owner: string): Promise<string> {
    const handle = mintScratchpadHandle();
    const { idleMs, maxMs } = this.#o.lifetime;
    const reply = await this.#o.store.command('saved', (client, deadline) => runScript(client, 'mcpPadOpen', this.key(handle), owner, Date.now() + maxMs, Math.min(idleMs, maxMs), deadline) as Promise<Reply>);
    if (reply[0] === LATE) throw dataErrors.unavailable('saved');
    // 192 random bits never collide in practice; a hash already there is refused rather than shared.
    if (reply[0] !== 1) throw dataErrors.unavailable('saved');
    return handle;
  }

  async get(handle: string, owner: string, key: string): Promise<DataValue | undefined> {
    const reply = await this.#call('read', handle, (client, k) => runScript(client, 'mcpPadGet', k, owner, this.#o.lifetime.idleMs, encodeDataKey(key)));
    const raw = reply[1];
    return typeof raw === 'string' ? decodeDataValue(raw) : undefined;
  }

  async set(handle: string, owner: string, key: string, value: DataValue): Promise<void> {
    const reply = await this.#call('saved', handle, (client, k, deadline) =>
      runScript(client, 'mcpPadSet', k, owner, this.#o.lifetime.idleMs, encodeDataKey(key), encodeDataValue(value), DATA_LIMITS.keys, DATA_LIMITS.totalBytes, this.#o.store.changesChannel, `updated ${handle}`, deadline),
    );
    if (reply[0] === 2) throw dataErrors.full();
    if (reply[0] === 3) throw dataErrors.tooLarge(Number(reply[1] ?? 0));
  }

  async delete(handle: string, owner: string, key: string): Promise<boolean> {
    const reply = await this.#call('deleted', handle, (client, k, deadline) =>
      runScript(client, 'mcpPadDelete', k, owner, this.#o.lifetime.idleMs, encodeDataKey(key), this.#o.store.changesChannel, `updated ${handle}`, deadline),
    );
    return reply[0] === 1;
  }

  async list(handle: string, owner: string): Promise<Record<string, DataValue>> {
    const reply = await this.#call('read', handle, (client, k) => runScript(client, 'mcpPadList', k, owner, this.#o.lifetime.idleMs));
    const fields = Array.isArray(reply[1]) ? reply[1] : [];
    const out = Object.create(null) as Record<string, DataValue>;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const key = decodeDataKey(fields[i] as string);
      const value = key === undefined ? undefined : decodeDataValue(fields[i + 1] as string);
      if (key !== undefined && value !== undefined) out[key] = value;
    }
    return out;
  }

  async clear(handle: string, owner: string): Promise<number> {
    const reply = await this.#call('deleted', handle, (client, k, deadline) => runScript(client, 'mcpPadClear', k, owner, this.#o.lifetime.idleMs, this.#o.store.changesChannel, `updated ${handle}`, deadline));
    return Number(reply[0]);
  }

  async publishChange(message: string): Promise<void> {
    await this.#o.store.command('saved', (client) => client.publish(this.#o.store.changesChannel, message));
  }

  onChange(listener: (message: string) => void): () => void {
    return this.#o.store.onChange(listener);
  }

  /** One script on the handle's key; a malformed handle is unknown without a round trip. */
  async #call(verb: 'saved' | 'read' | 'deleted', handle: string, script: (client: Parameters<Parameters<RedisSessionStore['command']>[1]>[0], key: string, deadline: number) => Promise<unknown>): Promise<Reply> {
    if (!HANDLE_PATTERN.test(handle)) throw dataErrors.unknownScratchpad();
    // A write whose client hung up must not land over what that client may have written since (write-fence.ts).
    if (verb !== 'read') this.#o.store.fenceWrite(verb);
    const reply = (await this.#o.store.command(verb, (client, deadline) => script(client, this.key(handle), deadline))) as Reply;
    if (reply[0] === LATE) throw dataErrors.unavailable(verb === 'read' ? 'read' : verb);
    if (reply[0] === -1) throw dataErrors.unknownScratchpad();
    return reply;
  }
}

/** The scratchpad store that goes with a session store: Redis beside Redis (same connection), in-process beside memory. */
export function scratchpadStoreFor(store: SessionStore, lifetime: ScratchpadLifetime): ScratchpadStore {
  return store instanceof RedisSessionStore ? new RedisScratchpadStore({ store, lifetime }) : new MemoryScratchpadStore({ lifetime });
}
