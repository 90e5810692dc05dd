// Stream figures for `npm run bench`: cross-replica notification latency, and replay of missed events.
import type { Redis } from 'ioredis';
import type { TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { callTool, openSession, percentiles } from './workload.js';

const VERSION = '2025-11-25';

/** Opens a GET stream and resolves, for each wanted text, when it first appears in the stream. */
async function openStream(url: string, sessionId: string, headers: Record<string, string> = {}) {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': VERSION, ...headers }, signal: abort.signal });
  if (response.status !== 200 || !response.body) throw new Error(`GET stream answered ${response.status}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    /** Waits until `count` occurrences of `needle` have arrived; resolves the time it happened. */
    async waitFor(needle: string, count = 1): Promise<number> {
      while (text.split(needle).length - 1 < count) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += decoder.decode(value, { stream: true });
      }
      return performance.now();
    },
    close: () => abort.abort(),
  };
}

export interface StreamFigures {
  /** A list_changed caused on replica B, seen on a GET stream held by replica A. */
  readonly notificationLatency: { p50: number; p99: number; samples: number };
  /** A GET with Last-Event-ID on a replica that never saw the session, 100 events behind. */
  readonly replay100: { p50: number; p99: number; samples: number };
}

export async function streams(redis: TestRedis, probe: Redis, samples: number): Promise<StreamFigures> {
  const env = { MCP_RESPONSE_MODE: 'sse', LOG_LEVEL: 'info', SESSION_KEY_PREFIX: 'bench-streams:', REDIS_URL: redis.url };
  const [a, b] = [await ServerProcess.start({ env }), await ServerProcess.start({ env })];
  try {
    const latencies: number[] = [];
    for (let i = 0; i < samples; i++) {
      const id = await openSession(b.url);
      const stream = await openStream(a.url, id);
      await stream.waitFor('retry:');
      const started = performance.now();
      const arrived = stream.waitFor('notifications/tools/list_changed');
      await callTool(b.url, id, 'enable_toolset', { name: 'math' });
      latencies.push((await arrived) - started);
      stream.close();
    }
    const replays: number[] = [];
    for (let i = 0; i < Math.max(5, Math.floor(samples / 5)); i++) {
      const id = await openSession(b.url);
      const first = await openStream(b.url, id);
      await first.waitFor('retry:');
      first.close();
      // 100 standalone notifications the client missed, as replicas would have logged them.
      const key = `bench-streams:session:{${id}}:events`;
      // The GET stream's priming event (the log also holds the initialize's POST stream).
      let fields: string[] = [];
      for (let tries = 0; fields.length === 0 && tries < 100; tries++) {
        fields = (await probe.xrange(key, '-', '+')).map(([, f]) => f).find((f) => f[f.indexOf('s') + 1] === '_GET_stream') ?? [];
        if (fields.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const primed = fields[fields.indexOf('i') + 1] as string;
      const tag = primed.split('.')[1];
      const pipeline = probe.pipeline();
      for (let n = 1; n <= 100; n++) {
        const message = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: `missed ${n}` } });
        pipeline.xadd(key, '*', 'i', `e1.${tag}._GET_stream.bench.${n.toString(36)}`, 's', '_GET_stream', 'm', message);
      }
      await pipeline.exec();
      const started = performance.now();
      const resumed = await openStream(a.url, id, { 'last-event-id': primed });
      replays.push((await resumed.waitFor('missed ', 100)) - started);
      resumed.close();
    }
    return { notificationLatency: { ...percentiles(latencies), samples: latencies.length }, replay100: { ...percentiles(replays), samples: replays.length } };
  } finally {
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL')]);
  }
}
