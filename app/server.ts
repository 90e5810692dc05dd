// Wires a running server from a Config: store (memory or Redis), session host, HTTP, graceful drain.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { createApp } from './http/app.js';
import { createAuthenticator } from './http/auth.js';
import { createNodeServer } from './http/node-server.js';
import { SessionHost } from './mcp/session-host.js';
import { ModernEndpoint } from './modern/endpoint.js';
import { limitOpens } from './mcp/scratchpads.js';
import { RateLimiter } from './http/rate-limit.js';
import { scratchpadStoreFor } from './sessions/redis-scratchpads.js';
import { redisConnectionSource, type SecretReaderFactory } from './secrets.js';
import { FORMAT_VERSION } from './sessions/format.js';
import { MemorySessionStore } from './sessions/memory-store.js';
import { RedisLimits } from './sessions/redis-limits.js';
import { RedisSessionStore } from './sessions/redis-store.js';
import { describeRedisTarget, parseRedisUrl, RedisUrlError } from './sessions/redis-url.js';
import type { SessionStore } from './sessions/store.js';
import { observeHost, instrumentStore, logIds, drained } from './telemetry/server-hooks.js';

export interface RunningServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:3000/mcp. */
  readonly url: string;
  readonly mode: 'memory' | 'redis';
  readonly host: SessionHost;
  readonly store: SessionStore;
  /** True from the moment a drain starts. */
  readonly draining: boolean;
  /**
   * Graceful stop (SIGTERM): `/readyz` fails at once while everything else is served as usual for
   * `delayMs` (default `drainDelayMs`); then no new connections, calls in flight get `drainTimeoutMs`
   * to finish, live sessions close (their streams end; records kept), the store closes.
   */
  drain(options?: { readonly delayMs?: number }): Promise<void>;
  /** The same drain without the delay. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly logger?: Logger;
  readonly secretReader?: SecretReaderFactory;
}

/** This process's replica name: configured, or random (a host name would tell strangers about the host). */
const PROCESS_REPLICA = `replica-${randomBytes(3).toString('hex')}`;

/** The name this replica goes by in logs, `session_info` and telemetry (`service.instance.id`). */
export const replicaNameOf = (config: Pick<Config, 'replicaName'>): string => config.replicaName ?? PROCESS_REPLICA;

export function createLogger(config: Pick<Config, 'logLevel' | 'replicaName'>): Logger {
  return pino({ level: config.logLevel, base: { replica: config.replicaName ?? PROCESS_REPLICA, host: hostname(), pid: process.pid }, mixin: logIds });
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
  const common = { keyPrefix: config.keyPrefix, cluster: config.redisCluster, commandTimeoutMs: config.commandTimeoutMs, heartbeatMs: config.heartbeatMs, memoryCheckMs: config.memoryCheckMs, onStatus: ({ level, message }: { level: 'info' | 'warn'; message: string }) => logger[level](message) };
  if (source.source === 'REDIS_URL') {
    const target = parseRedisUrl(source.url);
    const store = new RedisSessionStore({ ...common, target });
    if (!(await store.waitUntilReady(Math.min(config.commandTimeoutMs, 3000)))) logger.warn('Redis is not reachable yet; serving anyway (as during an outage) until it is');
    return { store, detail: { source: source.source, redis: describeRedisTarget(target), ...(config.redisCluster ? { topology: 'cluster' } : {}), keyPrefix: config.keyPrefix }, stop: () => {} };
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
  const replica = { name: config.replicaName ?? PROCESS_REPLICA };
  // One scratchpad store for both eras: a handle opened in a legacy session works in a modern call.
  // SESSION_CREATE_RATE bounds new scratchpads per principal too: each one is a record that lives for hours.
  const scratchpads = limitOpens(scratchpadStoreFor(store, { idleMs: config.idleTtlMs, maxMs: config.maxTtlMs }), config.sessionCreateRate ? new RateLimiter({ rate: config.sessionCreateRate }) : undefined);
  const modern = new ModernEndpoint({
    scratchpads,
    replica,
    logger,
    requestStateKey: requestStateKey(config, store.kind, logger),
    maxBodyBytes: config.maxBodyBytes,
  });
  // Redis mode: the new-session rate and the per-principal cap hold for the fleet, not per replica.
  const fleetLimits =
    store instanceof RedisSessionStore
      ? new RedisLimits({ client: () => store.commandClient, keyPrefix: config.keyPrefix, rate: config.sessionCreateRate, onStatus: ({ level, message }) => logger[level](message) })
      : undefined;
  const host = new SessionHost({
    store: instrumentStore(store),
    scratchpads,
    logger,
    replica,
    idleTtlMs: config.idleTtlMs,
    maxTtlMs: config.maxTtlMs,
    pendingTtlMs: config.pendingTtlMs,
    maxSessionsPerPrincipal: config.maxSessionsPerPrincipal,
    fleetLimits,
    maxLiveSessions: config.maxLiveSessions,
    liveIdleMs: config.liveIdleMs,
    maxBodyBytes: config.maxBodyBytes,
    responseMode: config.responseMode,
  });
  let draining = false;
  observeHost(host);
  const app = createApp({
    host,
    modern,
    store,
    allowedHosts: config.allowedHosts,
    allowedOrigins: config.allowedOrigins,
    authenticator: createAuthenticator({ auth: config.auth, publicUrl: config.publicUrl, logger }),
    sessionCreateRate: config.sessionCreateRate,
    fleetLimits,
    logger,
    draining: () => draining,
  });
  const server = createNodeServer(app, { logger, requestTimeoutMs: config.requestBodyTimeoutMs, trustProxy: config.trustProxy });
  const calls = trackCalls(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const printable = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${printable}:${address.port}/mcp`;
  logger.info({ mode: store.kind, url, auth: config.auth.mode, format: FORMAT_VERSION, ...detail }, `mcp-continuity listening on ${url} in ${store.kind} mode`);

  let closing: Promise<void> | undefined;
  const drain = (delayMs: number) =>
    (closing ??= (async () => {
      draining = true;
      const drainStarted = performance.now();
      // A listen is not a call in flight: it ends now (empty result, then close) and the client listens elsewhere.
      void modern.closeListens();
      logger.info({ delayMs, drainTimeoutMs: config.drainTimeoutMs }, 'draining: /readyz now fails; serving as usual until the ingress stops routing here');
      // Still subscribed to invalidations and serving every session: requests the ingress sends in this
      // window are answered correctly, not refused.
      if (delayMs > 0) await sleep(delayMs);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      const finishedBefore = calls.finished;
      const cut = await calls.settled(config.drainTimeoutMs);
      const finished = calls.finished - finishedBefore;
      if (cut > 0) logger.warn({ calls: cut, drainTimeoutMs: config.drainTimeoutMs }, 'calls still in flight after the drain timeout: cutting them (clients retry elsewhere)');
      else logger.info('no calls in flight: closing sessions (records kept)');
      // Ends every session's streams (GET and unfinished POST), so clients reconnect elsewhere.
      await Promise.all([host.close(), modern.close()]);
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 2000);
      await stopped;
      clearTimeout(force);
      stop();
      await store.close();
      drained(drainStarted, cut, finished);
    })());
  return {
    url,
    mode: store.kind,
    host,
    store,
    get draining() {
      return draining;
    },
    drain: (options) => drain(options?.delayMs ?? config.drainDelayMs),
    close: () => drain(0),
  };
}

/**
 * The fleet's requestState key, or a random one for this process. Without a shared key an input_required
 * answer that lands on another replica is refused ("Invalid or expired requestState"), so Redis mode warns.
 */
function requestStateKey(config: Config, mode: 'memory' | 'redis', logger: Logger): string | Uint8Array {
  if (config.requestStateKey) return config.requestStateKey;
  const message = 'MCP_REQUEST_STATE_KEY is not set: input_required rounds use a random key of this process';
  if (mode === 'redis') logger.warn(`${message}; a retry that lands on another replica is refused. Set the same key on every replica.`);
  else logger.warn(message);
  return randomBytes(32);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Counts requests in flight, except SSE GET streams (they are not calls and end only when their session
 * closes). Once the listener is closed, every response says `Connection: close`, so a client on a
 * kept-alive connection reconnects, and the ingress sends it to another replica.
 */
function trackCalls(server: Server) {
  let inFlight = 0;
  let finished = 0;
  let wake: (() => void) | undefined;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // Runs after the app's listener, which answers asynchronously (a malformed Host is refused at once, already with close).
    if (!server.listening && !res.headersSent) res.setHeader('connection', 'close');
    if (req.method === 'GET' && (req.headers.accept ?? '').includes('text/event-stream')) return;
    inFlight++;
    res.once('close', () => {
      inFlight--;
      finished++;
      if (inFlight === 0) wake?.();
    });
  });
  return {
    /** Calls ended so far (the drain counts those that end while it waits). */
    get finished() {
      return finished;
    },
    /** Resolves when no call is in flight or after `timeoutMs`, with the number still in flight. */
    async settled(timeoutMs: number): Promise<number> {
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      return inFlight;
    },
  };
}
