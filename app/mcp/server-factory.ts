// Builds the MCP server for one session: the base tools plus every toolset the session has enabled.
import { McpServer } from '@modelcontextprotocol/server';
import { TOOL_MODULES, TOOLSETS, type SessionContext } from '../tools/index.js';

export const SERVER_INFO = { name: 'mcp-continuity', version: '0.1.0' } as const;

export function createSessionServer(session: SessionContext): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: { listChanged: true } } });
  for (const module of TOOL_MODULES) module.register(server, session);
  // Registered before connect, so a restored session gets its toolsets without a list_changed.
  for (const descriptor of session.state.toolsets) TOOLSETS.get(descriptor.name)?.register(server, session);
  return server;
}

/** Registers toolsets present in `next` but not yet on the server (state changed on another replica). */
export function registerNewToolsets(server: McpServer, session: SessionContext, before: readonly { name: string }[], next: readonly { name: string }[]): void {
  const known = new Set(before.map((t) => t.name));
  for (const descriptor of next) {
    if (!known.has(descriptor.name)) TOOLSETS.get(descriptor.name)?.register(server, session);
  }
}
