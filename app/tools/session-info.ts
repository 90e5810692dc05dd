// session_info: shows which replica answered and whether it restored the session, so continuity is visible.
import { PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import type { ToolModule } from './types.js';

export const sessionInfo: ToolModule = {
  name: 'session_info',
  register(server, scope) {
    server.registerTool(
      'session_info',
      {
        title: 'Session info',
        description:
          scope.era === 'legacy'
            ? 'Session id, negotiated protocol version, client, the replica that answered, whether it restored the session, and when the session was created.'
            : 'The protocol version of this request, the client, and the replica that answered (the 2026-07-28 protocol has no sessions: sessionId is null).',
        annotations: { readOnlyHint: true },
      },
      async (ctx) => {
        let info: Record<string, unknown>;
        if (scope.era === 'legacy') {
          const { session } = scope;
          info = {
            sessionId: session.id,
            protocolVersion: session.protocolVersion() ?? null,
            client: session.clientInfo() ?? null,
            replica: session.replica,
            restored: session.restored,
            createdAt: new Date(session.createdAt).toISOString(),
            toolsets: [...session.toolsets],
          };
        } else {
          const client = server.server.getClientVersion();
          info = {
            sessionId: null,
            protocolVersion: ((ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[PROTOCOL_VERSION_META_KEY] as string | undefined) ?? null,
            client: client ? { name: client.name, version: client.version } : null,
            replica: scope.replica,
          };
        }
        return { content: [{ type: 'text', text: JSON.stringify(info) }], structuredContent: info };
      },
    );
  },
};
