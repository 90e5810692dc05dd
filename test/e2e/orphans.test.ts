// Orphaned calls: when the replica running a call dies, the client's resumed stream on another replica
// gets a JSON-RPC error for that call ("may or may not have taken effect"), never a silent wait; a
// call whose replica lives is never declared dead.
import { setTimeout as sleep } from 'node:timers/promises';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, rawPost } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

let redis: TestRedis;
const servers: ServerProcess[] = [];

async function server(): Promise<ServerProcess> {
  const s = await ServerProcess.start({ env: { REDIS_URL: redis.url } });
  servers.push(s);
  return s;
}

/** Sends every request to `target()`; `cut()` breaks the response bodies of the POSTs in flight (a dropped connection). */
function steered(target: () => string): { fetch: typeof fetch; cut: () => void } {
  const inFlight = new Set<AbortController>();
  return {
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const controller = new AbortController();
      init?.signal?.addEventListener('abort', () => controller.abort());
      if ((init?.method ?? 'GET').toUpperCase() === 'POST') inFlight.add(controller);
      return fetch(new URL(url.pathname + url.search, target()), { ...init, signal: controller.signal });
    },
    cut: () => {
      for (const controller of inFlight) controller.abort();
      inFlight.clear();
    },
  };
}

beforeAll(async () => {
  redis = await TestRedis.start();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await redis?.close();
});

describe('orphaned calls', () => {
  it('orphans:sigkill — countdown 8 on A, A SIGKILLed at 2 s, the resume lands on B: the call fails with "may or may not have taken effect"', async () => {
    const [a, b] = [await server(), await server()];
    let target = a.origin;
    const route = steered(() => target);
    const client = await connectLegacy(a.url, { fetch: route.fetch });
    let progress = 0;
    const call = client.client.callTool({ name: 'countdown', arguments: { seconds: 8 } }, undefined, { timeout: 30_000, onprogress: () => void progress++ });
    const outcome = call.then(
      () => 'answered',
      (error: unknown) => error,
    );
    await sleep(2000);
    expect(progress).toBeGreaterThan(0); // the call runs on A
    target = b.origin;
    const killedAt = Date.now();
    await a.kill('SIGKILL');
    const error = await outcome;
    const ms = Date.now() - killedAt;
    console.log(`orphans:sigkill: error ${ms} ms after the SIGKILL`);
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32003);
    expect((error as McpError).message).toContain('may or may not have taken effect');
    // The session itself lives on: B serves the next call.
    expect(await client.call('session_info')).toContain('session');
    await client.close();
  });

  it('orphans:trimmed — the call\'s priming event trimmed from the log by later traffic, its SIGKILL still fails it fast', async () => {
    const [a, b] = [await server(), await server()];
    let target = a.origin;
    const client = await connectLegacy(a.url, { fetch: steered(() => target).fetch });
    const outcome = client.client.callTool({ name: 'countdown', arguments: { seconds: 8 } }, undefined, { timeout: 30_000, onprogress: () => {} }).then(
      () => 'answered',
      (error: unknown) => error,
    );
    await sleep(1200);
    // 80 KB of other answers on the same session: more than the log keeps, so the call's first events go.
    for (let i = 0; i < 8; i++) await (await rawPost(a.url, { jsonrpc: '2.0', id: `${i}-${'x'.repeat(10_000)}`, method: 'ping' }, { 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' })).text();
    await sleep(1000);
    target = b.origin;
    await a.kill('SIGKILL');
    const error = await outcome;
    expect(error).toBeInstanceOf(McpError);
    expect((error as McpError).code).toBe(-32003);
    await client.close();
  });

  it('orphans:alive — a POST stream cut while its replica lives, resumed on B, gets the real answer', async () => {
    const [a, b] = [await server(), await server()];
    let target = a.origin;
    const route = steered(() => target);
    const client = await connectLegacy(a.url, { fetch: route.fetch });
    const call = client.client.callTool({ name: 'countdown', arguments: { seconds: 5 } }, undefined, { timeout: 30_000 });
    await sleep(1500);
    target = b.origin;
    route.cut();
    const result = await call;
    expect((result.content as Array<{ text: string }>)[0]?.text).toBe('done');
    await client.close();
  });
});
