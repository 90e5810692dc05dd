// Key mode in the real server process: SDK clients with a bearer key, rotation with two keys, removal, no keys in logs.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPost } from '../support/clients.js';
import { ServerProcess } from '../support/server-process.js';

const OLD = 'old0123456789abcdef0123456789abcd';
const NEW = 'new0123456789abcdef0123456789abcd';
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

let both: ServerProcess;
beforeAll(async () => {
  // Mid-rotation: the old and the new key are both accepted, newline-separated as a Key Vault secret may hold them.
  both = await ServerProcess.start({ env: { AUTH_MODE: 'key', MCP_API_KEYS: `ci-old:${OLD}\nci-new:${NEW}` } });
});
afterAll(async () => {
  await both?.kill();
});

/** The README's SDK recipe: the key travels as a header on every request, GET stream included. */
async function connectWithKey(url: string, key: string | undefined): Promise<Client> {
  const client = new Client({ name: 'key-test', version: '1.0.0' });
  const headers = key === undefined ? undefined : { Authorization: `Bearer ${key}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(url), headers ? { requestInit: { headers } } : undefined));
  return client;
}

async function remembers(client: Client): Promise<boolean> {
  await client.callTool({ name: 'remember', arguments: { key: 'k', value: 'v' } });
  const recall = await client.callTool({ name: 'recall', arguments: { key: 'k' } });
  return (recall.content as Array<{ text: string }>)[0]?.text === 'v';
}

describe('key mode', () => {
  it('serves an SDK client that sends either key while both are configured', async () => {
    for (const key of [OLD, NEW]) {
      const client = await connectWithKey(both.url, key);
      expect(await remembers(client)).toBe(true);
      await client.close();
    }
  });

  it('answers a request without a key 401 with WWW-Authenticate: Bearer and a JSON-RPC error', async () => {
    const response = await rawPost(both.url, INIT);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringContaining('Authorization: Bearer') }, id: null });
    await expect(connectWithKey(both.url, undefined)).rejects.toThrow();
  });

  it('answers a wrong key 401 with error="invalid_token", however close it is', async () => {
    for (const wrong of [`${NEW}x`, NEW.slice(0, -1), 'x'.repeat(NEW.length), 'Basic abc']) {
      const response = await rawPost(both.url, INIT, { authorization: wrong.startsWith('Basic') ? wrong : `Bearer ${wrong}` });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    }
    await expect(connectWithKey(both.url, 'wrong-key-wrong-key-wrong')).rejects.toThrow();
  });

  it('hands the key id to the session host as the principal: a session opened with one key is unknown (404) under another', async () => {
    const client = await connectWithKey(both.url, OLD);
    await client.callTool({ name: 'remember', arguments: { key: 'mine', value: 'secret' } });
    const sessionId = (client.transport as StreamableHTTPClientTransport).sessionId as string;
    const list = (key: string) => rawPost(both.url, { jsonrpc: '2.0', id: 9, method: 'tools/list' }, { authorization: `Bearer ${key}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    expect((await list(NEW)).status).toBe(404);
    expect((await list(OLD)).status).toBe(200);
    expect(await remembers(client)).toBe(true);
    await client.close();
  });

  it('keeps /statusz behind the same key, and /readyz to a bare status', async () => {
    expect((await fetch(`${both.origin}/statusz`)).status).toBe(401);
    const status = await fetch(`${both.origin}/statusz`, { headers: { authorization: `Bearer ${NEW}` } });
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ status: 'ready', auth: 'key', mode: 'memory' });
    expect(await (await fetch(`${both.origin}/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('refuses a key once it is removed, while the remaining key keeps working', async () => {
    const after = await ServerProcess.start({ env: { AUTH_MODE: 'key', MCP_API_KEYS: `ci-new:${NEW}` } });
    try {
      expect((await rawPost(after.url, INIT, { authorization: `Bearer ${OLD}` })).status).toBe(401);
      const client = await connectWithKey(after.url, NEW);
      expect(await remembers(client)).toBe(true);
      await client.close();
      expect(after.output).not.toContain(NEW);
    } finally {
      await after.kill();
    }
  });

  it('never writes a key to the log, even at debug level', () => {
    expect(both.output).toContain('refused an unauthenticated request');
    expect(both.output).toContain('"auth":"key"');
    for (const key of [OLD, NEW]) expect(both.output).not.toContain(key);
  });
});

describe('start-up', () => {
  it('stops with a ConfigError that names MCP_API_KEYS and does not echo the key', async () => {
    const secret = 'only-nine';
    const started = ServerProcess.start({ env: { AUTH_MODE: 'key', MCP_API_KEYS: `ci:${secret}` } });
    const error = (await started.then(
      () => new Error('started'),
      (e: Error) => e,
    )) as Error;
    expect(error.message).toContain('exited with 2');
    expect(error.message).toContain('configuration error: MCP_API_KEYS: the key with id "ci" must be at least 16 characters');
    expect(error.message).not.toContain(secret);
  });

  it('warns when auth is off on an interface other than loopback', async () => {
    const open = await ServerProcess.start({ env: { HOST: '0.0.0.0' } });
    await open.kill();
    const warning = open.logs.find((line) => line.includes('AUTH_MODE=none on a non-loopback interface'));
    expect(warning).toContain('"level":40');
    const local = await ServerProcess.start();
    await local.kill();
    expect(local.output).not.toContain('AUTH_MODE=none on a non-loopback interface');
  });
});
