// Sessions belong to the principal that created them, one principal's sessions are capped, and a store
// near its memory limit refuses new sessions: in process, real session host, real stores.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionHost } from '../../app/mcp/session-host.js';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import { RedisSessionStore } from '../../app/sessions/redis-store.js';
import { parseRedisUrl } from '../../app/sessions/redis-url.js';
import type { SessionStore } from '../../app/sessions/store.js';
import { testHost } from '../support/host.js';
import { TestRedis } from '../support/redis.js';

const HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
const lines: string[] = [];

function host(store: SessionStore, maxSessionsPerPrincipal = 100) {
  return testHost(store, pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }), { maxSessionsPerPrincipal });
}

const post = (body: unknown, headers: Record<string, string> = {}) => new Request('http://localhost/mcp', { method: 'POST', headers: { ...HEADERS, ...headers }, body: JSON.stringify(body) });

async function status(promise: Promise<Response>): Promise<number> {
  try {
    return (await promise).status;
  } catch (error) {
    return (error as { status: number }).status;
  }
}

async function create(h: SessionHost, principal: string | undefined): Promise<string> {
  const response = await h.handle(post(INIT), principal);
  expect(response.status).toBe(200);
  return response.headers.get('mcp-session-id') as string;
}

const call = (id: string) => post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'session_info', arguments: {} } }, { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' });

let redis: TestRedis | undefined;
afterAll(async () => {
  await redis?.close();
});

describe('sessions and principals', () => {
  it('security:binding — another principal, or none, gets the 404 an unknown id gets, and DELETE likewise', async () => {
    const store = new MemorySessionStore();
    const [a, b] = [host(store), host(store)]; // two replicas sharing a store
    const id = await create(a, 'key:alice');
    expect(await status(a.handle(call(id), 'key:alice'))).toBe(200);
    for (const replica of [a, b]) {
      expect(await status(replica.handle(call(id), 'key:mallory'))).toBe(404);
      expect(await status(replica.handle(call(id), undefined))).toBe(404);
      expect(await status(replica.handle(new Request('http://localhost/mcp', { method: 'DELETE', headers: { 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' } }), 'key:mallory'))).toBe(404);
    }
    expect(await status(b.handle(call(id), 'key:alice'))).toBe(200); // restored for its owner
    expect((await store.load(id)).status).toBe('found');
    expect(lines.join('')).not.toContain(id);
    expect(lines.join('')).not.toContain('alice');
  });

  it('security:per-principal-cap — one principal gets 429 with Retry-After past its cap; others are unaffected', async () => {
    const h = host(new MemorySessionStore(), 3);
    for (let i = 0; i < 3; i++) await create(h, 'key:greedy');
    try {
      await h.handle(post(INIT), 'key:greedy');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ status: 429, headers: { 'retry-after': '60' } });
    }
    await create(h, 'key:other');
  });

  it('security:store-full — a Redis near its memory limit refuses new sessions (503) and keeps serving existing ones', async () => {
    redis = await TestRedis.start();
    const store = new RedisSessionStore({ target: parseRedisUrl(redis.url), keyPrefix: `full${randomUUID().slice(0, 4)}:`, commandTimeoutMs: 1000, memoryCheckMs: 50 });
    expect(await store.waitUntilReady(5000)).toBe(true);
    const h = host(store);
    const id = await create(h, 'key:a');
    const admin = redis.client();
    const used = Number(/^used_memory:(\d+)/m.exec(await admin.info('memory'))?.[1]);
    await admin.config('SET', 'maxmemory', String(Math.floor(used * 1.05)));
    const deadline = Date.now() + 3000;
    while (!store.health().nearlyFull && Date.now() < deadline) await sleep(20);
    expect(store.health().nearlyFull).toBe(true);
    try {
      await h.handle(post(INIT), 'key:a');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ status: 503, message: expect.stringContaining('nearly full') });
    }
    expect(await status(h.handle(call(id), 'key:a'))).toBe(200);
    await admin.config('SET', 'maxmemory', '0');
    admin.disconnect();
    await h.close();
    await store.close();
  });
});
