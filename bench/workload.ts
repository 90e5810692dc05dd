// Benchmark load: raw JSON-RPC over fetch (keep-alive), sessions opened by hand, latencies and percentiles.
// Raw fetch rather than SDK clients so the client side stays cheap and the server is the bottleneck.
import { readFileSync } from 'node:fs';

const HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const VERSION = '2025-06-18';
let nextId = 1;

function post(url: string, body: unknown, sessionId?: string): Promise<Response> {
  const headers: Record<string, string> = { ...HEADERS, ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': VERSION } : {}) };
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** initialize + notifications/initialized; returns the session id. */
export async function openSession(url: string): Promise<string> {
  const init = await post(url, { jsonrpc: '2.0', id: nextId++, method: 'initialize', params: { protocolVersion: VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } } });
  await init.text();
  const id = init.headers.get('mcp-session-id');
  if (init.status !== 200 || !id) throw new Error(`initialize answered ${init.status}`);
  const done = await post(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, id);
  await done.text();
  return id;
}

/** One tools/call; resolves its latency in ms, or throws on anything but a successful result. */
export async function callTool(url: string, sessionId: string, name: string, args: Record<string, unknown>): Promise<number> {
  const started = performance.now();
  const response = await post(url, { jsonrpc: '2.0', id: nextId++, method: 'tools/call', params: { name, arguments: args } }, sessionId);
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200 || text.includes('"isError":true') || text.includes('"error"')) throw new Error(`${name} answered ${response.status}: ${text.slice(0, 200)}`);
  return ms;
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await task(items[i] as T);
      }
    }),
  );
  return results;
}

export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

/** What a warm call touches: `session_info` needs no session data, `recall` reads one key. */
export type WarmCall = 'no-data' | 'data';
const CALLS: Record<WarmCall, [string, Record<string, unknown>]> = { 'no-data': ['session_info', {}], data: ['recall', { key: 'k' }] };

/** Every session loops one call back to back for `ms`: K requests in flight at all times. */
export async function closedLoop(url: string, sessions: readonly string[], ms: number, call: WarmCall = 'data'): Promise<LoadResult> {
  const [name, args] = CALLS[call];
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + ms;
  await Promise.all(
    sessions.map(async (id) => {
      while (performance.now() < deadline) {
        try {
          latencies.push(await callTool(url, id, name, args));
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { requests: latencies.length, errors, seconds, perSecond: latencies.length / seconds, ...percentiles(latencies) };
}

export function percentiles(values: readonly number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  return { p50: at(50), p99: at(99) };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
