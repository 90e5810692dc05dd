// The SSE path at its floor: a GET stream reads the event log only for events addressed to it (the
// answers of its session's calls are not), wherever it is held, while notifications still reach it and
// a request stream resumed on another replica, even right after the cut, still gets its answer. On one
// redis-server and on a 3-master cluster (where each session's script announces its own events).
import { setTimeout as sleep } from 'node:timers/promises';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Cluster, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, type LegacyClient } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { TestRedisCluster } from '../support/redis-cluster.js';
import { ServerProcess } from '../support/server-process.js';

/** A Redis to run on: server env, a client to inspect keys, and one connection per node for MONITOR. */
interface Topology {
  readonly env: Record<string, string>;
  readonly probe: Redis | Cluster;
  readonly nodes: () => Redis[];
  close(): Promise<void>;
}

const topologies: Array<[string, () => Promise<Topology>]> = [
  [
    'one node',
    async () => {
      const redis = await TestRedis.start();
      const probe = redis.client();
      return { env: { REDIS_URL: redis.url }, probe, nodes: () => [redis.client()], close: async () => {
          probe.disconnect();
          await redis.close();
        } };
    },
  ],
  [
    'cluster',
    async () => {
      const cluster = await TestRedisCluster.start();
      const probe = new Cluster([{ host: '127.0.0.1', port: cluster.ports[0] as number }]);
      probe.on('error', () => {}); // nodes stop before the probe has noticed it was told to go
      return { env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' }, probe, nodes: () => cluster.ports.map((port) => cluster.node(port)), close: async () => {
          probe.disconnect();
          await cluster.close();
        } };
    },
  ],
];

/** GET streams to `get`, every POST to `post`. */
function split(get: () => string, post: () => string): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    return fetch(new URL(url.pathname + url.search, (init?.method ?? 'GET').toUpperCase() === 'GET' ? get() : post()), init);
  };
}

const eventsKey = (id: string) => `mcp-continuity:session:{${id}}:events`;

describe.each(topologies)('SSE at its floor: %s', (_name, start) => {
  let redis: Topology;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    redis = await start();
    [a, b] = await Promise.all([ServerProcess.start({ env: redis.env }), ServerProcess.start({ env: redis.env })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await redis?.close();
  });

  /** Waits until the session's log holds its GET stream's priming event: the stream is registered by then. */
  async function getStreamOpen(id: string): Promise<void> {
    await expect.poll(async () => JSON.stringify(await redis.probe.xrange(eventsKey(id), '-', '+')), { timeout: 5000, interval: 20 }).toContain('_GET_stream');
  }

  /** XRANGE commands clients (the replicas) send while `body` runs, through MONITOR on every node; scripts' own reads are not counted. */
  async function clientXranges(body: () => Promise<void>): Promise<number> {
    const nodes = redis.nodes();
    const monitors = await Promise.all(nodes.map((node) => node.monitor()));
    for (const node of nodes) node.disconnect(); // MONITOR runs on a connection of its own
    let reads = 0;
    for (const monitor of monitors) {
      monitor.on('error', () => {});
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source !== 'lua' && (args[0] ?? '').toLowerCase() === 'xrange') reads++;
      });
    }
    try {
      await body();
      await sleep(300); // the last flush, its announcement, any read it would cause
      return reads;
    } finally {
      for (const monitor of monitors) monitor.disconnect();
    }
  }

  const logLength = async (clients: LegacyClient[]) => (await Promise.all(clients.map((c) => redis.probe.xlen(eventsKey(c.sessionId))))).reduce((sum, n) => sum + n, 0);

  it('sse-floor:get-sleeps — GET streams on the same and on another replica read nothing for their calls\' answers, and still get a notification', async () => {
    // Calls always on A; one session's GET stream on A, the other's on B.
    const same = await connectLegacy(a.url, { fetch: split(() => a.origin, () => a.origin) });
    const other = await connectLegacy(a.url, { fetch: split(() => b.origin, () => a.origin) });
    const clients: LegacyClient[] = [same, other];
    const changed = [0, 0];
    clients.forEach((c, n) => c.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void (changed[n] = (changed[n] ?? 0) + 1)));
    for (const c of clients) await getStreamOpen(c.sessionId);
    const before = await logLength(clients);

    const quiet = await clientXranges(async () => {
      for (let i = 0; i < 15; i++) await Promise.all(clients.map((c) => c.call('session_info')));
    });
    // The answers were logged (resumable anywhere), yet no GET stream read the log for them.
    expect((await logLength(clients)) - before).toBeGreaterThanOrEqual(30);
    expect(quiet).toBe(0);

    // A notification is for the GET stream: it reads the log and delivers it, on either replica.
    const loud = await clientXranges(async () => {
      for (const c of clients) await c.call('enable_toolset', { name: 'math' });
      await expect.poll(() => changed.join(','), { timeout: 5000, interval: 20 }).toBe('1,1');
    });
    expect(loud).toBeGreaterThan(0);
    for (const c of clients) await c.close();
  });

  it('sse-floor:resume-at-once — a call\'s POST stream cut right after its priming event and resumed at once on another replica gets its answer there', async () => {
    const client = await connectLegacy(a.url);
    const headers = { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' };
    // B knows the session already, so the resume below is not slowed by a restore.
    const warm = await fetch(b.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 'warm', method: 'tools/call', params: { name: 'session_info', arguments: {} } }) });
    expect(await warm.text()).toContain('"id":"warm"');
    const cut = new AbortController();
    const post = await fetch(a.url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: 'countdown', arguments: { seconds: 1 } } }), signal: cut.signal });
    expect(post.headers.get('content-type')).toContain('text/event-stream');
    const reader = (post.body as ReadableStream<Uint8Array>).getReader();
    let first = '';
    while (!first.includes('\n\n')) first += new TextDecoder().decode((await reader.read()).value);
    const primed = /^id: (.+)$/m.exec(first)?.[1] as string;
    expect(primed).toBeTruthy();
    cut.abort(); // the connection drops before the answer

    // At once, on B: the writer may still hold the priming event; B waits for it instead of a 400.
    const resumed = await fetch(b.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25', 'last-event-id': primed }, signal: AbortSignal.timeout(10_000) });
    expect(resumed.status).toBe(200);
    let body = '';
    const decoder = new TextDecoder();
    for await (const chunk of resumed.body as ReadableStream<Uint8Array>) {
      body += decoder.decode(chunk, { stream: true });
      if (body.includes('"slow-1"')) break;
    }
    expect(body).toContain('"id":"slow-1"');
    expect(body).toContain('done');
    await client.close();
  });
});
