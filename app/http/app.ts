// The HTTP application as a web-standard fetch handler: /mcp, /healthz, /readyz, DNS-rebinding protection.
import { validateHostHeader } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { SessionHost } from '../mcp/session-host.js';
import type { SessionStore } from '../sessions/store.js';
import { HttpError, jsonRpcError, RPC } from './errors.js';

export interface AppOptions {
  readonly host: SessionHost;
  readonly store: SessionStore;
  /** Host names accepted on /mcp; `*` turns the check off (only behind a proxy that checks instead). */
  readonly allowedHosts: readonly string[];
  readonly logger: Logger;
  /** Path of the MCP endpoint. Default `/mcp`. */
  readonly mcpPath?: string;
}

export interface App {
  fetch(request: Request): Promise<Response>;
}

export function createApp(options: AppOptions): App {
  const mcpPath = options.mcpPath ?? '/mcp';
  const allowAnyHost = options.allowedHosts.includes('*');
  const allowed = [...options.allowedHosts];

  /** DNS rebinding: a browser tricked into calling us sends a foreign Host (and Origin). */
  function rebindingCheck(request: Request): Response | undefined {
    if (allowAnyHost) return undefined;
    const host = validateHostHeader(request.headers.get('host'), allowed);
    if (!host.ok) return jsonRpcError(403, RPC.serverError, `Forbidden: ${host.message}. Allowed hosts are set by MCP_ALLOWED_HOSTS.`);
    const origin = request.headers.get('origin');
    if (origin !== null) {
      let hostname: string | undefined;
      try {
        hostname = new URL(origin).hostname.toLowerCase();
      } catch {
        hostname = undefined;
      }
      if (!hostname || !allowed.includes(hostname)) return jsonRpcError(403, RPC.serverError, 'Forbidden: Origin is not allowed');
    }
    return undefined;
  }

  async function mcp(request: Request): Promise<Response> {
    const refused = rebindingCheck(request);
    if (refused) return refused;
    try {
      return await options.host.handle(request);
    } catch (error) {
      if (error instanceof HttpError) return error.toResponse();
      options.logger.error({ err: error }, 'unexpected error on the MCP endpoint');
      return jsonRpcError(500, RPC.internalError, 'Internal error');
    }
  }

  function ready(): Response {
    // From state this replica already has: a probe never waits on Redis. Ready even when Redis is down:
    // live and new sessions still work, and pulling every replica out of rotation because the shared
    // store is down would turn a degraded service into an outage.
    const health = options.store.health();
    return Response.json({ status: health.connected ? 'ready' : 'degraded', mode: options.store.kind, store: health, ...options.host.stats });
  }

  return {
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (path === mcpPath) return mcp(request);
      if (request.method !== 'GET' && request.method !== 'HEAD' && (path === '/healthz' || path === '/readyz')) {
        return Response.json({ error: `Method ${request.method} not allowed` }, { status: 405, headers: { allow: 'GET, HEAD' } });
      }
      if (path === '/healthz') return Response.json({ status: 'ok' });
      if (path === '/readyz') return ready();
      return Response.json({ error: `Not found: ${path}. The MCP endpoint is ${mcpPath}.` }, { status: 404 });
    },
  };
}
