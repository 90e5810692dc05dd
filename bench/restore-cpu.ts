// Profiling aid, run as `node --import tsx bench/restore-cpu.ts`: CPU per restore and per warm call of the
// session host itself (in process, memory store, JSON answers: no HTTP, no Redis, no client in the figure).
import { pino } from 'pino';
import { MemorySessionStore } from '../app/sessions/memory-store.js';
import { testHost } from '../test/support/host.js';

const N = Number(process.env.RESTORES ?? 2000);
const URL_ = 'http://127.0.0.1/mcp';
const HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
const logger = pino({ level: 'silent' });
const store = new MemorySessionStore();
const post = (body: unknown, id?: string) =>
  new Request(URL_, { method: 'POST', headers: { ...HEADERS, ...(id ? { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' } : {}) }, body: JSON.stringify(body) });

const origin = testHost(store, logger, { maxLiveSessions: N + 10 });
const ids: string[] = [];
for (let i = 0; i < N; i++) {
  const init = await origin.handle(post({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'cpu', version: '1' } } }));
  await init.text();
  const id = init.headers.get('mcp-session-id') as string;
  await (await origin.handle(post({ jsonrpc: '2.0', method: 'notifications/initialized' }, id))).text();
  await (await origin.handle(post({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'remember', arguments: { key: 'k', value: 'v' } } }, id))).text();
  ids.push(id);
}
await origin.close();

const fresh = testHost(store, logger, { maxLiveSessions: N + 10 });
const call = async (id: string) => {
  const r = await fresh.handle(post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'recall', arguments: { key: 'k' } } }, id));
  const text = await r.text();
  if (!text.includes('"v"')) throw new Error(`unexpected answer: ${text.slice(0, 200)}`);
};
const cpu = async (label: string, list: readonly string[]) => {
  const before = process.cpuUsage();
  const wall = performance.now();
  for (const id of list) await call(id);
  const used = process.cpuUsage(before);
  const ms = (used.user + used.system) / 1000 / list.length;
  process.stdout.write(`${label.padEnd(28)} ${ms.toFixed(3)} ms CPU, ${((performance.now() - wall) / list.length).toFixed(3)} ms wall per call\n`);
  return ms;
};
const half = Math.floor(N / 2);
await cpu('restore (first half, cold)', ids.slice(0, half));
const restore = await cpu('restore (second half)', ids.slice(half));
const warm = await cpu('warm (same sessions)', ids.slice(half));
process.stdout.write(`restore over warm: ${(restore - warm).toFixed(3)} ms CPU per call (${fresh.stats.restores} restores)\n`);
await fresh.close();
process.exit(0);
