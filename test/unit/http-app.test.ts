
// The HTTP layer in process: real app, real session host, memory store, web-standard Requests, no network.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../app/http/app.js';
import { testHost } from '../support/host.js';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';

const silent = pino({ level: 'silent' });
const MCP_HEADERS = { host: 'localhost:3000', accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

function build(options: { maxLiveSessions?: number; allowedHosts?: string[]; allowedOrigins?: string[] } = {}) {
  const store = new MemorySessionStore();
  const host = testHost(store, silent, { maxLiveSessions: options.maxLiveSessions ?? 100, maxBodyBytes: 4096 });
  const app = createApp({
    host,
    store,
    allowedHosts: options.allowedHosts ?? ['localhost', '127.0.0.1'],
    allowedOrigins: options.allowedOrigins ?? ['http://localhost:3000', 'https://localhost'],
    logger: silent,
  });
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    app.fetch(new Request('http://localhost:3000/mcp', { method: 'POST', headers: { ...MCP_HEADERS, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) }));
  const initialize = async () => {
    const response = await post(INIT);
    expect(response.status).toBe(200);
    const id = response.headers.get('mcp-session-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id as string });
    return id as string;
  };
  const callTool = (id: string, name: string, args: Record<string, unknown>) =>
    post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' });
  return { app, host, store, post, initialize, callTool };
}

const rpcError = async (response: Response) => ((await response.json()) as { error: { code: number; message: string } }).error;

describe('routes', () => {
  it('answers /healthz and /readyz with only a status, for probes', async () => {
    const { app } = build();
    expect(await (await app.fetch(new Request('http://x/healthz'))).json()).toEqual({ status: 'ok' });
    expect(await (await app.fetch(new Request('http://x/readyz'))).json()).toEqual({ status: 'ready' });
  });

  it('shows counters on /statusz to loopback clients only while auth is off', async () => {
    const { app, initialize } = build();
    await initialize();
    const statusz = (clientAddress?: string) => app.fetch(new Request('http://localhost:3000/statusz', { headers: { host: 'localhost:3000' } }), { clientAddress });
    const local = await statusz('127.0.0.1');
    expect(local.status).toBe(200);
    expect(await local.json()).toMatchObject({ status: 'ready', mode: 'memory', auth: 'none', store: { connected: true, channelProven: true }, liveSessions: 1 });
    expect((await statusz('::1')).status).toBe(200);
    expect((await statusz('10.0.0.7')).status).toBe(403);
    expect((await statusz(undefined)).status).toBe(403);
  });

  it('answers 404 for unknown paths and 405 for wrong methods, with Allow', async () => {
    const { app } = build();
    expect((await app.fetch(new Request('http://localhost/nope'))).status).toBe(404);
    const put = await app.fetch(new Request('http://localhost:3000/mcp', { method: 'PUT', headers: { host: 'localhost' } }));
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE');
    expect((await app.fetch(new Request('http://x/healthz', { method: 'POST' }))).status).toBe(405);
  });
});

describe('DNS-rebinding protection', () => {
  it('refuses a foreign Host with 403 before anything else happens', async () => {
    const { post } = build();
    const response = await post(INIT, { host: 'evil.example:3000' });
    expect(response.status).toBe(403);
    expect((await rpcError(response)).message).toContain('MCP_ALLOWED_HOSTS');
  });

  it('refuses a foreign Origin and accepts an allowed one', async () => {
    const { post } = build();
    expect((await post(INIT, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await post(INIT, { origin: 'not a url' })).status).toBe(403);
    expect((await post(INIT, { origin: 'null' })).status).toBe(403);
    expect((await post(INIT, { origin: 'http://localhost:3000' })).status).toBe(200);
    expect((await post(INIT, { origin: 'https://localhost:443' })).status).toBe(200);
  });

  it('compares the Origin scheme and port, not only its host name', async () => {
    const { post } = build();
    const refused = await post(INIT, { origin: 'http://localhost:5173' });
    expect(refused.status).toBe(403);
    expect((await rpcError(refused)).message).toContain('MCP_ALLOWED_ORIGINS');
    expect((await post(INIT, { origin: 'https://localhost:3000' })).status).toBe(403);
    expect((await post(INIT, { origin: 'http://localhost' })).status).toBe(403);
  });

  it('can be switched off with * for deployments behind a checking proxy', async () => {
    const { post } = build({ allowedHosts: ['*'] });
    expect((await post(INIT, { host: 'anything.example' })).status).toBe(200);
  });
});

describe('legacy MCP over HTTP', () => {
  it('mints a UUID session on initialize and serves tools on it', async () => {
    const { initialize, callTool } = build();
    const id = await initialize();
    expect((await callTool(id, 'remember', { key: 'a', value: 'b' })).status).toBe(200);
    const recall = (await (await callTool(id, 'recall', { key: 'a' })).json()) as { result: { content: Array<{ text: string }> } };
    expect(recall.result.content[0]?.text).toBe('b');
  });

  it('answers malformed input with a clear 4xx JSON-RPC error', async () => {
    const { post } = build();
    const parse = await post('{not json');
    expect(parse.status).toBe(400);
    expect((await rpcError(parse)).code).toBe(-32700);
    const noSession = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(noSession.status).toBe(400);
    expect((await rpcError(noSession)).message).toContain('Mcp-Session-Id');
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': 'nope' })).status).toBe(404);
    expect((await post('x'.repeat(5000))).status).toBe(413);
  });

  it('answers 404 with -32001 for a well-formed session id it does not know', async () => {
    const { post } = build();
    const response = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': crypto.randomUUID() });
    expect(response.status).toBe(404);
    expect((await rpcError(response)).code).toBe(-32001);
  });

  it('restores a session evicted from the live cache, with its state', async () => {
    const { initialize, callTool, host } = build({ maxLiveSessions: 1 });
    const first = await initialize();
    await callTool(first, 'remember', { key: 'k', value: 'still here' });
    await initialize(); // evicts the first from memory
    expect(host.stats.liveSessions).toBe(1);
    const recall = (await (await callTool(first, 'recall', { key: 'k' })).json()) as { result: { content: Array<{ text: string }> } };
    expect(recall.result.content[0]?.text).toBe('still here');
    expect(host.stats.restores).toBe(1);
  });

  it('ends a session with DELETE, after which it is not found', async () => {
    const { app, initialize, post } = build();
    const id = await initialize();
    const del = await app.fetch(new Request('http://localhost:3000/mcp', { method: 'DELETE', headers: { host: 'localhost', 'mcp-session-id': id } }));
    expect(del.status).toBe(200);
    expect((await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': id })).status).toBe(404);
  });
});
