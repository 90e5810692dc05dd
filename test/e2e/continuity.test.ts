// End to end: real server processes on a real redis-server and on a real 3-master Redis Cluster, the
// real SDK 1.32 client.
import { afterAll, describe, expect, it } from 'vitest';
import { connectLegacy, rawPost, roundRobinFetch } from '../support/clients.js';
import { ServerProcess } from '../support/server-process.js';
import { TOPOLOGIES, useTopology } from '../support/topologies.js';

const servers: ServerProcess[] = [];

async function server(env: Record<string, string> = {}, port?: number): Promise<ServerProcess> {
  const s = await ServerProcess.start({ env, ...(port ? { port } : {}) });
  servers.push(s);
  return s;
}

const info = async (call: (name: string) => Promise<string>) => JSON.parse(await call('session_info')) as { sessionId: string; restored: boolean; replica: { name: string } };

// Each suite stops its servers before its Redis goes (after hooks run last-registered first).
const stopServers = async () => void (await Promise.all(servers.splice(0).map((s) => s.kill())));

describe.each(TOPOLOGIES)('continuity across processes (%s)', (topology) => {
  const redis = useTopology(topology);
  afterAll(stopServers);

  it('hosting:restart — the same client keeps its scratchpad and toolset after the server is SIGKILLed and started again', async () => {
    const a = await server(redis.env());
    const client = await connectLegacy(a.url);
    await client.call('remember', { key: 'city', value: 'Lisbon' });
    await client.call('enable_toolset', { name: 'math' });
    expect(await client.call('add', { a: 2, b: 40 })).toBe('42');
    const before = await info((n) => client.call(n));

    await a.kill('SIGKILL');
    await a.restart();

    expect(await client.call('recall', { key: 'city' })).toBe('Lisbon');
    expect(await client.call('multiply', { a: 6, b: 7 })).toBe('42');
    const after = await info((n) => client.call(n));
    expect(after.sessionId).toBe(before.sessionId);
    expect(after.restored).toBe(true);
    expect(after.replica.name).not.toBe(before.replica.name); // a new process, a new name
    expect((await client.client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['add', 'multiply', 'remember']));
    expect(a.output).toContain('session restored');
    await client.close();
  });

  it('hosting:replicas — requests alternating between two processes see one session and its latest state', async () => {
    const a = await server(redis.env());
    const b = await server(redis.env());
    const client = await connectLegacy(a.url, { fetch: roundRobinFetch(() => [a.origin, b.origin]) });
    const names = new Set<string>();
    for (let i = 0; i < 6; i++) {
      await client.call('remember', { key: 'n', value: String(i) });
      expect(await client.call('recall', { key: 'n' })).toBe(String(i));
      names.add((await info((n) => client.call(n))).replica.name);
    }
    expect(names.size).toBe(2); // both processes served it
    await client.call('enable_toolset', { name: 'text' });
    expect(await client.call('uppercase', { text: 'abc' })).toBe('ABC');
    expect(await client.call('reverse', { text: 'abc' })).toBe('cba');
    await client.close();
  });

  it('hosting:delete — DELETE on one replica ends the session on the other too', async () => {
    const a = await server(redis.env());
    const b = await server(redis.env());
    let target = a.origin;
    const client = await connectLegacy(a.url, { fetch: roundRobinFetch(() => [target]) });
    await client.call('remember', { key: 'k', value: 'v' });
    target = b.origin;
    expect(await client.call('recall', { key: 'k' })).toBe('v'); // now live on b as well
    target = a.origin;
    await client.transport.terminateSession();

    const response = await rawPost(b.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: number } }).error.code).toBe(-32001);
    expect(await redis.keys(`*${client.sessionId}*`)).toEqual([]);
    await client.close();
  });

  it('hosting:sigterm — a graceful stop exits 0 and keeps every record', async () => {
    const a = await server(redis.env());
    const client = await connectLegacy(a.url);
    await client.call('remember', { key: 'k', value: 'kept' });
    expect(await a.kill('SIGTERM')).toBe(0);
    expect(a.output).toContain('stopping');
    await a.restart();
    expect(await client.call('recall', { key: 'k' })).toBe('kept');
    await client.close();
  });
});

describe('continuity without Redis', () => {
  afterAll(stopServers);

  it('hosting:memory — without Redis a restart loses the session and the client gets 404', async () => {
    const m = await server({});
    expect(m.output).toContain('in memory mode');
    const client = await connectLegacy(m.url);
    await client.call('remember', { key: 'k', value: 'v' });
    await m.kill('SIGKILL');
    await m.restart();
    await expect(client.call('recall', { key: 'k' })).rejects.toThrow(/404|Session not found/);
    await client.close();
  });
});
