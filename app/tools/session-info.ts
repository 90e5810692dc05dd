// session_info: shows which replica answered and whether it restored the session, so continuity is visible.
import type { ToolModule } from './types.js';

export const sessionInfo: ToolModule = {
  name: 'session_info',
  register(server, session) {
    server.registerTool(
      'session_info',
      {
        title: 'Session info',
        description: 'Session id, negotiated protocol version, client, the replica that answered, whether it restored the session, and when the session was created.',
        annotations: { readOnlyHint: true },
      },
      async () => {
        const info = {
          sessionId: session.id,
          protocolVersion: session.protocolVersion() ?? null,
          client: session.clientInfo() ?? null,
          replica: session.replica,
          restored: session.restored,
          createdAt: new Date(session.createdAt).toISOString(),
          toolsets: [...session.toolsets],
        };
        return { content: [{ type: 'text', text: JSON.stringify(info) }], structuredContent: info };
      },
    );
  },
};
