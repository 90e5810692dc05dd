// The HTTP application as a web-standard fetch handler: /mcp behind rebinding, auth and rate checks; probes; metadata.
import type { Logger } from 'pino';
import type { Rate } from '../config.js';
import type { SessionStore } from '../sessions/store.js';
import { createAuthenticator, type Authenticator } from './auth.js';
import { HttpError, jsonRpcError, RPC } from './errors.js';
import { RateLimiter } from './rate-limit.js';
import { createRebindingCheck } from './rebinding.js';
import { rateLimited } from '../telemetry/hooks.js';

/** What the app needs from the session host. `principal` is undefined only when auth is off. */
export interface McpEndpoint {
  handle(request: Request, principal: string | undefined): Promise<Response>;
  /** Counters, shown on the authenticated /statusz. */
  readonly stats: object;
}

/** What the transport knows about a request that a `Request` does not carry. */
export interface RequestContext {
  /** The client's address (socket, or the trusted proxy's X-Forwarded-For hop). */
  readonly clientAddress?: string | undefined;
}

export interface AppOptions {
  readonly host: McpEndpoint;
  readonly store: Pick<SessionStore, 'health' | 'kind'>;
  /** Host names accepted on /mcp; `*` turns the check off (only behind a proxy that checks instead). */
  readonly allowedHosts: readonly string[];
  /** Origins browsers may call /mcp from (scheme://host[:port]); `*` turns the check off. Default: none. */
  readonly allowedOrigins?: readonly string[];
  /** Who may call /mcp and /statusz. Default: nobody is asked (mode none). */
  readonly authenticator?: Authenticator;
  /** New sessions per principal (per client address without auth). Default: unlimited. */
  readonly sessionCreateRate?: Rate | undefined;
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
  const limiter = options.sessionCreateRate ? new RateLimiter({ rate: options.sessionCreateRate }) : undefined;

  /** Only initialize may come without a session id, so such a POST is an attempt to create a session. */
  function limitCreation(request: Request, principal: string | undefined, context: RequestContext): Response | undefined {
    if (!limiter || request.method !== 'POST' || request.headers.has('mcp-session-id')) return undefined;
    // Without auth, a loopback client is the local user (or a harness on this machine): a limit would
    // protect nothing from them. Remote addresses, and every principal, are limited.
    if (principal === undefined && LOOPBACK.test(context.clientAddress ?? '')) return undefined;
    const taken = limiter.take(principal ?? `address:${context.clientAddress ?? 'unknown'}`);
    if (taken.ok) return undefined;
    options.logger.debug({ principal }, 'new-session rate limit reached');
    rateLimited();
    return jsonRpcError(429, RPC.serverError, `Too many new sessions: retry after ${taken.retryAfterS} s, or reuse an open session`, {
      'retry-after': String(taken.retryAfterS),
    });
  }

  async function mcp(request: Request, context: RequestContext): Promise<Response> {
    const refused = rebinding(request);
    if (refused) return refused;
    const who = await auth.authenticate(request);
    if (!who.ok) return who.response;
    const limited = limitCreation(request, who.principal, context);
    if (limited) return limited;
    try {
      return await options.host.handle(request, who.principal);
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
    return Response.json({
      status: health.connected ? 'ready' : 'degraded',
      mode: options.store.kind,
      auth: auth.mode,
      store: health,
      ...options.host.stats,
      ...(limiter ? { sessionCreateLimit: limiter.stats } : {}),
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
