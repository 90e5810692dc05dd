// Raw JSON-RPC calls for the scaling bench, like bench/workload.ts but with the protocol version as a
// parameter: from 2025-11-25 on (what SDK 1.32 clients negotiate) every POST stream opens with a
// priming event, so a call logs two events and its writer's liveness key is kept while it runs.

const HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
let nextId = 1;

function post(url: string, version: string, body: unknown, sessionId?: string): Promise<Response> {
  const headers: Record<string, string> = { ...HEADERS, ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': version } : {}) };
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** initialize + notifications/initialized at `version`; returns the session id. */
export async function openSession(url: string, version: string): Promise<string> {
  const init = await post(url, version, { jsonrpc: '2.0', id: nextId++, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'scaling-bench', version: '1.0.0' } } });
  await init.text();
  const id = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !id) throw new Error(`initialize answered ${init.status}`);
  await (await post(url, version, { jsonrpc: '2.0', method: 'notifications/initialized' }, id)).text();
  return id;
}

/** One tools/call; throws on anything but a successful result. */
export async function callTool(url: string, version: string, sessionId: string, name: string, args: Record<string, unknown>): Promise<void> {
  const response = await post(url, version, { jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } }, sessionId);
  const text = await response.text();
  if (response.status !== 200 || text.includes('"isError":true') || text.includes('"error"')) throw new Error(`${name} answered ${response.status}: ${text.slice(0, 200)}`);
}
