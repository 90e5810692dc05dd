// Builds the MCP server for one legacy session: the shared base tools plus every toolset the session has enabled.
import { McpServer } from '@modelcontextprotocol/server';
import { SERVER_INFO, type SessionScope, type ToolCatalog } from './tool-catalog.js';

export { SERVER_INFO };

/** A session's own server: its protocol state and tool handlers are its own, the tools' registrations the catalog's. */
export function createSessionServer(catalog: ToolCatalog, session: SessionScope, toolsets: readonly string[]): McpServer {
  // Coalesced: enabling a toolset adds several tools, and the client needs one list_changed, not one per tool.
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: { listChanged: true } }, debouncedNotificationMethods: ['notifications/tools/list_changed'] });
  catalog.install(server, session);
  // Listed before connect, so a restored session gets its toolsets without a list_changed.
  catalog.addToolsets(server, toolsets);
  return server;
}

/**
 * Lists the named toolsets on a session's server (unknown names, e.g. from a newer release, are
 * skipped). `announce` sends notifications/tools/list_changed when it added any: only the replica that
 * made the change announces it, once, through the session's event log.
 */
export function registerToolsets(catalog: ToolCatalog, server: McpServer, names: readonly string[], options: { announce?: boolean } = {}): void {
  const added = catalog.addToolsets(server, names);
  if (added.length > 0 && options.announce) server.sendToolListChanged();
}
