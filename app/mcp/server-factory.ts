// Builds the MCP server for one session: the base tools plus every toolset the session has enabled.
import { McpServer } from '@modelcontextprotocol/server';
import { TOOL_MODULES, TOOLSETS, type SessionContext } from '../tools/index.js';

export const SERVER_INFO = { name: 'mcp-continuity', version: '0.1.0' } as const;

export function createSessionServer(session: SessionContext): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: { listChanged: true } } });
  for (const module of TOOL_MODULES) module.register(server, session);
  // Registered before connect, so a restored session gets its toolsets without a list_changed.
  registerToolsets(server, session, session.toolsets);
  return server;
}

/** Registers the named toolsets (unknown names, e.g. from a newer release, are skipped). */
export function registerToolsets(server: McpServer, session: SessionContext, names: readonly string[]): void {
  for (const name of names) TOOLSETS.get(name)?.register(server, session);
}
