// A GET stream whose session the store lost without a word (an LRU eviction, an expiry) ends on the
// periodic check, and the next request gets 404: in process, real session host, real redis-server.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSessionStore } from '../../app/sessions/redis-store.js';
import { parseRedisUrl } from '../../app/sessions/redis-url.js';
import { testHost } from '../support/host.js';
import { TestRedis } from '../support/redis.js';

const HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

let redis: TestRedis;
let store: RedisSessionStore;

beforeAll(async () => {
  redis = await TestRedis.start();
  store = new RedisSessionStore({ target: parseRedisUrl(redis.url), keyPrefix: 'gone:', commandTimeoutMs: 1000, heartbeatMs: 200 });
  await store.waitUntilReady(5000);
});

afterAll(async () => {
  await store?.close();
  await redis?.close();
});

describe('streams of a lost session', () => {
  it('streams:evicted — a record removed without an announcement ends the session\'s GET stream; the next GET is a 404', async () => {
    const host = testHost(store, pino({ level: 'silent' }), { sseKeepAliveMs: 200 });
    const init = await host.handle(new Request('http://localhost/mcp', { method: 'POST', headers: HEADERS, body: JSON.stringify(INIT) }));
    const id = init.headers.get('mcp-session-id') as string;
    const get = () => host.handle(new Request('http://localhost/mcp', { headers: { accept: 'text/event-stream', 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' } }));
    const stream = await get();
    expect(stream.status).toBe(200);
    let ended = false;
    const reader = stream.body!.getReader();
    void (async () => {
      for (;;) if ((await reader.read()).done) return (ended = true);
    })();
    await sleep(300);
    expect(ended).toBe(false);
    // What allkeys-lru does: the key goes, nobody is told.
    const admin = redis.client();
    await admin.del(`gone:session:{${id}}`);
    admin.disconnect();
    const deadline = Date.now() + 3000;
    while (!ended && Date.now() < deadline) await sleep(50);
    expect(ended).toBe(true);
    await expect(get()).rejects.toMatchObject({ status: 404 });
    await host.close();
  });
});
