// End to end: a write whose client gave up (its connection closed: a 502 or a reset at the ingress) must not
// land later over a newer write the client has since had confirmed. Two real server processes, a real
// redis-server, replica A's Redis link stalled by a TCP proxy so A is still working on the call when its
// client hangs up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, type LegacyClient } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';
import { FreezingProxy } from '../support/tcp-proxy.js';

let redis: TestRedis;
let link: FreezingProxy;
let a: ServerProcess;
let b: ServerProcess;
const clients: LegacyClient[] = [];

beforeAll(async () => {
  redis = await TestRedis.start();
  link = await FreezingProxy.start(redis.port);
  [a, b] = await Promise.all([
    ServerProcess.start({ env: { LOG_LEVEL: 'info', REDIS_URL: link.url, REPLICA_NAME: 'a' } }),
    ServerProcess.start({ env: { LOG_LEVEL: 'info', REDIS_URL: redis.url, REPLICA_NAME: 'b' } }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all([a?.kill(), b?.kill()]);
  await link?.close();
  await redis?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A tools/call POST to `url` on `client`'s session, sent by hand so the test can hang up on it. */
function callOn(url: string, client: LegacyClient, name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    signal,
    headers: {
      accept: 'application/json, text/event-stream',
      'content-type': 'application/json',
      'mcp-session-id': client.sessionId,
      'mcp-protocol-version': client.transport.protocolVersion ?? '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 'given-up', method: 'tools/call', params: { name, arguments: args } }),
  });
}

describe('a write the client gave up on', () => {
  it('late-write: a remember whose connection closed while its replica waited on Redis is not saved later over a newer confirmed remember', { timeout: 60_000 }, async () => {
    const c = await connectLegacy(b.url);
    clients.push(c);
    expect(await c.call('remember', { key: 'k', value: 'first' })).toBe('Remembered "k".');

    // A's link to Redis stalls (nothing lost, only late): A restores the session and runs the call once it clears.
    link.hold();
    const restoresBefore = a.logs.filter((line) => line.includes('session restored')).length;
    const hangUp = new AbortController();
    const given = callOn(a.url, c, 'remember', { key: 'k', value: 'given up' }, hangUp.signal).catch((error: Error) => error);
    await sleep(500);
    // The client gives up on it (as a 502 or a reset does) and writes again elsewhere: confirmed.
    hangUp.abort();
    expect(await given).toBeInstanceOf(Error);
    expect(await c.call('remember', { key: 'k', value: 'newer' })).toBe('Remembered "k".');

    link.release();
    // A gets its answers now, restores the session and reaches the call it was given.
    await until(() => a.logs.filter((line) => line.includes('session restored')).length > restoresBefore, "A's restore");
    await sleep(1000);

    expect(await c.call('recall', { key: 'k' })).toBe('newer');
  });
});
