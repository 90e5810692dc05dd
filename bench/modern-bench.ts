// 2026-07-28 era figures for `npm run bench`: a modern warm call vs a legacy one (same tool, same process),
// Redis round trips per modern data call on a handle, and resources/updated from replica B to listeners on A.
import type { Redis } from 'ioredis';
import type { TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { callTool, openSession, percentiles, pool, type LoadResult } from './workload.js';

const META = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1.0.0' }, 'io.modelcontextprotocol/clientCapabilities': {} };
let nextId = 1;

/** One raw 2026-07-28 request (the headers the spec wants: version, method, tool name). */
function modernPost(url: string, method: string, params: Record<string, unknown>): Promise<Response> {
  const name: Record<string, string> = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
  return fetch(url, {
    method: 'POST',
    headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...name },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params: { ...params, _meta: META } }),
  });
}

async function modernCall(url: string, name: string, args: Record<string, unknown>): Promise<{ ms: number; body: string }> {
  const started = performance.now();
  const response = await modernPost(url, 'tools/call', { name, arguments: args });
  const body = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200 || body.includes('"isError":true') || body.includes('"error"')) throw new Error(`${name} answered ${response.status}: ${body.slice(0, 200)}`);
  return { ms, body };
}

/** `loops` concurrent loops of `call` for `ms`. */
async function loop(loops: number, ms: number, call: () => Promise<number>): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (performance.now() < deadline) {
        try {
          latencies.push(await call());
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { requests: latencies.length, errors, seconds, perSecond: latencies.length / seconds, ...percentiles(latencies) };
}

/** Commands clients sent (not the ones scripts ran inside Redis), heartbeat PUBLISHes excluded, while `task` runs. */
async function roundTrips(redis: TestRedis, task: () => Promise<void>): Promise<Record<string, number>> {
  const monitor = await redis.client().monitor();
  const counts: Record<string, number> = {};
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    const command = String(args[0]).toLowerCase();
    if (source === 'lua' || command === 'monitor' || (command === 'publish' && String(args[1]).includes('heartbeat'))) return;
    counts[command] = (counts[command] ?? 0) + 1;
  });
  await new Promise((resolve) => setTimeout(resolve, 100));
  await task();
  await new Promise((resolve) => setTimeout(resolve, 100));
  monitor.disconnect();
  return counts;
}

/** Opens a raw listen on `uri`; resolves once acknowledged, with the arrival times of resources/updated. */
async function listen(url: string, uri: string): Promise<{ arrivals: number[]; close: () => void }> {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    signal: abort.signal,
    headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'subscriptions/listen' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: [uri] }, _meta: META } }),
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const arrivals: number[] = [];
  let acknowledged: () => void = () => {};
  const ready = new Promise<void>((resolve) => (acknowledged = resolve));
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        const now = performance.now();
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.includes('notifications/subscriptions/acknowledged')) acknowledged();
          if (frame.includes('notifications/resources/updated')) arrivals.push(now);
        }
      }
    } catch {
      // aborted
    }
  })();
  await ready;
  return { arrivals, close: () => abort.abort() };
}

export interface ModernFigures {
  readonly warm: { legacy: LoadResult; modern: LoadResult; throughputRatio: number; rounds: number };
  /** Client→Redis commands per modern call on a handle, by command (script-internal ones not counted). */
  readonly roundTripsPerCall: { recall: Record<string, number>; remember: Record<string, number> };
  readonly listen: { listeners: number; samples: number; p50: number; p99: number; missed: number };
}

export async function modern(redis: TestRedis, options: { loops: number; ms: number; rounds: number; listeners: number; samples: number }): Promise<ModernFigures> {
  const env = { MCP_RESPONSE_MODE: 'json', SESSION_CREATE_RATE: 'off', LOG_LEVEL: 'info', SESSION_KEY_PREFIX: 'bench-modern:', REDIS_URL: redis.url };
  const [a, b] = [await ServerProcess.start({ env }), await ServerProcess.start({ env })];
  try {
    // Warm: the same tool (session_info, no data) on the same process, legacy sessions vs modern requests, in turns.
    const sessions = await pool(Array.from({ length: options.loops }), 10, () => openSession(a.url));
    let turn = 0;
    const legacyCall = () => callTool(a.url, sessions[turn++ % sessions.length] as string, 'session_info', {});
    const modernOnce = async () => (await modernCall(a.url, 'session_info', {})).ms;
    await loop(options.loops, Math.min(2000, options.ms / 2), legacyCall);
    await loop(options.loops, Math.min(2000, options.ms / 2), modernOnce);
    const legacyRounds: LoadResult[] = [];
    const modernRounds: LoadResult[] = [];
    for (let round = 0; round < options.rounds; round++) {
      legacyRounds.push(await loop(options.loops, options.ms, legacyCall));
      modernRounds.push(await loop(options.loops, options.ms, modernOnce));
    }
    const median = (rounds: LoadResult[]) => [...rounds].sort((x, y) => x.perSecond - y.perSecond)[Math.floor(rounds.length / 2)] as LoadResult;
    const warm = { legacy: median(legacyRounds), modern: median(modernRounds), rounds: options.rounds, throughputRatio: 0 };
    warm.throughputRatio = warm.modern.perSecond / warm.legacy.perSecond;

    // Round trips per data call on a handle.
    const opened = await modernCall(a.url, 'scratchpad_open', {});
    const handle = (JSON.parse(opened.body) as { result: { structuredContent: { scratchpad: string } } }).result.structuredContent.scratchpad;
    await modernCall(a.url, 'remember', { key: 'k', value: 'v', scratchpad: handle });
    const N = 100;
    const perCall = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / N]));
    const recall = perCall(await roundTrips(redis, async () => {
      for (let i = 0; i < N; i++) await modernCall(b.url, 'recall', { key: 'k', scratchpad: handle });
    }));
    const remember = perCall(await roundTrips(redis, async () => {
      for (let i = 0; i < N; i++) await modernCall(b.url, 'remember', { key: 'k', value: `v${i}`, scratchpad: handle });
    }));

    // resources/updated: listeners on a, the change on b.
    const listeners = await pool(Array.from({ length: options.listeners }), 20, () => listen(a.url, `scratchpad://${handle}`));
    const latencies: number[] = [];
    let missed = 0;
    for (let i = 0; i < options.samples; i++) {
      const before = listeners.map((l) => l.arrivals.length);
      const sent = performance.now();
      await modernCall(b.url, 'remember', { key: 'k', value: `s${i}`, scratchpad: handle });
      const deadline = performance.now() + 1000;
      while (listeners.some((l, j) => l.arrivals.length === before[j]) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
      listeners.forEach((l, j) => {
        const at = l.arrivals[before[j] as number];
        if (at === undefined) missed++;
        else latencies.push(at - sent);
      });
    }
    for (const l of listeners) l.close();
    return { warm, roundTripsPerCall: { recall, remember }, listen: { listeners: options.listeners, samples: options.samples, ...percentiles(latencies), missed } };
  } finally {
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL')]);
  }
}
