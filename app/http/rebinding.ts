// DNS-rebinding protection: the Host must be one of ours, and a browser's Origin must match scheme, host and port.
import { validateHostHeader } from '@modelcontextprotocol/server';
import { jsonRpcError, RPC } from './errors.js';

export interface RebindingOptions {
  /** Host names accepted in `Host`; `*` turns the Host check off. */
  readonly allowedHosts: readonly string[];
  /** Origins (`scheme://host[:port]`) accepted in `Origin`; `*` turns the Origin check off. */
  readonly allowedOrigins: readonly string[];
}

/** Returns a refusal, or undefined when the request may proceed. */
export function createRebindingCheck(options: RebindingOptions): (request: Request) => Response | undefined {
  const anyHost = options.allowedHosts.includes('*');
  const anyOrigin = options.allowedOrigins.includes('*');
  const hosts = [...options.allowedHosts];
  // URL.origin drops default ports and lower-cases, so "https://X.example:443" equals "https://x.example".
  const origins = new Set(options.allowedOrigins.filter((o) => o !== '*').map((o) => new URL(o).origin));

  return (request) => {
    if (!anyHost) {
      const host = validateHostHeader(request.headers.get('host'), hosts);
      if (!host.ok) return jsonRpcError(403, RPC.serverError, `Forbidden: ${host.message}. Allowed hosts are set by MCP_ALLOWED_HOSTS.`);
    }
    const origin = request.headers.get('origin');
    // Non-browser clients send no Origin; a browser always does on a cross-origin POST.
    if (origin === null || anyOrigin) return undefined;
    let normalized: string | undefined;
    try {
      normalized = new URL(origin).origin;
    } catch {
      normalized = undefined;
    }
    if (normalized === undefined || !origins.has(normalized)) {
      return jsonRpcError(403, RPC.serverError, 'Forbidden: Origin is not allowed. Allowed origins are set by MCP_ALLOWED_ORIGINS.');
    }
    return undefined;
  };
}
