// Wires a running server from a Config: store (memory or Redis), session host, HTTP, graceful stop.
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { createAuthenticator } from './http/auth.js';
import { createNodeServer } from './http/node-server.js';
import { SessionHost } from './mcp/session-host.js';
import { redisConnectionSource, type SecretReaderFactory } from './secrets.js';
import { MemorySessionStore } from './sessions/memory-store.js';
import { RedisSessionStore } from './sessions/redis-store.js';
import { describeRedisTarget, parseRedisUrl, RedisUrlError } from './sessions/redis-url.js';
import type { SessionStore } from './sessions/store.js';

export interface RunningServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:3000/mcp. */
  readonly url: string;
  readonly mode: 'memory' | 'redis';
  readonly host: SessionHost;
  readonly store: SessionStore;
  /** Graceful stop: no new connections, live sessions closed (records kept), store closed. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
  readonly secretReader?: SecretReaderFactory;
}

export function createLogger(config: Pick<Config, 'logLevel' | 'replicaName'>): Logger {
  return pino({ level: config.logLevel, base: { replica: config.replicaName ?? hostname(), pid: process.pid } });
}

interface OpenedStore {
  readonly store: SessionStore;
  readonly detail: Record<string, string>;
  /** Stops whatever feeds the store (the Key Vault watcher). */
  readonly stop: () => void;
}

/** A Key Vault value that is not a Redis connection string: said without quoting it. */
function redisUrlProblem(value: string): string | undefined {
  try {
    parseRedisUrl(value);
    return undefined;
  } catch (error) {
    return error instanceof RedisUrlError ? `the secret is not a Redis connection string: ${error.message}` : 'the secret is not a Redis connection string';
  }
}

async function openStore(config: Config, logger: Logger, secretReader: SecretReaderFactory | undefined): Promise<OpenedStore> {
  const source = redisConnectionSource(config, { logger, validate: redisUrlProblem, ...(secretReader ? { readerFactory: secretReader } : {}) });
  if (source.mode === 'memory') return { store: new MemorySessionStore(), detail: { reason: source.reason }, stop: () => {} };
  const common = { keyPrefix: config.keyPrefix, commandTimeoutMs: config.commandTimeoutMs, heartbeatMs: config.heartbeatMs, onStatus: ({ level, message }: { level: 'info' | 'warn'; message: string }) => logger[level](message) };
  if (source.source === 'REDIS_URL') {
    const target = parseRedisUrl(source.url);
    const store = new RedisSessionStore({ ...common, target });
    if (!(await store.waitUntilReady(Math.min(config.commandTimeoutMs, 3000)))) logger.warn('Redis is not reachable yet; serving anyway (as during an outage) until it is');
    return { store, detail: { source: source.source, redis: describeRedisTarget(target), keyPrefix: config.keyPrefix }, stop: () => {} };
  }
  // Key Vault: a Redis-mode replica from its first second. Until the secret is readable it behaves as
  // during a Redis outage; a fleet never splits into memory and Redis replicas.
  const { secrets } = source;
  const store = new RedisSessionStore({
    ...common,
    // A rotated key: Redis refuses the old one, so read the latest version now (rate-limited by the source).
    onAuthFailure: () => void secrets.refresh(),
    describeWait: () => {
      const state = secrets.state;
      return state.status === 'waiting-for-key-vault' ? `key-vault: ${state.reason}` : 'redis';
    },
  });
  let first = true;
  secrets.onValue((url) => {
    const target = parseRedisUrl(url);
    logger.info({ redis: describeRedisTarget(target) }, first ? 'Redis connection string read from Key Vault; connecting (sessions created meanwhile are saved once connected)' : 'Redis connection string changed in Key Vault; reconnecting');
    first = false;
    store.setTarget(target);
  });
  return { store, detail: { source: 'key-vault', keyVault: config.keyVault?.url ?? '', keyPrefix: config.keyPrefix }, stop: () => secrets.close() };
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config);
  const { store, detail, stop } = await openStore(config, logger, options.secretReader);
  const host = new SessionHost({
    store,
    logger,
    replica: { host: config.replicaName ?? hostname(), pid: process.pid },
    idleTtlMs: config.idleTtlMs,
    maxTtlMs: config.maxTtlMs,
    pendingTtlMs: config.pendingTtlMs,
    maxSessionsPerPrincipal: config.maxSessionsPerPrincipal,
    maxLiveSessions: config.maxLiveSessions,
    liveIdleMs: config.liveIdleMs,
    maxBodyBytes: config.maxBodyBytes,
    responseMode: config.responseMode,
  });
  const app = createApp({
    host,
    store,
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
    authenticator: createAuthenticator({ auth: config.auth, publicUrl: config.publicUrl, logger }),
    sessionCreateRate: config.sessionCreateRate,
    logger,
  });
  const server = createNodeServer(app, { logger, requestTimeoutMs: config.requestBodyTimeoutMs, trustProxy: config.trustProxy });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const printable = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${printable}:${address.port}/mcp`;
  logger.info({ mode: store.kind, url, auth: config.auth.mode, ...detail }, `mcp-continuity listening on ${url} in ${store.kind} mode`);

  let closing: Promise<void> | undefined;
  return {
    url,
    mode: store.kind,
    host,
    store,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await host.close();
        server.closeIdleConnections();
        // SSE responses have ended; whatever is still open after a moment is cut.
        const cut = setTimeout(() => server.closeAllConnections(), 2000);
        await stopped;
        clearTimeout(cut);
        stop();
        await store.close();
      })();
      return closing;
    },
  };
}
