// Where the Redis connection string comes from: REDIS_URL, else a Key Vault secret watched in the background, else none.
import type { Config } from './config.js';
import { traceKeyVaultRead } from './telemetry/hooks.js';

/** The one call we need from Key Vault; the production reader wraps `SecretClient`. */
export interface SecretReader {
  getSecret(name: string, options: { abortSignal: AbortSignal }): Promise<{ value?: string | undefined; properties?: { version?: string | undefined } }>;
}

export type SecretReaderFactory = (vaultUrl: string, clientId: string | undefined) => SecretReader | Promise<SecretReader>;

/** What a source reports for `/readyz`. `reason` and `lastError` are short and never contain the secret. */
export type SecretSourceState =
  | { readonly status: 'waiting-for-key-vault'; readonly reason: string; readonly since: number; readonly attempts: number }
  | { readonly status: 'have-secret'; readonly version: string | undefined; readonly since: number; readonly lastError: string | undefined };

/** pino-compatible subset; fields never carry the secret's value. */
export interface SecretSourceLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface RedisSecretSourceOptions {
  readonly vaultUrl: string;
  readonly secretName: string;
  /** Client id of the user-assigned managed identity; without it, `DefaultAzureCredential`. */
  readonly clientId: string | undefined;
  /** Builds the Key Vault reader once. Default: `azureSecretReader`. */
  readonly readerFactory?: SecretReaderFactory;
  /** Bound on one read; a slower one is aborted and retried with backoff. Default 10 s. */
  readonly readTimeoutMs?: number;
  /** Re-read of the latest version while a value is known, to notice rotation; 0 or undefined: never. */
  readonly refreshIntervalMs?: number | undefined;
  /** `refresh()` starts at most one read per this interval; callers in between share the next one. Default 5 s. */
  readonly minRefreshIntervalMs?: number;
  /** First retry delay after a failed read, doubled per failure up to `maxMs`, with jitter. Default 500 ms / 30 s. */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** The same failure is logged again at most this often. Default 5 min. */
  readonly repeatLogMs?: number;
  readonly logger?: SecretSourceLogger;
  /** Says why a value is unusable (e.g. not a Redis URL); the answer must not quote the value. */
  readonly validate?: (value: string) => string | undefined;
  /** Injected for tests. */
  readonly random?: () => number;
  readonly now?: () => number;
}

/**
 * Production reader: a user-assigned managed identity when `AZURE_CLIENT_ID` is set (Container Apps),
 * otherwise the default chain (e.g. `az login` on a developer machine). Loaded lazily so memory mode
 * never pays for the Azure SDK.
 */
export const azureSecretReader: SecretReaderFactory = async (vaultUrl, clientId) => {
  const [{ SecretClient }, identity] = await Promise.all([import('@azure/keyvault-secrets'), import('@azure/identity')]);
  const credential = clientId ? new identity.ManagedIdentityCredential({ clientId }) : new identity.DefaultAzureCredential();
  return new SecretClient(vaultUrl, credential);
};

/** Delay before retry number `failures` (0-based): uniformly in [ceiling/2, ceiling], ceiling = min(max, initial·2^failures). */
export function backoffDelay(failures: number, random: () => number, initialMs = 500, maxMs = 30_000): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(failures, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Reads the Redis connection string from Key Vault and never gives up: while the secret is unreadable
 * (403 until a role assignment applies, 404 until someone writes it, network) it retries in the
 * background with backoff and reports `waiting-for-key-vault`. Listeners hear the value the first time
 * and whenever it changes (a new version after a key rotation), from the periodic check or `refresh()`.
 */
export class RedisSecretSource {
  readonly #o: RedisSecretSourceOptions & Required<Pick<RedisSecretSourceOptions, 'readerFactory' | 'readTimeoutMs' | 'minRefreshIntervalMs' | 'repeatLogMs' | 'random' | 'now'>> & { refreshIntervalMs: number; initialMs: number; maxMs: number };
  readonly #listeners = new Set<(url: string) => void>();
  #reader: Promise<SecretReader> | undefined;
  #value: string | undefined;
  #state: SecretSourceState;
  #failures = 0;
  #lastReadAt = -Infinity;
  #inflight: Promise<void> | undefined;
  #deferred: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #deferTimer: NodeJS.Timeout | undefined;
  #releaseDeferred: (() => void) | undefined;
  #abort: AbortController | undefined;
  #logged: { key: string; at: number } | undefined;
  #closed = false;

  constructor(options: RedisSecretSourceOptions) {
    const o = options;
    // `??` rather than spread defaults: an explicit `undefined` (e.g. from Config) means "the default".
    this.#o = { ...o, readerFactory: o.readerFactory ?? azureSecretReader, readTimeoutMs: o.readTimeoutMs ?? 10_000, minRefreshIntervalMs: o.minRefreshIntervalMs ?? 5_000,
      repeatLogMs: o.repeatLogMs ?? 300_000, random: o.random ?? Math.random, now: o.now ?? Date.now, refreshIntervalMs: o.refreshIntervalMs ?? 0,
      initialMs: o.backoff?.initialMs ?? 500, maxMs: o.backoff?.maxMs ?? 30_000 };
    this.#state = { status: 'waiting-for-key-vault', reason: 'first read in progress', since: this.#o.now(), attempts: 0 };
  }

  /** Starts reading. Returns at once: the replica runs as a Redis replica waiting for its credentials. */
  start(): this {
    if (!this.#closed && !this.#inflight && this.#value === undefined) void this.#read();
    return this;
  }

  get state(): SecretSourceState {
    return this.#state;
  }

  /** Called with the value now (asynchronously) if known, then on every change. Returns an unsubscribe. */
  onValue(listener: (url: string) => void): () => void {
    this.#listeners.add(listener);
    const known = this.#value;
    if (known !== undefined) queueMicrotask(() => this.#listeners.has(listener) && this.#value === known && this.#notify(listener, known));
    return () => this.#listeners.delete(listener);
  }

  /**
   * Re-reads the latest version now, e.g. when Redis answers WRONGPASS/NOAUTH. Concurrent callers share
   * one read, and reads start at most once per `minRefreshIntervalMs`. Resolves when that read is done;
   * never rejects (a failure shows in `state` and in the log).
   */
  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#inflight) return this.#inflight;
    const wait = this.#lastReadAt + this.#o.minRefreshIntervalMs - this.#o.now();
    if (wait <= 0) return this.#read();
    return (this.#deferred ??= new Promise<void>((resolve) => {
      this.#releaseDeferred = resolve;
      this.#deferTimer = setTimeout(() => {
        this.#deferred = undefined;
        void this.#read().then(resolve);
      }, wait);
      this.#deferTimer.unref();
    }));
  }

  /** Stops every timer and aborts a read in flight. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#deferTimer);
    this.#releaseDeferred?.(); // a caller awaiting a deferred refresh() must not hang on a closed source
    this.#abort?.abort();
    this.#listeners.clear();
  }

  #read(): Promise<void> {
    return (this.#inflight ??= this.#attempt().finally(() => (this.#inflight = undefined)));
  }

  async #attempt(): Promise<void> {
    clearTimeout(this.#timer);
    this.#lastReadAt = this.#o.now();
    try {
      const secret = await traceKeyVaultRead(() => this.#readOnce());
      const value = secret.value?.trim();
      if (!value) throw new UnusableSecretError('empty', `secret "${this.#o.secretName}" is empty`);
      const invalid = this.#o.validate?.(value);
      if (invalid) throw new UnusableSecretError('invalid', `secret "${this.#o.secretName}" is unusable: ${invalid}`);
      if (!this.#closed) this.#succeeded(value, secret.properties?.version);
    } catch (error) {
      if (!this.#closed) this.#failed(error);
    }
  }

  async #readOnce(): Promise<Awaited<ReturnType<SecretReader['getSecret']>>> {
    const abort = (this.#abort = new AbortController());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new UnusableSecretError('timeout', `no answer from Key Vault within ${this.#o.readTimeoutMs} ms`));
      }, this.#o.readTimeoutMs);
    });
    try {
      this.#reader ??= Promise.resolve(this.#o.readerFactory(this.#o.vaultUrl, this.#o.clientId)).catch((error: unknown) => {
        this.#reader = undefined;
        throw error;
      });
      const reader = this.#reader;
      return await Promise.race([reader.then((r) => r.getSecret(this.#o.secretName, { abortSignal: abort.signal })), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #succeeded(value: string, version: string | undefined): void {
    const now = this.#o.now();
    const previous = this.#state;
    const fields = { vault: this.#o.vaultUrl, secret: this.#o.secretName, version };
    this.#failures = 0;
    this.#logged = undefined;
    if (value !== this.#value) {
      const first = this.#value === undefined;
      this.#value = value;
      this.#state = { status: 'have-secret', version, since: now, lastError: undefined };
      if (first && previous.status === 'waiting-for-key-vault') {
        this.#o.logger?.info({ ...fields, attempts: previous.attempts + 1, waitedMs: now - previous.since }, 'Key Vault secret read: the Redis connection string is available');
      } else {
        this.#o.logger?.info({ ...fields, previousVersion: previous.status === 'have-secret' ? previous.version : undefined }, 'Key Vault secret changed: Redis should reconnect with the new connection string');
      }
      for (const listener of [...this.#listeners]) this.#notify(listener, value);
    } else if (previous.status === 'have-secret') {
      if (previous.lastError) this.#o.logger?.info(fields, 'Key Vault secret readable again; unchanged');
      this.#state = { ...previous, version, lastError: undefined };
    }
    if (this.#o.refreshIntervalMs > 0) this.#schedule(this.#o.refreshIntervalMs);
  }

  #failed(error: unknown): void {
    const failure = describeFailure(error, this.#o.secretName);
    const now = this.#o.now();
    const delay = backoffDelay(this.#failures++, this.#o.random, this.#o.initialMs, this.#o.maxMs);
    const previous = this.#state;
    this.#state =
      previous.status === 'have-secret'
        ? { ...previous, lastError: failure.reason }
        : { status: 'waiting-for-key-vault', reason: failure.reason, since: previous.since, attempts: previous.attempts + 1 };
    if (!this.#logged || this.#logged.key !== failure.key || now - this.#logged.at >= this.#o.repeatLogMs) {
      this.#logged = { key: failure.key, at: now };
      const fields = { vault: this.#o.vaultUrl, secret: this.#o.secretName, reason: failure.reason, detail: failure.detail, failures: this.#failures, retryInMs: delay };
      this.#o.logger?.warn(
        fields,
        previous.status === 'have-secret'
          ? 'Key Vault re-read failed; keeping the current Redis connection string and retrying'
          : 'Key Vault secret not readable yet; this replica waits for Redis credentials and keeps retrying in the background',
      );
    }
    this.#schedule(delay);
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#read(), ms);
    this.#timer.unref();
  }

  #notify(listener: (url: string) => void, value: string): void {
    try {
      listener(value);
    } catch (error) {
      this.#o.logger?.warn({ detail: firstLine(error) }, 'a Redis connection string listener threw');
    }
  }
}

class UnusableSecretError extends Error {
  constructor(readonly key: string, message: string) {
    super(message);
    this.name = 'UnusableSecretError';
  }
}

/** A stable key (for log de-duplication) and a short reason for `/readyz`. Azure SDK messages never hold the value. */
function describeFailure(error: unknown, secretName: string): { key: string; reason: string; detail: string } {
  const detail = firstLine(error);
  if (error instanceof UnusableSecretError) return { key: error.key, reason: error.message, detail };
  const { statusCode, code, name } = error as { statusCode?: number; code?: string; name?: string };
  if (statusCode === 403) return { key: '403', reason: `403: the identity may not read secret "${secretName}" yet (role assignments can take minutes to apply)`, detail };
  if (statusCode === 404) return { key: '404', reason: `404: secret "${secretName}" does not exist yet`, detail };
  if (statusCode) return { key: `http-${statusCode}`, reason: `Key Vault answered ${statusCode}`, detail };
  if (name === 'CredentialUnavailableError' || name === 'AuthenticationError') return { key: name, reason: `managed identity: no token (${name})`, detail };
  if (name === 'AbortError') return { key: 'timeout', reason: 'Key Vault read aborted', detail };
  if (code) return { key: `net-${code}`, reason: `network: ${code}`, detail };
  return { key: `error-${name ?? 'unknown'}`, reason: detail.slice(0, 120), detail };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.slice(0, 300) ?? 'unknown error';
}

/** The store's connection choice. With Key Vault the replica is a Redis replica from its first second. */
export type RedisConnectionSource =
  | { readonly mode: 'redis'; readonly source: 'REDIS_URL'; readonly url: string }
  | { readonly mode: 'redis'; readonly source: 'key-vault'; readonly secrets: RedisSecretSource }
  | { readonly mode: 'memory'; readonly reason: string };

/** Precedence: REDIS_URL, then Key Vault (a started `RedisSecretSource`), then memory. */
export function redisConnectionSource(
  config: Pick<Config, 'redisUrl' | 'keyVault'>,
  extras: Pick<RedisSecretSourceOptions, 'readerFactory' | 'logger' | 'validate'> = {},
): RedisConnectionSource {
  if (config.redisUrl) return { mode: 'redis', source: 'REDIS_URL', url: config.redisUrl };
  const vault = config.keyVault;
  if (!vault) return { mode: 'memory', reason: 'neither REDIS_URL nor KEY_VAULT_URL is set' };
  const secrets = new RedisSecretSource({
    vaultUrl: vault.url,
    secretName: vault.secretName,
    clientId: vault.clientId,
    readTimeoutMs: vault.timeoutMs,
    refreshIntervalMs: vault.refreshIntervalMs,
    ...extras,
  });
  return { mode: 'redis', source: 'key-vault', secrets: secrets.start() };
}
