// Redis commands per call in the default SSE mode (`npm run bench -- --sse-only`): a no-data call
// without and with a GET stream open (on the same replica or another one), and a data call, one run.
import type { Redis } from 'ioredis';
import type { TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { percentiles, pool } from './workload.js';

/** The protocol version current SDK clients negotiate: its POST streams open with a priming event. */
const VERSION = '2025-11-25';
let nextId = 1;

async function post(url: string, body: unknown, sessionId?: string): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': VERSION } : {}) };
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
}

async function openSession(url: string): Promise<string> {
  const init = await post(url, { jsonrpc: '2.0', id: nextId++, method: 'initialize', params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } } });
  await init.text();
  const id = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !id) throw new Error(`initialize answered ${init.status}`);
  await (await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, id)).text();
  return id;
}

async function call(url: string, sessionId: string, name: string, args: Record<string, unknown>): Promise<number> {
  const started = performance.now();
  const response = await post(url, { jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } }, sessionId);
  const text = await response.text();
  if (response.status !== 200 || text.includes('"isError":true') || !text.includes('"result"')) throw new Error(`${name} answered ${response.status}: ${text.slice(0, 200)}`);
  return performance.now() - started;
}

/**
 * Counts what Redis runs while `body` runs, through MONITOR: commands clients sent (round trips, by
 * name) and commands scripts ran inside them (INFO commandstats counts both alike).
 */
async function counted<T>(probe: Redis, body: () => Promise<T>): Promise<{ result: T; sent: Record<string, number>; inScripts: number }> {
  const monitor = await probe.duplicate().monitor();
  const sent: Record<string, number> = {};
  let inScripts = 0;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const name = (args[0] ?? '').toLowerCase();
    if (source === 'lua') inScripts++;
    else if (name !== 'info' && name !== 'monitor') sent[name] = (sent[name] ?? 0) + 1;
  });
  try {
    const result = await body();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the last flush, and MONITOR's backlog
    return { result, sent, inScripts };
  } finally {
    monitor.disconnect();
  }
}

/** A GET stream held open and read (discarded) until closed. */
async function holdStream(url: string, sessionId: string): Promise<() => void> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': VERSION }, signal: abort.signal });
  if (response.status !== 200 || !response.body) throw new Error(`GET stream answered ${response.status}`);
  const reader = response.body.getReader();
  await reader.read(); // the priming event: the stream is registered
  void (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // aborted
    }
  })();
  return () => abort.abort();
}

export interface SseScenario {
  readonly requests: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** Commands the replicas sent per call (round trips; a script is one). */
  readonly commandsPerCall: number;
  /** The same by name (`evalsha`, `publish`, `xrange`, ...). */
  readonly byCommand: Record<string, number>;
  /** Commands scripts ran inside them, per call (what INFO commandstats adds to the above). */
  readonly inScriptsPerCall: number;
}

export interface SseFloorFigures {
  readonly noData: SseScenario;
  readonly noDataGetSameReplica: SseScenario;
  readonly noDataGetOtherReplica: SseScenario;
  readonly dataGetSameReplica: SseScenario;
}

/** `sessions` clients loop one call each for `ms` per scenario against replica A; B only holds streams. */
export async function sseFloor(redis: TestRedis, probe: Redis, o: { sessions: number; ms: number }): Promise<SseFloorFigures> {
  const env = { MCP_RESPONSE_MODE: 'sse', SESSION_CREATE_RATE: 'off', LOG_LEVEL: 'info', SESSION_KEY_PREFIX: 'bench-sse:', REDIS_URL: redis.url };
  const [a, b] = [await ServerProcess.start({ env }), await ServerProcess.start({ env })];
  try {
    const scenario = async (kind: 'no-data' | 'data', streamsOn: ServerProcess | undefined): Promise<SseScenario> => {
      const ids = await pool(Array.from({ length: o.sessions }), 10, () => openSession(a.url));
      await pool(ids, 10, (id) => call(a.url, id, 'remember', { key: 'k', value: 'v' }));
      const closers = streamsOn ? await pool(ids, 10, (id) => holdStream(streamsOn.url, id)) : [];
      const [name, args] = kind === 'data' ? ['recall', { key: 'k' }] as const : ['session_info', {}] as const;
      try {
        await loop(a.url, ids, Math.min(1000, o.ms / 2), name, args); // warm-up: JIT, connections
        await new Promise((resolve) => setTimeout(resolve, 100));
        const { result: load, sent, inScripts } = await counted(probe, () => loop(a.url, ids, o.ms, name, args));
        const per = (n: number) => Number((n / load.requests).toFixed(4));
        const byCommand = Object.fromEntries(Object.entries(sent).map(([c, n]) => [c, per(n)]));
        const commandsPerCall = per(Object.values(sent).reduce((s, n) => s + n, 0));
        return { requests: load.requests, perSecond: load.perSecond, p50: load.p50, p99: load.p99, commandsPerCall, byCommand, inScriptsPerCall: per(inScripts) };
      } finally {
        for (const close of closers) close();
      }
    };
    return {
      noData: await scenario('no-data', undefined),
      noDataGetSameReplica: await scenario('no-data', a),
      noDataGetOtherReplica: await scenario('no-data', b),
      dataGetSameReplica: await scenario('data', a),
    };
  } finally {
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL')]);
  }
}

/** Every session loops `name` back to back for `ms`. */
async function loop(url: string, ids: readonly string[], ms: number, name: string, args: Record<string, unknown>) {
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    ids.map(async (id) => {
      while (performance.now() - started < ms) latencies.push(await call(url, id, name, args));
    }),
  );
  return { requests: latencies.length, perSecond: latencies.length / ((performance.now() - started) / 1000), ...percentiles(latencies) };
}

export function describeSseFloor(f: SseFloorFigures): string {
  const one = (name: string, s: SseScenario) =>
    `${name} ${s.commandsPerCall} sent (${Object.entries(s.byCommand).map(([c, n]) => `${c} ${n}`).join(', ')}) + ${s.inScriptsPerCall} in scripts; ${Math.round(s.perSecond)} req/s, p50 ${s.p50.toFixed(1)} ms`;
  return [
    one('no-data, no GET stream', f.noData),
    one('no-data, GET stream on the same replica', f.noDataGetSameReplica),
    one('no-data, GET stream on another replica', f.noDataGetOtherReplica),
    one('data (recall), GET stream on the same replica', f.dataGetSameReplica),
  ].join('; ');
}
