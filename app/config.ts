// The one place that reads the environment: validated, typed, with defaults applied here and nowhere else.

/** Names of every environment variable the server reads. `infra/` imports these so the two never drift. */
export const ENV = {
  port: 'PORT',
  host: 'HOST',
  allowedHosts: 'MCP_ALLOWED_HOSTS',
  redisUrl: 'REDIS_URL',
  keyVaultUrl: 'KEY_VAULT_URL',
  redisSecretName: 'REDIS_SECRET_NAME',
  azureClientId: 'AZURE_CLIENT_ID',
  keyPrefix: 'SESSION_KEY_PREFIX',
  idleTtl: 'SESSION_IDLE_TTL',
  maxTtl: 'SESSION_MAX_TTL',
  maxLiveSessions: 'MAX_LIVE_SESSIONS',
  liveIdle: 'LIVE_SESSION_IDLE',
  restoreTimeout: 'RESTORE_TIMEOUT',
  commandTimeout: 'REDIS_COMMAND_TIMEOUT',
  heartbeat: 'REDIS_HEARTBEAT',
  pendingTtl: 'SESSION_PENDING_TTL',
  maxSessionsPerPrincipal: 'MAX_SESSIONS_PER_PRINCIPAL',
  keyVaultTimeout: 'KEY_VAULT_TIMEOUT',
  keyVaultRefresh: 'KEY_VAULT_REFRESH',
  maxBodyBytes: 'MAX_BODY_BYTES',
  responseMode: 'MCP_RESPONSE_MODE',
  logLevel: 'LOG_LEVEL',
  replicaName: 'REPLICA_NAME',
  drainDelay: 'DRAIN_DELAY',
  drainTimeout: 'DRAIN_TIMEOUT',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** TCP port of the HTTP server. Default 3000; 0 picks a free port. */
  readonly port: number;
  /** Interface to bind. Default 127.0.0.1 (containers set 0.0.0.0). */
  readonly host: string;
  /** Host names accepted in the `Host` header (DNS-rebinding protection). Default: loopback names. */
  readonly allowedHosts: readonly string[];
  /** Redis URL or Azure connection string, when given directly. Wins over Key Vault. */
  readonly redisUrl: string | undefined;
  /**
   * Key Vault holding the Redis connection string; used only when `redisUrl` is absent. `timeoutMs`
   * bounds one read (then it is retried); `refreshIntervalMs` re-reads the latest version to notice a
   * rotation (undefined: only when Redis refuses the credentials).
   */
  readonly keyVault:
    | { readonly url: string; readonly secretName: string; readonly clientId: string | undefined; readonly timeoutMs: number; readonly refreshIntervalMs: number | undefined }
    | undefined;
  /** Prefix of every Redis key, so several deployments can share one Redis. */
  readonly keyPrefix: string;
  /** Sliding idle lifetime of a session record. */
  readonly idleTtlMs: number;
  /** Absolute lifetime of a session from its creation; the idle TTL never extends past it. */
  readonly maxTtlMs: number;
  /** Most sessions kept live in this process; the least recently used beyond it are evicted (restorable). */
  readonly maxLiveSessions: number;
  /** A live session unused this long is evicted from memory (its record stays in Redis). */
  readonly liveIdleMs: number;
  /** Upper bound of any one Redis command (restore, data read or write); a hung Redis costs this, never more. */
  readonly commandTimeoutMs: number;
  /** Heartbeat period of the invalidation channel; cached shapes are trusted for three of them. */
  readonly heartbeatMs: number;
  /** Lifetime of a record whose session has made no call since initialize. */
  readonly pendingTtlMs: number;
  /** Most live sessions one authenticated principal may hold on one replica. */
  readonly maxSessionsPerPrincipal: number;
  /** Largest accepted request body in bytes. */
  readonly maxBodyBytes: number;
  /** `sse` streams each response (default); `json` answers plain JSON bodies. */
  readonly responseMode: 'sse' | 'json';
  readonly logLevel: LogLevel;
  /** Name this replica reports in `session_info`; default host name. */
  readonly replicaName: string | undefined;
  /**
   * After SIGTERM: how long the replica keeps serving normally with `/readyz` failing, so the ingress
   * stops routing to it before it stops accepting connections. Default 15 s; 0 skips it. SIGINT skips it.
   */
  readonly drainDelayMs: number;
  /**
   * After the drain delay: how long calls in flight get to finish before their streams are cut. Default
   * 20 s; delay + timeout must stay below the platform's grace period (45 s in infra/).
   */
  readonly drainTimeoutMs: number;
}

/** A configuration error names the variable and says what is accepted. */
export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Parses `500ms`, `30s`, `15m`, `8h`, `1d`, or a bare number of seconds. */
export function parseDuration(variable: string, raw: string): number {
  const match = DURATION.exec(raw.trim());
  if (!match) throw new ConfigError(variable, `"${raw}" is not a duration (examples: 500ms, 30s, 15m, 8h, 1d; a bare number is seconds)`);
  const ms = Number(match[1]) * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS];
  if (!(ms > 0)) throw new ConfigError(variable, `must be greater than zero, got "${raw}"`);
  return Math.round(ms);
}

function parseInteger(variable: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(variable, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and validates the environment once. Throws `ConfigError` naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const get = (name: EnvName): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const duration = (name: EnvName, fallback: string) => parseDuration(name, get(name) ?? fallback);

  const keyVaultUrl = get(ENV.keyVaultUrl);
  if (keyVaultUrl && !/^https:\/\/[^/]+/.test(keyVaultUrl)) {
    throw new ConfigError(ENV.keyVaultUrl, `must be the vault's https URI (https://<name>.vault.azure.net/), got "${keyVaultUrl}"`);
  }
  const logLevel = (get(ENV.logLevel) ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(ENV.logLevel, `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const idleTtlMs = duration(ENV.idleTtl, '8h');
  const maxTtlMs = duration(ENV.maxTtl, '24h');
  if (maxTtlMs < idleTtlMs) {
    throw new ConfigError(ENV.maxTtl, `must be at least ${ENV.idleTtl} (${idleTtlMs} ms), got ${maxTtlMs} ms`);
  }
  const responseMode = (get(ENV.responseMode) ?? 'sse').toLowerCase();
  if (responseMode !== 'sse' && responseMode !== 'json') {
    throw new ConfigError(ENV.responseMode, `must be sse or json, got "${responseMode}"`);
  }
  const allowedHosts = (get(ENV.allowedHosts) ?? 'localhost,127.0.0.1,[::1]')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);

  return {
    port: parseInteger(ENV.port, get(ENV.port) ?? '3000', 0, 65_535),
    host: get(ENV.host) ?? '127.0.0.1',
    allowedHosts,
    redisUrl: get(ENV.redisUrl),
    keyVault: keyVaultUrl
      ? {
          url: keyVaultUrl,
          secretName: get(ENV.redisSecretName) ?? 'redis-connection-string',
          clientId: get(ENV.azureClientId),
          timeoutMs: duration(ENV.keyVaultTimeout, '10s'),
          refreshIntervalMs: /^(off|0)$/i.test(get(ENV.keyVaultRefresh) ?? '') ? undefined : duration(ENV.keyVaultRefresh, '15m'),
        }
      : undefined,
    keyPrefix: get(ENV.keyPrefix) ?? 'mcp-continuity:',
    idleTtlMs,
    maxTtlMs,
    maxLiveSessions: parseInteger(ENV.maxLiveSessions, get(ENV.maxLiveSessions) ?? '2000', 1, 10_000_000),
    liveIdleMs: duration(ENV.liveIdle, '30m'),
    // RESTORE_TIMEOUT is the name this had before data operations used it too.
    commandTimeoutMs: duration(ENV.commandTimeout, get(ENV.restoreTimeout) ?? '2s'),
    heartbeatMs: duration(ENV.heartbeat, '1s'),
    pendingTtlMs: duration(ENV.pendingTtl, '5m'),
    maxSessionsPerPrincipal: parseInteger(ENV.maxSessionsPerPrincipal, get(ENV.maxSessionsPerPrincipal) ?? '100', 1, 1_000_000),
    maxBodyBytes: parseInteger(ENV.maxBodyBytes, get(ENV.maxBodyBytes) ?? String(1024 * 1024), 1024, 64 * 1024 * 1024),
    responseMode,
    logLevel: logLevel as LogLevel,
    replicaName: get(ENV.replicaName),
    // 0 is a valid drain delay (a local run, or a platform that stops routing before it signals).
    drainDelayMs: /^0+(\.0*)?\s*(ms|s|m|h|d)?$/.test(get(ENV.drainDelay) ?? '') ? 0 : duration(ENV.drainDelay, '15s'),
    drainTimeoutMs: duration(ENV.drainTimeout, '20s'),
  };
}
