// Real modern-era MCP clients (@modelcontextprotocol/client 2.4): pinned to 2026-07-28, or negotiating (`auto`).
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

export type Negotiation = 'pin' | 'auto';

export interface ModernClient {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  /** Calls a tool and returns its result (tool errors included: `isError`). */
  callRaw(name: string, args?: Record<string, unknown>): Promise<{ isError?: boolean; text: string; structuredContent?: Record<string, unknown> }>;
  /** Calls a tool and returns its first text block; throws on a tool error. */
  call(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/**
 * Connects a v2 client. `pin` accepts only 2026-07-28 (no fallback); `auto` probes with server/discover and
 * falls back to initialize. `fetch` lets a test steer each request (e.g. alternate replicas).
 */
export async function connectModern(
  url: string | URL,
  options: { negotiation?: Negotiation; fetch?: typeof fetch; headers?: Record<string, string>; capabilities?: Record<string, unknown>; configure?: (client: Client) => void } = {},
): Promise<ModernClient> {
  const mode = (options.negotiation ?? 'pin') === 'pin' ? { pin: '2026-07-28' } : ('auto' as const);
  const client = new Client({ name: 'continuity-modern-test', version: '1.0.0' }, { versionNegotiation: { mode }, ...(options.capabilities ? { capabilities: options.capabilities } : {}) });
  options.configure?.(client);
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.headers ? { requestInit: { headers: options.headers } } : {}),
  });
  await client.connect(transport);
  const callRaw: ModernClient['callRaw'] = async (name, args = {}) => {
    const result = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: Array<{ type: string; text?: string }>; structuredContent?: Record<string, unknown> };
    return { ...(result.isError ? { isError: true } : {}), text: result.content[0]?.text ?? '', ...(result.structuredContent ? { structuredContent: result.structuredContent } : {}) };
  };
  return {
    client,
    transport,
    callRaw,
    async call(name, args = {}) {
      const result = await callRaw(name, args);
      if (result.isError) throw new Error(`tool ${name} failed: ${result.text}`);
      return result.text;
    },
    async close() {
      await client.close().catch(() => {});
    },
  };
}
