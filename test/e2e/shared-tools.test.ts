// Sessions share one process-wide tool catalog: real server process, real redis-server, real SDK 1.32
// clients. What each session holds (toolsets, data, what its client can be asked) stays its own, live
// and after eviction and restore.
import { McpServer, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { describeLifetime } from '../../app/mcp/scratchpads.js';
import { TOOL_MODULES, TOOLSETS, type LegacyScope } from '../../app/tools/index.js';
import { connectAsking, type AskingClient } from '../support/asking-client.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

let redis: TestRedis;
const servers: ServerProcess[] = [];

beforeAll(async () => {
  redis = await TestRedis.start();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await redis?.close();
});

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const s = await ServerProcess.start({ env: { REDIS_URL: redis.url, ...env } });
  servers.push(s);
  return s;
}

interface Info {
  sessionId: string;
  restored: boolean;
  toolsets: string[];
  client: { name: string };
}
const info = async (c: AskingClient) => JSON.parse(await c.call('session_info')) as Info;
const listed = async (c: AskingClient) => (await c.client.listTools()).tools.map((t) => t.name);

/** What every check below expects of the two sessions, whichever copy (live or restored) answers. */
async function expectApart(a: AskingClient, b: AskingClient): Promise<void> {
  expect(await listed(a)).toEqual(expect.arrayContaining(['add', 'multiply']));
  expect(await listed(a)).not.toContain('uppercase');
  expect(await listed(b)).toEqual(expect.arrayContaining(['uppercase', 'reverse']));
  expect(await listed(b)).not.toContain('add');
  expect(await a.call('recall', { key: 'who' })).toBe('alice');
  expect(await b.call('recall', { key: 'who' })).toBe('bob');
  expect(await a.call('add', { a: 2, b: 3 })).toBe('5');
  await expect(b.call('add', { a: 2, b: 3 })).rejects.toThrow(/add/);
  const [ia, ib] = [await info(a), await info(b)];
  expect(ia).toMatchObject({ sessionId: a.sessionId, toolsets: ['math'], client: { name: 'alice-client' } });
  expect(ib).toMatchObject({ sessionId: b.sessionId, toolsets: ['text'], client: { name: 'bob-client' } });
  // The form goes to the client of the session that called, and only a client that can show one is asked.
  const askedBefore = [a.asked.length, b.asked.length];
  expect(await a.call('forget_all', {})).toBe('Kept everything.');
  await expect(b.call('forget_all', {})).rejects.toThrow(/cannot show a form/);
  expect([a.asked.length, b.asked.length]).toEqual([askedBefore[0]! + 1, askedBefore[1]]);
  expect(await a.call('recall', { key: 'who' })).toBe('alice');
  expect(await b.call('recall', { key: 'who' })).toBe('bob');
}

describe('shared tool catalog', () => {
  it('shared:apart — two sessions on one replica keep their own toolsets, data and elicitation, live and after each eviction and restore', async () => {
    for (const maxLive of ['100', '1']) {
      const s = await server({ MAX_LIVE_SESSIONS: maxLive });
      const [a, b] = await Promise.all([connectNamed(s.url, 'alice-client', true), connectNamed(s.url, 'bob-client', false)]);
      await a.call('remember', { key: 'who', value: 'alice' });
      await b.call('remember', { key: 'who', value: 'bob' });
      await a.call('enable_toolset', { name: 'math' });
      await b.call('enable_toolset', { name: 'text' });
      await expectApart(a, b);
      // With one live session at most, every switch between the two clients was a restore.
      const restored = [(await info(a)).restored, (await info(b)).restored];
      expect(restored).toEqual(maxLive === '1' ? [true, true] : [false, false]);
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('shared:concurrent — calls of many sessions at once each see their own session, with and without evictions', async () => {
    for (const maxLive of ['100', '3']) {
      const s = await server({ MAX_LIVE_SESSIONS: maxLive });
      const clients = await Promise.all(Array.from({ length: 8 }, (_, i) => connectNamed(s.url, `client-${i}`, i % 2 === 0)));
      await Promise.all(clients.map((c, i) => c.call('remember', { key: 'n', value: i })));
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(clients.flatMap((c) => [info(c), c.call('recall', { key: 'n' })]));
        clients.forEach((c, i) => {
          expect(answers[2 * i]).toMatchObject({ sessionId: c.sessionId, client: { name: `client-${i}` } });
          expect(answers[2 * i + 1]).toBe(String(i));
        });
      }
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('shared:listing — tools/list is exactly what registering every tool on the session’s own server lists, toolsets in the order enabled', async () => {
    const s = await server({});
    const a = await connectNamed(s.url, 'alice-client', true);
    expect((await a.client.listTools()).tools).toEqual(await referenceListing([]));
    await a.call('enable_toolset', { name: 'text' });
    await a.call('enable_toolset', { name: 'math' });
    expect((await a.client.listTools()).tools).toEqual(await referenceListing(['text', 'math']));
    await a.close();
  });
});

/** An asking client (forms answered "keep everything") or one that declares no elicitation, with its own name. */
async function connectNamed(url: string, name: string, capable: boolean): Promise<AskingClient> {
  return connectAsking(url, { capable, name, answer: { action: 'accept', content: { confirm: false } } });
}

/** tools/list of a server that registers every tool itself, as each session did before the catalog. */
async function referenceListing(toolsets: readonly string[]): Promise<unknown[]> {
  const config = loadConfig({});
  const server = new McpServer({ name: 'mcp-continuity', version: '0.1.0' }, { capabilities: { tools: { listChanged: true } } });
  const scope = { era: 'legacy', replica: { name: 'reference' }, scratchpads: { lifetime: describeLifetime({ idleMs: config.idleTtlMs, maxMs: config.maxTtlMs }) }, session: {} } as unknown as LegacyScope;
  for (const module of TOOL_MODULES) module.register(server, scope);
  for (const name of toolsets) TOOLSETS.get(name)?.register(server, scope);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => 'reference', enableJsonResponse: true });
  await server.connect(transport);
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    transport.handleRequest(new Request('http://reference.internal/mcp', { method: 'POST', headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }));
  await (await post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'reference', version: '1' } } })).text();
  const headers = { 'mcp-session-id': 'reference', 'mcp-protocol-version': '2025-11-25' };
  await (await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, headers)).text();
  const listing = (await (await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, headers)).json()) as { result: { tools: unknown[] } };
  await server.close();
  return listing.result.tools;
}
