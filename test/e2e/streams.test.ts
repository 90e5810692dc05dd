// The stream half of a session on any replica: notifications reach the client through whichever
// replica holds its GET stream, a stream resumes elsewhere after its replica dies, and the event log is
// bounded, expires with the session and goes with DELETE. On one Redis node and on a 3-master cluster.
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { connectLegacy, splitFetch as split } from '../support/clients.js';
import { ServerProcess } from '../support/server-process.js';
import { TOPOLOGIES, useTopology } from '../support/topologies.js';

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

describe.each(TOPOLOGIES)('streams on any replica (%s)', (topology) => {
  const redis = useTopology(topology);
  const servers: ServerProcess[] = [];
  // Registered after the topology's hooks, so it runs first: the servers stop before their Redis does.
  afterAll(async () => void (await Promise.all(servers.map((s) => s.kill()))));

  async function server(env: Record<string, string> = {}): Promise<ServerProcess> {
    const s = await ServerProcess.start({ env: { ...redis.env(), ...env } });
    servers.push(s);
    return s;
  }

  it('streams:cross-replica — with the GET stream on A and the call on B, exactly one list_changed arrives', async () => {
    const [a, b] = [await server(), await server()];
    const client = await connectLegacy(a.url, { fetch: split(() => a.origin, () => b.origin) });
    let changed = 0;
    client.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    await sleep(300); // the GET stream is open on A
    await client.call('enable_toolset', { name: 'math' });
    await until(() => changed === 1, 5000, 'list_changed from B through A');
    await sleep(300);
    expect(changed).toBe(1);
    expect((await client.client.listTools()).tools.map((t) => t.name)).toContain('add');
    await client.close();
  });

  it('streams:resume — after the replica holding the GET stream is SIGKILLed, a change made meanwhile is replayed on reconnect', async () => {
    const [a, b] = [await server(), await server()];
    let getTo = a.origin;
    const client = await connectLegacy(a.url, { fetch: split(() => getTo, () => b.origin) });
    let changed = 0;
    client.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
    await sleep(300);
    getTo = b.origin; // the client's reconnect lands on B
    await a.kill('SIGKILL');
    await client.call('enable_toolset', { name: 'text' }); // while no stream is open anywhere
    await until(() => changed === 1, 8000, 'list_changed replayed after the reconnect');
    expect(await client.call('uppercase', { text: 'ok' })).toBe('OK');
    await client.close();
  });

  it('streams:foreign-id — a Last-Event-ID of another session or none of ours gets a clear 400, never events', async () => {
    const a = await server();
    const [one, other] = [await connectLegacy(a.url), await connectLegacy(a.url)];
    let otherToken: string | undefined;
    await other.client.callTool({ name: 'session_info', arguments: {} }, undefined, { onresumptiontoken: (t: string) => (otherToken = t) });
    expect(otherToken).toMatch(/^e1\./);
    for (const lastEventId of [otherToken as string, 'e1.000000000000._GET_stream.x.1', 'garbage']) {
      const response = await fetch(a.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': one.sessionId, 'mcp-protocol-version': '2025-11-25', 'last-event-id': lastEventId } });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('Last-Event-ID is not an event of this session');
    }
    await Promise.all([one.close(), other.close()]);
  });

  it('streams:bounded — the event log is trimmed, expires with the session and is gone after DELETE', async () => {
    const a = await server({ SESSION_IDLE_TTL: '1h' });
    const client = await connectLegacy(a.url);
    for (let i = 0; i < 70; i++) await client.call('session_info'); // two events each: priming + response
    const inspect = redis.client();
    const key = `mcp-continuity:session:{${client.sessionId}}:events`;
    await sleep(200);
    expect(await inspect.xlen(key)).toBe(100);
    const ttl = await inspect.pttl(key);
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    await client.transport.terminateSession();
    await sleep(200);
    expect(await redis.keys(`*${client.sessionId}*`)).toEqual([]);
    inspect.disconnect();
    await client.close();
  });

  it('streams:restore-quiet — a restore on another replica adds nothing to the event log (its replayed initialize goes to no client)', async () => {
    const [a, b] = [await server(), await server()];
    const client = await connectLegacy(a.url, { fetch: split(() => a.origin, () => a.origin) });
    await client.call('session_info');
    const inspect = redis.client();
    const key = `mcp-continuity:session:{${client.sessionId}}:events`;
    await sleep(200);
    const before = await inspect.xrange(key, '-', '+');
    const restored = await fetch(b.url, {
      method: 'POST',
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 77, method: 'tools/list' }),
    });
    await restored.text();
    await sleep(200);
    const added = (await inspect.xrange(key, '-', '+')).slice(before.length).map(([, f]) => f[f.indexOf('m') + 1] ?? '');
    // The priming event and the answer of this one call: nothing from the replayed initialize.
    expect(added).toHaveLength(2);
    expect(added.join('')).not.toContain('restore-');
    expect(added.join('')).not.toContain('protocolVersion');
    inspect.disconnect();
    await client.close();
  });

  it('streams:outage — while Redis is down calls keep working and a resume gets 503; once it is back, the events of that time reach the log', async () => {
    const a = await server({ REDIS_COMMAND_TIMEOUT: '300ms' });
    const client = await connectLegacy(a.url);
    const key = `mcp-continuity:session:{${client.sessionId}}:events`;
    let token: string | undefined;
    await client.client.callTool({ name: 'session_info', arguments: {} }, undefined, { onresumptiontoken: (t: string) => (token = t) });
    // One node: the server; a cluster: the master that holds this session's slot.
    const bringBack = await redis.stopKeepingData(key);
    // The call needs no data, so it works; its events wait on this replica for Redis.
    let during: string | undefined;
    await client.client.callTool({ name: 'session_info', arguments: {} }, undefined, { onresumptiontoken: (t: string) => (during = t) });
    expect(during).toMatch(/^e1\./);
    const resume = (last: string) => fetch(a.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25', 'last-event-id': last } });
    const refused = await resume(token as string);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    await bringBack();
    const inspect = redis.client();
    const deadline = Date.now() + 8000;
    let ids: string[] = [];
    while (!ids.includes(during as string) && Date.now() < deadline) {
      ids = (await inspect.xrange(key, '-', '+').catch(() => [])).map(([, fields]) => fields[1] as string);
      await sleep(100);
    }
    expect(ids).toContain(during);
    inspect.disconnect();
    await client.close();
  });
});
