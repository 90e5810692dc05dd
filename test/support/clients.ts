// Real legacy MCP clients (@modelcontextprotocol/sdk 1.32) and small helpers around them.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';

export interface LegacyClient {
  readonly client: Client;
  readonly transport: StreamableHTTPClientTransport;
  readonly sessionId: string;
  /** Calls a tool and returns its first text block; throws on a tool error. */
  call(name: string, args?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/**
 * Connects a legacy client. `fetch` lets a test steer each request (e.g. alternate replicas) while the
 * client object, and so its session id, stays the same.
 */
export async function connectLegacy(
  url: string | URL,
  options: { fetch?: typeof fetch; name?: string; capabilities?: ClientCapabilities; configure?: (client: Client) => void } = {},
): Promise<LegacyClient> {
  const client = new Client({ name: options.name ?? 'continuity-test', version: '1.0.0' }, options.capabilities ? { capabilities: options.capabilities } : undefined);
  // Request handlers (elicitation, sampling) are set before connecting, as real clients do.
  options.configure?.(client);
  const transport = new StreamableHTTPClientTransport(new URL(url), options.fetch ? { fetch: options.fetch } : undefined);
  await client.connect(transport);
  const sessionId = transport.sessionId;
  if (!sessionId) throw new Error('server did not assign a session id');
  return {
    client,
    transport,
    sessionId,
    async call(name, args = {}) {
      const result = await client.callTool({ name, arguments: args });
      const first = (result.content as Array<{ type: string; text?: string }>)[0];
      if (result.isError) throw new Error(`tool ${name} failed: ${first?.text ?? ''}`);
      return first?.text ?? '';
    },
    async close() {
      await client.close().catch(() => {});
    },
  };
}

/** A fetch that sends each request to the next of `origins` in turn, keeping path and query. */
export function roundRobinFetch(origins: () => readonly string[]): typeof fetch {
  let next = 0;
  return (input, init) => {
    const list = origins();
    const target = list[next++ % list.length] as string;
    const url = new URL(input instanceof Request ? input.url : String(input));
    const routed = new URL(url.pathname + url.search, target);
    return fetch(routed, init);
  };
}

/** A fetch that sends GET streams to `get()` and every other request to `post()`, keeping path and query. */
export function splitFetch(get: () => string, post: () => string): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    return fetch(new URL(url.pathname + url.search, (init?.method ?? 'GET').toUpperCase() === 'GET' ? get() : post()), init);
  };
}

/** Raw JSON-RPC POST, for checks an SDK client would never send. */
export async function rawPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The JSON-RPC message in a POST answer: a plain JSON body, or the first SSE event with data (after the priming event). */
export function rpcMessage<T = unknown>(body: string): T {
  if (!body.trimStart().startsWith('{') && body.includes('data: ')) {
    const data = body.split('\n').find((line) => line.startsWith('data: ') && line.length > 'data: '.length);
    if (data) return JSON.parse(data.slice('data: '.length)) as T;
  }
  return JSON.parse(body) as T;
}
