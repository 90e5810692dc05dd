// The one place that reads the environment: validated, typed, with defaults applied here and nowhere else.
import { parseApiKeys, type ApiKey } from './http/api-keys.js';
import { parseRedisUrl, RedisUrlError } from './sessions/redis-url.js';

/** Names of every environment variable the server reads. `infra/` imports these so the two never drift. */
export const ENV = {
  port: 'PORT',
  host: 'HOST',
  allowedHosts: 'MCP_ALLOWED_HOSTS',
  redisUrl: 'REDIS_URL',
  redisCluster: 'REDIS_CLUSTER',
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
  memoryCheck: 'REDIS_MEMORY_CHECK',
  pendingTtl: 'SESSION_PENDING_TTL',
  maxSessionsPerPrincipal: 'MAX_SESSIONS_PER_PRINCIPAL',
  keyVaultTimeout: 'KEY_VAULT_TIMEOUT',
  keyVaultRefresh: 'KEY_VAULT_REFRESH',
  maxBodyBytes: 'MAX_BODY_BYTES',
  responseMode: 'MCP_RESPONSE_MODE',
  logLevel: 'LOG_LEVEL',
  replicaName: 'REPLICA_NAME',
  containerAppReplicaName: 'CONTAINER_APP_REPLICA_NAME',
  authMode: 'AUTH_MODE',
  apiKeys: 'MCP_API_KEYS',
  publicUrl: 'MCP_PUBLIC_URL',
  oauthIssuer: 'OAUTH_ISSUER',
  oauthAudience: 'OAUTH_AUDIENCE',
  oauthJwksUrl: 'OAUTH_JWKS_URL',
  oauthRequiredScopes: 'OAUTH_REQUIRED_SCOPES',
  oauthRolesAsScopes: 'OAUTH_ROLES_AS_SCOPES',
  allowedOrigins: 'MCP_ALLOWED_ORIGINS',
  sessionCreateRate: 'SESSION_CREATE_RATE',
  trustProxy: 'TRUST_PROXY',
  requestBodyTimeout: 'REQUEST_BODY_TIMEOUT',
  drainDelay: 'DRAIN_DELAY',
  drainTimeout: 'DRAIN_TIMEOUT',
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  otlpTracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  otlpMetricsEndpoint: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  otlpHeaders: 'OTEL_EXPORTER_OTLP_HEADERS',
  otelDisabled: 'OTEL_SDK_DISABLED',
  otelServiceName: 'OTEL_SERVICE_NAME',
  otelSpanDelay: 'OTEL_BSP_SCHEDULE_DELAY',
  otelMetricInterval: 'OTEL_METRIC_EXPORT_INTERVAL',
  otelSampler: 'OTEL_TRACES_SAMPLER',
  otelSamplerArg: 'OTEL_TRACES_SAMPLER_ARG',
  appInsightsConnectionString: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
  requestStateKey: 'MCP_REQUEST_STATE_KEY',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Who may call /mcp. Mutually exclusive modes; `none` is for local runs only. */
export type AuthConfig =
  | { readonly mode: 'none' }
  | {
      readonly mode: 'key';
      /** Accepted bearer keys; several at once so a key rotates with no downtime. Never logged. */
      readonly keys: readonly ApiKey[];
    }
  | {
      readonly mode: 'oauth';
      /** Expected `iss`, also the authorization server named in the protected-resource metadata. */
      readonly issuer: string;
      /** Accepted `aud` values (Entra ID v2: the API's client id). */
      readonly audience: readonly string[];
      /** JWKS location; default: `jwks_uri` from `<issuer>/.well-known/openid-configuration`. */
      readonly jwksUrl: string | undefined;
      /** Scopes every token must carry; announced in the metadata and in 401 challenges. */
      readonly requiredScopes: readonly string[];
      /** Count `roles` (app-only Entra tokens) as scopes; off by default. */
      readonly rolesAsScopes: boolean;
    };

/**
 * Where telemetry goes. `off` (neither exporter configured) loads no telemetry module at all. The
 * intervals are the standard OTEL_BSP_SCHEDULE_DELAY / OTEL_METRIC_EXPORT_INTERVAL, in milliseconds.
 */
/** Which traces are recorded: a share of new traces (`ratio`), and whether a client's sampled flag decides for its own. */
export interface TraceSampling {
  readonly ratio: number;
  readonly parentBased: boolean;
}

export type TelemetryConfig =
  | { readonly exporter: 'off' }
  | {
      readonly exporter: 'otlp';
      readonly serviceName: string;
      /** OTLP/HTTP (JSON) endpoints; undefined: that signal is not exported. */
      readonly tracesUrl: string | undefined;
      readonly metricsUrl: string | undefined;
      /** Sent with every export (e.g. a collector's API key). Never logged. */
      readonly headers: Readonly<Record<string, string>>;
      readonly spanDelayMs: number;
      readonly metricIntervalMs: number;
      readonly sampling: TraceSampling;
    }
  | { readonly exporter: 'azure-monitor'; readonly serviceName: string; readonly connectionString: string; readonly spanDelayMs: number; readonly metricIntervalMs: number; readonly sampling: TraceSampling };

/** A token bucket: `tokens` per `perMs`, burst = `tokens`. */
export interface Rate {
  readonly tokens: number;
  readonly perMs: number;
}

function requestStateKey(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  // The SDK's codec wants 32 bytes or more: a shorter secret would be guessable offline from one state.
  if (Buffer.byteLength(raw) < 32) throw new ConfigError(ENV.requestStateKey, `must be at least 32 bytes long (e.g. openssl rand -hex 32), got ${Buffer.byteLength(raw)}`);
  return raw;
}

export interface Config {
  /** Authentication in front of /mcp and /statusz. Default `none` (warned about off loopback). */
  readonly auth: AuthConfig;
  /** Public https URL of the MCP endpoint (the OAuth `resource`); required in oauth mode. */
  readonly publicUrl: string | undefined;
  /** Origins (scheme://host[:port]) browsers may call /mcp from; `['*']` turns the check off. */
  readonly allowedOrigins: readonly string[];
  /** New sessions per principal (per client address without auth); undefined = unlimited. */
  readonly sessionCreateRate: Rate | undefined;
  /** Take the client address from `X-Forwarded-For`'s last hop (set it behind Container Apps' ingress only). */
  readonly trustProxy: boolean;
  /** A request whose headers and body have not fully arrived within this is cut (408). Streams unaffected. */
  readonly requestBodyTimeoutMs: number;
  /** TCP port of the HTTP server. Default 3000; 0 picks a free port. */
  readonly port: number;
  /** Interface to bind. Default 127.0.0.1 (containers set 0.0.0.0). */
  readonly host: string;
  /** Host names accepted in the `Host` header (DNS-rebinding protection). Default: loopback names. */
  readonly allowedHosts: readonly string[];
  /** Redis URL or Azure connection string, when given directly. Wins over Key Vault. */
  readonly redisUrl: string | undefined;
  /** The Redis endpoint is a node of a Redis Cluster (Azure Managed Redis `OSSCluster`): a cluster-aware client. Default false. */
  readonly redisCluster: boolean;
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
  /** How often Redis memory use is read; at 90% of maxmemory new sessions are refused and sessions stop growing. */
  readonly memoryCheckMs: number;
  /** Lifetime of a record whose session has made no call since initialize. */
  readonly pendingTtlMs: number;
  /** Most live sessions one authenticated principal may hold on one replica. */
  readonly maxSessionsPerPrincipal: number;
  /** Largest accepted request body in bytes. */
  readonly maxBodyBytes: number;
  /** `sse` streams each response (default); `json` answers plain JSON bodies. */
  readonly responseMode: 'sse' | 'json';
  readonly logLevel: LogLevel;
  /**
   * HMAC key of the 2026-07-28 era's `requestState` (32+ characters), the same on every replica so an
   * `input_required` answer may land on any of them. Undefined: a random key per process (warned about).
   */
  readonly requestStateKey: string | undefined;
  /** Name this replica reports in `session_info` and logs; default the Container Apps replica name, else a random one. */
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
  /** Traces and metrics: OTLP/HTTP, Azure Monitor, or off (default, and free). */
  readonly telemetry: TelemetryConfig;
}

/** A configuration error names the variable and says what is accepted. */
/** A REDIS_URL that cannot be parsed stops start-up here, named, never quoted (it may hold the password). */
function checkedRedisUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    parseRedisUrl(value);
  } catch (error) {
    throw new ConfigError(ENV.redisUrl, error instanceof RedisUrlError ? error.message : 'is not a Redis connection string');
  }
  return value;
}

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

function parseOrigin(variable: string, raw: string): string {
  try {
    const url = new URL(raw);
    if (url.origin !== 'null' && (url.protocol === 'http:' || url.protocol === 'https:')) return url.origin;
  } catch {
    // reported below
  }
  throw new ConfigError(variable, `"${raw}" is not an origin (scheme://host[:port], e.g. https://app.example.com)`);
}

function parseInteger(variable: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(variable, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/** Parses `30/m`, `5/s`, `100/h`, `30/10s`; `off` disables the limit. */
export function parseRate(variable: string, raw: string): Rate | undefined {
  if (raw.toLowerCase() === 'off') return undefined;
  const match = /^(\d+)\s*\/\s*(.+)$/.exec(raw.trim());
  const tokens = match ? Number(match[1]) : Number.NaN;
  if (!match || !(tokens >= 1)) throw new ConfigError(variable, `"${raw}" is not a rate (examples: 30/m, 5/s, 100/h, 30/10s; or off)`);
  const period = match[2] as string;
  return { tokens, perMs: parseDuration(variable, /^[smhd]$/.test(period) ? `1${period}` : period) };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** True when binding to `host` exposes the server only to this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase());
}

const list = (raw: string | undefined): string[] => (raw ?? '').split(/[\s,]+/).filter(Boolean);

function parseUrl(variable: string, raw: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(variable, `must be ${what}, got "${raw}"`);
  }
  // Plain http only on loopback, where tests and local issuers run.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new ConfigError(variable, `must be ${what} (https; http only on loopback), got "${raw}"`);
  }
  return url;
}

function parseAuth(get: (name: EnvName) => string | undefined, publicUrl: string | undefined): AuthConfig {
  const mode = (get(ENV.authMode) ?? 'none').toLowerCase();
  if (mode === 'none') return { mode };
  if (mode === 'key') {
    const raw = get(ENV.apiKeys);
    if (!raw) throw new ConfigError(ENV.apiKeys, `is required when ${ENV.authMode}=key: one or more id:key entries separated by commas or newlines`);
    try {
      return { mode, keys: parseApiKeys(raw) };
    } catch (error) {
      throw new ConfigError(ENV.apiKeys, (error as Error).message);
    }
  }
  if (mode === 'oauth') {
    const issuer = get(ENV.oauthIssuer);
    if (!issuer) throw new ConfigError(ENV.oauthIssuer, `is required when ${ENV.authMode}=oauth (Entra ID v2: https://login.microsoftonline.com/<tenant id>/v2.0)`);
    parseUrl(ENV.oauthIssuer, issuer, "the issuer's URL");
    const audience = list(get(ENV.oauthAudience));
    if (audience.length === 0) throw new ConfigError(ENV.oauthAudience, `is required when ${ENV.authMode}=oauth (Entra ID v2: the API app registration's client id)`);
    if (!publicUrl) throw new ConfigError(ENV.publicUrl, `is required when ${ENV.authMode}=oauth: the public https URL of the MCP endpoint, e.g. https://mcp.example.com/mcp`);
    const jwksUrl = get(ENV.oauthJwksUrl);
    if (jwksUrl) parseUrl(ENV.oauthJwksUrl, jwksUrl, 'the URL of the JWKS');
    const roles = (get(ENV.oauthRolesAsScopes) ?? 'false').toLowerCase();
    if (roles !== 'true' && roles !== 'false') throw new ConfigError(ENV.oauthRolesAsScopes, `must be true or false, got "${roles}"`);
    return { mode, issuer, audience, jwksUrl, requiredScopes: list(get(ENV.oauthRequiredScopes)), rolesAsScopes: roles === 'true' };
  }
  throw new ConfigError(ENV.authMode, `must be none, key or oauth, got "${mode}"`);
}

/** Origins a browser page may call /mcp from by default: this server's own, on the allowed host names. */
function defaultOrigins(allowedHosts: readonly string[], port: number, publicUrl: string | undefined): string[] {
  if (allowedHosts.includes('*')) return ['*'];
  const own = allowedHosts.flatMap((h) => [`http://${h}:${port}`, `https://${h}`]);
  return publicUrl ? [...own, new URL(publicUrl).origin] : own;
}

/** `k=v,k2=v2` (values percent-encoded), the OTLP headers format. */
function parseHeaders(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (raw ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    headers[pair.slice(0, at).trim().toLowerCase()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

/** The standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (default: every trace, parent-based). */
function parseSampling(get: (name: EnvName) => string | undefined): TraceSampling {
  const sampler = (get(ENV.otelSampler) ?? 'parentbased_always_on').toLowerCase();
  if (!(SAMPLERS as readonly string[]).includes(sampler)) throw new ConfigError(ENV.otelSampler, `must be one of ${SAMPLERS.join(', ')}, got "${sampler}"`);
  let ratio = sampler.endsWith('always_off') ? 0 : 1;
  if (sampler.endsWith('traceidratio')) {
    const raw = get(ENV.otelSamplerArg) ?? '1';
    ratio = Number(raw);
    if (!(ratio >= 0 && ratio <= 1)) throw new ConfigError(ENV.otelSamplerArg, `must be a number from 0 to 1 (the share of traces kept), got "${raw}"`);
  }
  return { ratio, parentBased: sampler.startsWith('parentbased') };
}

function parseTelemetry(get: (name: EnvName) => string | undefined): TelemetryConfig {
  if ((get(ENV.otelDisabled) ?? '').toLowerCase() === 'true') return { exporter: 'off' };
  const serviceName = get(ENV.otelServiceName) ?? 'mcp-continuity';
  const ms = (name: EnvName, fallback: number) => parseInteger(name, get(name) ?? String(fallback), 1, 86_400_000);
  const spanDelayMs = ms(ENV.otelSpanDelay, 5000);
  const metricIntervalMs = ms(ENV.otelMetricInterval, 60_000);
  const connectionString = get(ENV.appInsightsConnectionString);
  if (connectionString) {
    if (!/InstrumentationKey=/i.test(connectionString)) throw new ConfigError(ENV.appInsightsConnectionString, 'must be an Application Insights connection string (InstrumentationKey=...;IngestionEndpoint=...)');
    return { exporter: 'azure-monitor', serviceName, connectionString, spanDelayMs, metricIntervalMs, sampling: parseSampling(get) };
  }
  const base = get(ENV.otlpEndpoint);
  const signal = (name: EnvName, path: string): string | undefined => {
    const raw = get(name) ?? (base ? `${base.replace(/\/+$/, '')}${path}` : undefined);
    if (raw && !/^https?:\/\/[^/]+/.test(raw)) throw new ConfigError(base && !get(name) ? ENV.otlpEndpoint : name, `must be an http(s) URL, got "${raw}"`);
    return raw;
  };
  const tracesUrl = signal(ENV.otlpTracesEndpoint, '/v1/traces');
  const metricsUrl = signal(ENV.otlpMetricsEndpoint, '/v1/metrics');
  if (!tracesUrl && !metricsUrl) return { exporter: 'off' };
  return { exporter: 'otlp', serviceName, tracesUrl, metricsUrl, headers: parseHeaders(get(ENV.otlpHeaders)), spanDelayMs, metricIntervalMs, sampling: parseSampling(get) };
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
  const port = parseInteger(ENV.port, get(ENV.port) ?? '3000', 0, 65_535);
  const publicUrlRaw = get(ENV.publicUrl);
  const publicUrl = publicUrlRaw ? parseUrl(ENV.publicUrl, publicUrlRaw, 'the public URL of the MCP endpoint').href : undefined;
  const redisCluster = (get(ENV.redisCluster) ?? 'false').toLowerCase();
  if (redisCluster !== 'true' && redisCluster !== 'false') throw new ConfigError(ENV.redisCluster, `must be true or false, got "${redisCluster}"`);
  const trustProxy = (get(ENV.trustProxy) ?? 'false').toLowerCase();
  if (trustProxy !== 'true' && trustProxy !== 'false') throw new ConfigError(ENV.trustProxy, `must be true or false, got "${trustProxy}"`);
  const allowedHosts = (get(ENV.allowedHosts) ?? 'localhost,127.0.0.1,[::1]')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);

  const allowedOrigins = get(ENV.allowedOrigins)
    ? list(get(ENV.allowedOrigins)).map((o) => (o === '*' ? o : parseOrigin(ENV.allowedOrigins, o)))
    : defaultOrigins(allowedHosts, port, publicUrl);

  return {
    auth: parseAuth(get, publicUrl),
    publicUrl,
    allowedOrigins,
    sessionCreateRate: parseRate(ENV.sessionCreateRate, get(ENV.sessionCreateRate) ?? '30/m'),
    trustProxy: trustProxy === 'true',
    requestBodyTimeoutMs: duration(ENV.requestBodyTimeout, '30s'),
    port,
    host: get(ENV.host) ?? '127.0.0.1',
    allowedHosts,
    redisUrl: checkedRedisUrl(get(ENV.redisUrl)),
    redisCluster: redisCluster === 'true',
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
    maxLiveSessions: parseInteger(ENV.maxLiveSessions, get(ENV.maxLiveSessions) ?? '10000', 1, 10_000_000),
    liveIdleMs: duration(ENV.liveIdle, '30m'),
    // RESTORE_TIMEOUT is the name this had before data operations used it too.
    commandTimeoutMs: duration(ENV.commandTimeout, get(ENV.restoreTimeout) ?? '2s'),
    heartbeatMs: duration(ENV.heartbeat, '1s'),
    memoryCheckMs: duration(ENV.memoryCheck, '5s'),
    pendingTtlMs: duration(ENV.pendingTtl, '5m'),
    maxSessionsPerPrincipal: parseInteger(ENV.maxSessionsPerPrincipal, get(ENV.maxSessionsPerPrincipal) ?? '100', 1, 1_000_000),
    maxBodyBytes: parseInteger(ENV.maxBodyBytes, get(ENV.maxBodyBytes) ?? String(1024 * 1024), 1024, 64 * 1024 * 1024),
    responseMode,
    requestStateKey: requestStateKey(get(ENV.requestStateKey)),
    logLevel: logLevel as LogLevel,
    // Container Apps names each replica in CONTAINER_APP_REPLICA_NAME.
    replicaName: get(ENV.replicaName) ?? get(ENV.containerAppReplicaName),
    // 0 is a valid drain delay (a local run, or a platform that stops routing before it signals).
    drainDelayMs: /^0+(\.0*)?\s*(ms|s|m|h|d)?$/.test(get(ENV.drainDelay) ?? '') ? 0 : duration(ENV.drainDelay, '15s'),
    drainTimeoutMs: duration(ENV.drainTimeout, '20s'),
    telemetry: parseTelemetry(get),
  };
}
