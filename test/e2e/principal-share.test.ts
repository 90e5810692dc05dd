// One principal cannot push another's sessions out of Redis: under maxmemory with allkeys-lru, a key
// that fills the event log with 15 KB JSON-RPC ids leaves the other key's sessions and data intact.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPost, rpcMessage } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

const KEY_1 = 'one0123456789abcdef0123456789abcd';
const KEY_2 = 'two0123456789abcdef0123456789abcd';
const VERSION = '2025-11-25';

let redis: TestRedis;
let server: ServerProcess;

beforeAll(async () => {
  redis = await TestRedis.start({ args: ['--maxmemory', '16mb', '--maxmemory-policy', 'allkeys-lru'] });
  server = await ServerProcess.start({
    env: {
      REDIS_URL: redis.url,
      AUTH_MODE: 'key',
      MCP_API_KEYS: `hostile:${KEY_1}\nquiet:${KEY_2}`,
      SESSION_CREATE_RATE: 'off',
      MAX_SESSIONS_PER_PRINCIPAL: '100000',
      REDIS_MEMORY_CHECK: '200ms',
      LOG_LEVEL: 'info',
    },
  });
});

afterAll(async () => {
  await server?.kill();
  await redis?.close();
});

/** A raw legacy session of the principal with `key`; undefined when the server refuses to create it. */
async function open(key: string): Promise<string | undefined> {
  const auth = { authorization: `Bearer ${key}` };
  const init = await rawPost(server.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }, auth);
  await init.text();
  const id = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !id) return undefined;
  await (await rawPost(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...auth, 'mcp-session-id': id, 'mcp-protocol-version': VERSION })).text();
  return id;
}

async function send(key: string, session: string, message: Record<string, unknown>): Promise<{ status: number; body: string }> {
  const response = await rawPost(server.url, { jsonrpc: '2.0', ...message }, { authorization: `Bearer ${key}`, 'mcp-session-id': session, 'mcp-protocol-version': VERSION });
  return { status: response.status, body: await response.text() };
}

const bigId = (n: number) => `${n}-${'x'.repeat(15 * 1024)}`;

describe('principal share under maxmemory', () => {
  it('redis:principal-share — one key filling the event log with 15 KB ids never evicts the other key\'s sessions or data', async () => {
    const quiet: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = (await open(KEY_2)) as string;
      expect((await send(KEY_2, id, { id: 2, method: 'tools/call', params: { name: 'remember', arguments: { key: 'k', value: `v${i}` } } })).body).toContain('Remembered');
      quiet.push(id);
    }
    const hostile: string[] = [];
    let n = 0;
    // New sessions until the store refuses them (nearly full), each with four pings of 15 KB ids.
    while (hostile.length < 1000) {
      const id = await open(KEY_1);
      if (!id) break;
      hostile.push(id);
      for (let i = 0; i < 4; i++) await send(KEY_1, id, { id: bigId(n++), method: 'ping' });
    }
    expect(hostile.length).toBeLessThan(1000); // the guard stopped new sessions
    // Then keep pinging every session it has, as a hostile client would.
    for (let round = 0; round < 3; round++) for (const id of hostile) await send(KEY_1, id, { id: bigId(n++), method: 'ping' });
    await sleep(500);
    const inspect = redis.client();
    const stats = await inspect.info('stats');
    const evicted = Number(/^evicted_keys:(\d+)/m.exec(stats)?.[1]);
    const memory = await inspect.info('memory');
    const perSession = Number(await inspect.call('MEMORY', 'USAGE', `mcp-continuity:session:{${hostile[0]}}:events`));
    console.log(`redis:principal-share: ${hostile.length} hostile sessions, ${n} pings, evicted_keys ${evicted}, used_memory ${/^used_memory:(\d+)/m.exec(memory)?.[1]}, first hostile log ${perSession} bytes`);
    expect(evicted).toBe(0);
    for (const [i, id] of quiet.entries()) {
      expect(await inspect.exists(`mcp-continuity:session:{${id}}`)).toBe(1);
      const recall = await send(KEY_2, id, { id: 3, method: 'tools/call', params: { name: 'recall', arguments: { key: 'k' } } });
      expect(recall.status).toBe(200);
      expect(rpcMessage<{ result: { content: Array<{ text: string }> } }>(recall.body).result.content[0]?.text).toBe(`v${i}`);
    }
    inspect.disconnect();
  });
});
