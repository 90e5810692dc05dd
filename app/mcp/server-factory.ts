// Builds the MCP server for one legacy session: the base tools plus every toolset the session has enabled.
import { McpServer } from '@modelcontextprotocol/server';
import { TOOL_MODULES, TOOLSETS, type LegacyScope, type Scratchpads, type SessionContext, type ToolScope } from '../tools/index.js';

export const SERVER_INFO = { name: 'mcp-continuity', version: '0.1.0' } as const;

export interface SessionServer {
  readonly server: McpServer;
  /** Names of every tool registered on it so far. */
  readonly toolNames: ReadonlySet<string>;
  /** What its tools were registered for (toolsets enabled later are registered for the same). */
  readonly scope: LegacyScope;
}

export function createSessionServer(session: SessionContext, scratchpads: Scratchpads): SessionServer {
  const scope: LegacyScope = { era: 'legacy', session, replica: session.replica, scratchpads };
  // Coalesced: enabling a toolset registers several tools, and the client needs one list_changed, not one per tool.
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: { listChanged: true } }, debouncedNotificationMethods: ['notifications/tools/list_changed'] });
  // The SDK keeps its tool registry private; the host needs to know when a call names a tool this copy
  // has not registered (the session may have enabled a toolset on another replica a moment ago).
  const toolNames = new Set<string>();
  const register = server.registerTool.bind(server) as (name: string, ...rest: unknown[]) => unknown;
  server.registerTool = ((name: string, ...rest: unknown[]) => {
    toolNames.add(name);
    return register(name, ...rest);
  }) as McpServer['registerTool'];
  for (const module of TOOL_MODULES) module.register(server, scope);
  // Registered before connect, so a restored session gets its toolsets without a list_changed.
  registerToolsets(server, scope, session.toolsets);
  return { server, toolNames, scope };
}

/**
 * Registers the named toolsets (unknown names, e.g. from a newer release, are skipped). On a connected
 * server the SDK announces each with notifications/tools/list_changed; `silent` registers without it
 * (the replica that made the change announces it, once, through the session's event log).
 */
export function registerToolsets(server: McpServer, scope: ToolScope, names: readonly string[], options: { silent?: boolean } = {}): void {
  if (!options.silent) {
    for (const name of names) TOOLSETS.get(name)?.register(server, scope);
    return;
  }
  // The SDK offers no quiet registration: shadow its public announcer on this instance for the moment.
  const own = server as { sendToolListChanged: McpServer['sendToolListChanged'] };
  own.sendToolListChanged = () => {};
  try {
    for (const name of names) TOOLSETS.get(name)?.register(server, scope);
  } finally {
    delete (own as Partial<typeof own>).sendToolListChanged;
  }
}
