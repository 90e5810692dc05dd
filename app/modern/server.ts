// The per-request server of the 2026-07-28 era: the same tools as a legacy session, every toolset listed, scratchpads as resources.
import { createRequestStateCodec, McpServer, ResourceTemplate, type McpServerFactory, type RequestStateCodec } from '@modelcontextprotocol/server';
import { SERVER_INFO } from '../mcp/server-factory.js';
import { bindScratchpads, SCRATCHPAD_SCHEME } from '../mcp/scratchpads.js';
import type { ScratchpadStore } from '../sessions/scratchpad-store.js';
import { TOOL_MODULES, TOOLSETS, type ModernScope, type ReplicaInfo } from '../tools/index.js';

export interface ModernServerOptions {
  readonly scratchpads: ScratchpadStore;
  readonly replica: ReplicaInfo;
  /** The fleet's HMAC key for `requestState` (at least 32 bytes): every replica must have the same one. */
  readonly requestStateKey: string | Uint8Array;
  /** How long an `input_required` round may take before its state is refused. Default 10 minutes. */
  readonly requestStateTtlSeconds?: number;
}

/** The principal hash the HTTP layer passes as `authInfo.clientId` (empty with auth off). */
export function principalOf(clientId: string | undefined): string | undefined {
  return clientId ? clientId : undefined;
}

export function requestStateCodec(options: ModernServerOptions): RequestStateCodec<Record<string, unknown>> {
  return createRequestStateCodec<Record<string, unknown>>({
    key: options.requestStateKey,
    ttlSeconds: options.requestStateTtlSeconds ?? 600,
    // A state minted for one caller is refused for another (the spec's user-binding MUST).
    bind: (ctx) => `${ctx.mcpReq.method}\0${ctx.http?.authInfo?.clientId ?? ''}`,
  });
}

export function modernServerFactory(options: ModernServerOptions): McpServerFactory {
  const codec = requestStateCodec(options);
  return (ctx) => {
    const principal = principalOf(ctx.authInfo?.clientId);
    const server = new McpServer(SERVER_INFO, {
      capabilities: { tools: { listChanged: true }, resources: { subscribe: true, listChanged: true } },
      requestState: { verify: (state, c) => codec.verify(state, c) },
    });
    const scope: ModernScope = {
      era: 'modern',
      replica: options.replica,
      scratchpads: bindScratchpads(options.scratchpads, principal),
      sealState: (payload, c) => codec.mint(payload, c),
    };
    for (const module of TOOL_MODULES) module.register(server, scope);
    // One list for every caller: no per-connection toolsets in this era.
    for (const toolset of TOOLSETS.values()) toolset.register(server, scope);
    server.registerResource(
      'scratchpad',
      // Not listed: handles are capabilities, and a listing would have to be per principal.
      new ResourceTemplate(`${SCRATCHPAD_SCHEME}{handle}`, { list: undefined }),
      { title: 'Scratchpad', description: 'The keys and values of a scratchpad opened with scratchpad_open (only its opener can read it).', mimeType: 'application/json' },
      async (uri, variables) => {
        const handle = String(variables.handle ?? '');
        const entries = await scope.scratchpads.data(handle).list();
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(entries) }] };
      },
    );
    return server;
  };
}
