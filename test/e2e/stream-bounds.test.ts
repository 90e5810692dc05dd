// The stream half bounded: one list_changed per change whatever the replica count, GET streams per
// session capped and made-up stream ids refused, events bounded in bytes, and streams that end when
// the store has lost their session.
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, rawPost } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

let redis: TestRedis;
const servers: ServerProcess[] = [];

async function server(env: Record<string, string> = {}, on: TestRedis = redis): Promise<ServerProcess> {
  const s = await ServerProcess.start({ env: { REDIS_URL: on.url, ...env } });
  servers.push(s);
  return s;
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

const headers = (sessionId: string, extra: Record<string, string> = {}) => ({ accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25', ...extra });

beforeAll(async () => {
  redis = await TestRedis.start();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await redis?.close();
});

describe('stream bounds', () => {
  it('streams:list-changed-once — with three replicas holding the session live, one enable_toolset sends exactly one list_changed', async () => {
    const replicas = [await server(), await server(), await server()];
    let next = 0;
    let pinned: string | undefined;
    const client = await connectLegacy(replicas[0]!.url, {
      fetch: (input, init) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        const origin = pinned ?? replicas[next++ % replicas.length]!.origin;
        return fetch(new URL(url.pathname + url.search, origin), init);
      },
    });
    let changed = 0;
    client.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    // Every replica serves the session once, so all three hold it live.
    for (let i = 0; i < 3; i++) await client.call('session_info');
    pinned = replicas[1]!.origin;
    await client.call('enable_toolset', { name: 'math' });
    pinned = undefined;
    // The other two apply the new shape (a tool list re-reads it) and must stay quiet.
    for (let i = 0; i < 6; i++) await client.client.listTools();
    expect(await client.call('add', { a: 1, b: 2 })).toBe('3');
    await until(() => changed >= 1, 5000, 'list_changed');
    await sleep(1000);
    expect(changed).toBe(1);
    await client.close();
  });

  it('streams:made-up-id — a Last-Event-ID naming a stream this session never had is a 400, not an open stream', async () => {
    const a = await server();
    const client = await connectLegacy(a.url);
    let token: string | undefined;
    await client.client.callTool({ name: 'session_info', arguments: {} }, undefined, { onresumptiontoken: (t: string) => (token = t) });
    const [, tag, , writer] = (token as string).split('.');
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => fetch(a.url, { headers: headers(client.sessionId, { 'last-event-id': `e1.${tag}.${crypto.randomUUID()}.${writer}.${i + 1}` }) })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(400));
    expect(await responses[0]!.text()).toContain('names no stream of this session');
    await client.close();
  });

  it('streams:cap — a session holds at most 8 GET streams on a replica: resuming more calls closes the oldest; a finished call resumes as 204', async () => {
    const a = await server();
    const client = await connectLegacy(a.url);
    const post = { 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' };
    // Ten calls in flight, each with its own POST stream; their priming event ids are what a client resumes from.
    const calls = await Promise.all(Array.from({ length: 10 }, (_, i) => rawPost(a.url, { jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'countdown', arguments: { seconds: 4 } } }, post)));
    const primings = await Promise.all(
      calls.map(async (r) => {
        const reader = r.body!.getReader();
        const first = new TextDecoder().decode((await reader.read()).value);
        void reader.cancel().catch(() => {});
        return /^id: (\S+)$/m.exec(first)?.[1] as string;
      }),
    );
    const resumed: Response[] = [];
    for (const id of primings) {
      const response = await fetch(a.url, { headers: headers(client.sessionId, { 'last-event-id': id }) });
      expect(response.status).toBe(200);
      resumed.push(response);
      await sleep(20);
    }
    const open = await Promise.all(
      resumed.map(async (r) => {
        const reader = r.body!.getReader();
        let ended = false;
        const read = (async () => {
          for (;;) if ((await reader.read()).done) return (ended = true);
        })();
        await Promise.race([read, sleep(500)]);
        void reader.cancel().catch(() => {});
        return !ended;
      }),
    );
    // Eleven with the client's own GET stream: the three oldest closed (that one and the first two resumed).
    expect(open).toEqual([false, false, true, true, true, true, true, true, true, true]);
    // A stream whose response the client already has sends nothing more: 204, so the client stops reconnecting.
    let token: string | undefined;
    await client.client.callTool({ name: 'session_info', arguments: {} }, undefined, { onresumptiontoken: (t: string) => (token = t) });
    expect((await fetch(a.url, { headers: headers(client.sessionId, { 'last-event-id': token as string }) })).status).toBe(204);
    await client.close();
  });

  it('streams:gone — when Redis loses the session, its GET stream ends and a new one is refused with 404', async () => {
    const local = await TestRedis.start();
    try {
      const a = await server({ REDIS_COMMAND_TIMEOUT: '300ms' }, local);
      // Raw requests: an SDK client would reconnect its own GET stream, which replaces ours.
      const init = await rawPost(a.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
      const sessionId = init.headers.get('mcp-session-id') as string;
      await init.text();
      await (await rawPost(a.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' })).text();
      await (await rawPost(a.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'session_info', arguments: {} } }, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' })).text();
      const stream = await fetch(a.url, { headers: headers(sessionId) });
      expect(stream.status).toBe(200);
      const reader = stream.body!.getReader();
      let ended = false;
      void (async () => {
        for (;;) if ((await reader.read()).done) return (ended = true);
      })().catch(() => (ended = true));
      // A Redis restarted without its data: the session's record is gone.
      await local.stop();
      await local.resume();
      await until(() => ended, 10_000, 'the GET stream ends');
      await until(async () => (await fetch(a.url, { headers: headers(sessionId) })).status === 404, 5000, 'a new GET is refused');
    } finally {
      await local.close();
    }
  });

  it('streams:bytes — 15 KB JSON-RPC ids keep the log within its byte bound', async () => {
    const a = await server();
    const client = await connectLegacy(a.url);
    const key = `mcp-continuity:session:{${client.sessionId}}:events`;
    for (let i = 0; i < 20; i++) {
      const response = await rawPost(a.url, { jsonrpc: '2.0', id: `${i}-${'x'.repeat(15 * 1024)}`, method: 'ping' }, { 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' });
      expect(response.status).toBe(200);
      await response.text();
    }
    await sleep(300);
    const inspect = redis.client();
    const entries = await inspect.xrange(key, '-', '+');
    const bytes = entries.reduce((n, [, fields]) => n + fields.filter((_, i) => i % 2 === 1).reduce((m, v) => m + Buffer.byteLength(v), 0), 0);
    const memory = Number(await inspect.call('MEMORY', 'USAGE', key));
    console.log(`streams:bytes: ${entries.length} events, ${bytes} bytes counted, MEMORY USAGE ${memory}`);
    expect(bytes).toBeLessThanOrEqual(64 * 1024);
    expect(Number(await inspect.hget(`mcp-continuity:session:{${client.sessionId}}`, 'eb'))).toBe(bytes);
    // The newest answer is still there to replay.
    expect(entries.at(-1)?.[1].join(' ')).toContain('19-xxx');
    inspect.disconnect();
    await client.close();
  });
});
