// Abuse bounds at the HTTP layer: new-session rate limit (429), trickled bodies cut at the timeout, SSE unaffected.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../app/http/rate-limit.js';
import { rawPost } from '../support/clients.js';
import { startHarness, type Harness } from './harness.js';

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
const KEY_A = 'aaaa0123456789abcdef0123456789ab';
const KEY_B = 'bbbb0123456789abcdef0123456789ab';

describe('new-session rate limit', () => {
  let server: Harness;
  beforeAll(async () => {
    server = await startHarness({
      auth: { mode: 'key', keys: [{ id: 'a', key: KEY_A }, { id: 'b', key: KEY_B }] },
      sessionCreateRate: { tokens: 3, perMs: 60_000 },
    });
  });
  afterAll(async () => server?.close());

  it('answers a flood of initializes from one principal 429 with Retry-After, and leaves others and open sessions alone', async () => {
    const as = (key: string, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...headers });
    const first = await rawPost(server.url, INIT, as(KEY_A));
    const session = first.headers.get('mcp-session-id') as string;
    expect(session).toBeTruthy();
    const flood = await Promise.all(Array.from({ length: 10 }, () => rawPost(server.url, INIT, as(KEY_A))));
    expect(flood.filter((r) => r.status === 200)).toHaveLength(2);
    const refused = flood.filter((r) => r.status === 429);
    expect(refused).toHaveLength(8);
    const retryAfter = Number(refused[0]?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(20); // one token comes back every 20 s at 3/min
    expect(await refused[0]?.json()).toEqual({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringMatching(/^Too many new sessions: retry after \d+ s/) }, id: null });

    expect((await rawPost(server.url, INIT, as(KEY_B))).status).toBe(200);
    const call = { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'recall', arguments: { key: 'x' } } };
    await rawPost(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, as(KEY_A, { 'mcp-session-id': session }));
    expect((await rawPost(server.url, call, as(KEY_A, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' }))).status).toBe(200);
  });
  it('counts every initialize, whatever Mcp-Session-Id it carries (its own, made up, not minted): the header buys no extra sessions', async () => {
    const as = (key: string, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${key}`, ...headers });
    const own = (await rawPost(server.url, INIT, as(KEY_B))).headers.get('mcp-session-id') as string;
    const ids = [own, '8f14e45f-ceea-467f-a0e6-0123456789ab', 'not-a-minted-id'];
    const flood = await Promise.all(Array.from({ length: 20 }, (_, i) => rawPost(server.url, INIT, as(KEY_B, { 'mcp-session-id': ids[i % ids.length] as string }))));
    // KEY_B made one session in the test above and one here: one token left of its three.
    const accepted = flood.filter((r) => r.status === 200);
    expect(accepted).toHaveLength(1);
    expect(flood.filter((r) => r.status === 429)).toHaveLength(19);
    expect(accepted[0]?.headers.get('mcp-session-id')).not.toBe(own);
    // A request that is no initialize is not limited, with or without a session id.
    const call = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    await rawPost(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, as(KEY_B, { 'mcp-session-id': own }));
    expect((await rawPost(server.url, call, as(KEY_B, { 'mcp-session-id': own, 'mcp-protocol-version': '2025-06-18' }))).status).toBe(200);
  });
});

describe('RateLimiter', () => {
  it('refills over time and keeps no more buckets than its bound', () => {
    let now = 0;
    const limiter = new RateLimiter({ rate: { tokens: 2, perMs: 1000 }, maxBuckets: 100, now: () => now });
    expect([limiter.take('a').ok, limiter.take('a').ok, limiter.take('a').ok]).toEqual([true, true, false]);
    now += 500; // one token back at 2 per second
    expect(limiter.take('a').ok).toBe(true);
    expect(limiter.take('a')).toEqual({ ok: false, retryAfterS: 1 });
    for (let i = 0; i < 1000; i++) limiter.take(`address-${i}`);
    expect(limiter.stats.buckets).toBe(100);
  });

  it('limits by client address when auth is off, except loopback clients', async () => {
    const server = await startHarness({ auth: { mode: 'none' }, sessionCreateRate: { tokens: 1, perMs: 60_000 } });
    try {
      const init = (clientAddress: string) =>
        server.app.fetch(new Request(server.url, { method: 'POST', headers: { host: '127.0.0.1', accept: 'application/json, text/event-stream', 'content-type': 'application/json' }, body: JSON.stringify(INIT) }), { clientAddress });
      expect((await init('192.0.2.1')).status).toBe(200);
      expect((await init('192.0.2.1')).status).toBe(429);
      expect((await init('192.0.2.2')).status).toBe(200);
      // The local user is not limited when auth is off: loopback is exempt.
      for (let i = 0; i < 3; i++) expect((await init('127.0.0.1')).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('client address', () => {
  it("comes from the socket, or with TRUST_PROXY from X-Forwarded-For's last hop, which decides loopback-only /statusz", async () => {
    const statusz = (server: Harness, forwarded?: string) => fetch(`${server.origin}/statusz`, forwarded ? { headers: { 'x-forwarded-for': forwarded } } : {});
    const direct = await startHarness({ auth: { mode: 'none' } });
    const proxied = await startHarness({ auth: { mode: 'none' }, trustProxy: true });
    try {
      expect((await statusz(direct)).status).toBe(200);
      expect((await statusz(direct, '203.0.113.9')).status).toBe(200); // not trusted: the socket is loopback
      expect((await statusz(proxied, '203.0.113.9')).status).toBe(403);
      expect((await statusz(proxied, '127.0.0.1, 203.0.113.9')).status).toBe(403); // a client cannot prepend its way in
      expect((await statusz(proxied, '203.0.113.9, 127.0.0.1')).status).toBe(200);
      expect((await statusz(proxied)).status).toBe(200); // no header: the socket
    } finally {
      await Promise.all([direct.close(), proxied.close()]);
    }
  });
});

describe('request body timeout', () => {
  let server: Harness;
  beforeAll(async () => {
    server = await startHarness({ auth: { mode: 'none' }, requestTimeoutMs: 1000 });
  });
  afterAll(async () => server?.close());

  function open(): { socket: Socket; received: () => string; closed: Promise<number> } {
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('error', () => {});
    const started = Date.now();
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
    return { socket, received: () => data, closed };
  }

  it('cuts a trickled POST body at the timeout with 408 and logs it at debug, while an open SSE GET stream outlives it', async () => {
    const init = await rawPost(server.url, INIT);
    const session = init.headers.get('mcp-session-id') as string;
    await rawPost(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': session });

    const stream = open();
    stream.socket.write(
      `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${session}\r\nMcp-Protocol-Version: 2025-06-18\r\n\r\n`,
    );

    // On a kept-alive connection that has already carried a response, so the 408 must still be written.
    const slow = open();
    slow.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    await expect.poll(() => slow.received(), { timeout: 2000 }).toContain('{"status":"ok"}');
    const postStarted = Date.now();
    const body = JSON.stringify(INIT);
    slow.socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    let sent = 0;
    const trickle = setInterval(() => {
      if (!slow.socket.destroyed && sent < body.length) slow.socket.write(body[sent++] as string);
    }, 100);
    await slow.closed;
    const cutAfterMs = Date.now() - postStarted;
    clearInterval(trickle);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 200 [\s\S]*\r\nHTTP\/1\.1 408 /);
    expect(cutAfterMs).toBeGreaterThanOrEqual(900);
    expect(cutAfterMs).toBeLessThan(4000); // generous: a loaded CI machine delays the check
    expect(sent).toBeLessThan(body.length);

    // Well past the timeout the stream is still open, and still delivers.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(stream.socket.destroyed).toBe(false);
    expect(stream.received()).toMatch(/^HTTP\/1\.1 200 /);
    const call = { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'enable_toolset', arguments: { name: 'math' } } };
    expect((await rawPost(server.url, call, { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' })).status).toBe(200);
    await expect.poll(() => stream.received(), { timeout: 2000 }).toContain('notifications/tools/list_changed');
    stream.socket.destroy();

    // The cut body is routine: logged at debug, with no error and no stack trace.
    const levels = server.logs.map((line) => (JSON.parse(line) as { level: number }).level);
    expect(server.logs.some((line) => line.includes('connection closed before its request was complete'))).toBe(true);
    expect(levels.filter((level) => level >= 40)).toEqual([]);
    expect(server.logs.join('\n')).not.toContain('"stack"');
  });
});
