// The HTTP application as a web-standard fetch handler: /mcp behind rebinding, auth and rate checks; probes; metadata.
import type { Logger } from 'pino';
import type { Rate } from '../config.js';
import type { SessionStore } from '../sessions/store.js';
import { createAuthenticator, type Authenticator } from './auth.js';
import { HttpError, jsonRpcError, RPC } from './errors.js';
import type { FleetLimits } from '../sessions/limits.js';
import { createCreationLimiter } from './creation-limiter.js';
import { createRebindingCheck } from './rebinding.js';
import { rateLimited } from '../telemetry/hooks.js';

/** What the app needs from the session host. `principal` is undefined only when auth is off. */
export interface McpEndpoint {
  /**
   * `admitSession` is called before a session is created from the request (its body is an initialize,
   * whatever headers it carries); it throws an `HttpError` (429) when the caller may not create one now.
   */
  handle(request: Request, principal: string | undefined, admitSession?: () => Promise<void>): Promise<Response>;
  /** Counters, shown on the authenticated /statusz. */
  readonly stats: object;
}

/** The 2026-07-28 endpoint beside the session host: it claims modern-era requests (no sessions, no session limits). */
export interface ModernMcpEndpoint<Claim = unknown> {
  claims(request: Request): Promise<Claim | undefined>;
  handle(request: Request, claim: Claim, principal: string | undefined): Promise<Response>;
  readonly stats?: object;
}

/** What the transport knows about a request that a `Request` does not carry. */
export interface RequestContext {
  /** The client's address (socket, or the trusted proxy's X-Forwarded-For hop). */
  readonly clientAddress?: string | undefined;
}

export interface AppOptions {
  readonly host: McpEndpoint;
  /** Serves modern-era requests on the same path; legacy ones (`isLegacyRequest`) go to `host`. Default: none. */
  readonly modern?: ModernMcpEndpoint;
  readonly store: Pick<SessionStore, 'health' | 'kind'>;
  /** Host names accepted on /mcp; `*` turns the check off (only behind a proxy that checks instead). */
  readonly allowedHosts: readonly string[];
  /** Origins browsers may call /mcp from (scheme://host[:port]); `*` turns the check off. Default: none. */
  readonly allowedOrigins?: readonly string[];
  /** Who may call /mcp and /statusz. Default: nobody is asked (mode none). */
  readonly authenticator?: Authenticator;
  /** New sessions per principal (per client address without auth). Default: unlimited. */
  readonly sessionCreateRate?: Rate | undefined;
  /** Where the rate is counted for the whole fleet (Redis mode). Default: per replica. */
  readonly fleetLimits?: FleetLimits | undefined;
  readonly logger: Logger;
  /** Path of the MCP endpoint. Default `/mcp`. */
  readonly mcpPath?: string;
  /** True once the replica is stopping: `/readyz` fails so the ingress stops routing here. Default never. */
  readonly draining?: () => boolean;
}

export interface App {
  fetch(request: Request, context?: RequestContext): Promise<Response>;
}

const LOOPBACK = /^(?:127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** A client that went away (body cut by the request timeout, connection reset) is not a server error. */
const isAbort = (request: Request, error: unknown) =>
  request.signal.aborted || (error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ECONNRESET'));

export function createApp(options: AppOptions): App {
  const mcpPath = options.mcpPath ?? '/mcp';
  const auth = options.authenticator ?? createAuthenticator({ auth: { mode: 'none' }, publicUrl: undefined, logger: options.logger });
  const rebinding = createRebindingCheck({ allowedHosts: options.allowedHosts, allowedOrigins: options.allowedOrigins ?? [] });
  const limiter = options.sessionCreateRate ? createCreationLimiter(options.sessionCreateRate, options.fleetLimits) : undefined;

  /** A 429 when `key` is over the new-session rate; undefined when a session may be created. */
  async function takeCreation(principal: string | undefined, context: RequestContext): Promise<HttpError | undefined> {
    if (!limiter) return undefined;
    // Without auth, a loopback client is the local user (or a harness on this machine): a limit would
    // protect nothing from them. Remote addresses, and every principal, are limited.
    if (principal === undefined && LOOPBACK.test(context.clientAddress ?? '')) return undefined;
    const taken = await limiter.take(principal ?? `address:${context.clientAddress ?? 'unknown'}`);
    if (taken.ok) return undefined;
    options.logger.debug({ principal }, 'new-session rate limit reached');
    rateLimited();
    return new HttpError(429, RPC.serverError, `Too many new sessions: retry after ${taken.retryAfterS} s, or reuse an open session`, {
      'retry-after': String(taken.retryAfterS),
    });
  }

  /**
   * Every initialize takes one token, whatever headers it carries. A POST without a session id can only
   * be an initialize, so it pays before its body is read (a flood is refused cheaply); any other POST pays
   * once the host has read an initialize in its body.
   */
  async function creationGate(request: Request, principal: string | undefined, context: RequestContext): Promise<{ refused?: Response; admit: () => Promise<void> }> {
    let paid = false;
    const admit = async () => {
      if (paid) return;
      paid = true;
      const refused = await takeCreation(principal, context);
      if (refused) throw refused;
    };
    if (request.method !== 'POST' || request.headers.has('mcp-session-id')) return { admit };
    try {
      await admit();
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      return { refused: error.toResponse(), admit };
    }
    return { admit };
  }

  async function mcp(request: Request, context: RequestContext): Promise<Response> {
    const refused = rebinding(request);
    if (refused) return refused;
    const who = await auth.authenticate(request);
    if (!who.ok) return who.response;
    try {
      // Routed after auth (the body is read only for callers who may send one), before the session limit.
      const claim = await options.modern?.claims(request);
      if (claim !== undefined && options.modern) return await options.modern.handle(request, claim, who.principal);
      const gate = await creationGate(request, who.principal, context);
      if (gate.refused) return gate.refused;
      return await options.host.handle(request, who.principal, gate.admit);
    } catch (error) {
      if (error instanceof HttpError) return error.toResponse();
      if (isAbort(request, error)) {
        options.logger.debug({ reason: error instanceof Error ? error.message : String(error) }, 'request aborted by the client or cut by the body timeout');
        return jsonRpcError(408, RPC.serverError, 'Request aborted before its body arrived');
      }
      options.logger.error({ err: error }, 'unexpected error on the MCP endpoint');
      return jsonRpcError(500, RPC.internalError, 'Internal error');
    }
  }

  function ready(): Response {
    // Only readiness fails: the replica still serves every request it gets until it stops accepting.
    if (options.draining?.()) return Response.json({ status: 'draining' }, { status: 503 });
    // From state this replica already has: a probe never waits on Redis. Ready even when Redis is down:
    // live and new sessions still work, and pulling every replica out of rotation because the shared
    // store is down would turn a degraded service into an outage. Only the status: nothing for strangers.
    return Response.json({ status: options.store.health().connected ? 'ready' : 'degraded' });
  }

  /** Counters and mode: for operators, so behind the same auth as /mcp (loopback only when auth is off). */
  async function status(request: Request, context: RequestContext): Promise<Response> {
    const refused = rebinding(request);
    if (refused) return refused;
    if (auth.mode === 'none') {
      if (!LOOPBACK.test(context.clientAddress ?? '')) {
        return Response.json({ error: 'Forbidden: /statusz is served only to loopback clients while AUTH_MODE=none' }, { status: 403 });
      }
    } else {
      const who = await auth.authenticate(request);
      if (!who.ok) return who.response;
    }
    const health = options.store.health();
    const memory = process.memoryUsage();
    return Response.json({
      status: health.connected ? 'ready' : 'degraded',
      mode: options.store.kind,
      auth: auth.mode,
      store: health,
      ...options.host.stats,
      // What the README's memory model (base + per live session) is checked against.
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      ...(options.modern?.stats ?? {}),
      ...(limiter ? { sessionCreateLimit: limiter.stats } : {}),
      ...(options.fleetLimits ? { sessionLimits: { mode: options.fleetLimits.mode, fallbacks: options.fleetLimits.fallbacks } } : {}),
    });
  }

  return {
    async fetch(request, context = {}) {
      const path = new URL(request.url).pathname;
      if (path === mcpPath) return mcp(request, context);
      const isProbe = path === '/healthz' || path === '/readyz' || path === '/statusz' || path.startsWith('/.well-known/');
      if (isProbe && request.method !== 'GET' && request.method !== 'HEAD') {
        return Response.json({ error: `Method ${request.method} not allowed` }, { status: 405, headers: { allow: 'GET, HEAD' } });
      }
      if (path === '/healthz') return Response.json({ status: 'ok' });
      if (path === '/readyz') return ready();
      if (path === '/statusz') return status(request, context);
      const metadata = auth.metadata(path);
      if (metadata) return metadata;
      return Response.json({ error: `Not found: ${path}. The MCP endpoint is ${mcpPath}.` }, { status: 404 });
    },
  };
}
