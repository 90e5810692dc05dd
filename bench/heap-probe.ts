// Benchmark probe, run as `node --expose-gc --import tsx bench/heap-probe.ts`: heap per live session.
// The server runs in this process so its heap can be read after a full GC; client garbage is collected too.
import { pino } from 'pino';
import { loadConfig } from '../app/config.js';
import { startServer } from '../app/server.js';
import { callTool, openSession, pool } from './workload.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const count = Number(process.env.HEAP_SESSIONS ?? 1000);

const settle = async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
  }
  return process.memoryUsage().heapUsed;
};

const env: Record<string, string> = { PORT: '0', MCP_RESPONSE_MODE: 'json', LOG_LEVEL: 'silent', SESSION_KEY_PREFIX: 'heap-probe:' };
if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
const server = await startServer(loadConfig(env), { logger: pino({ level: 'silent' }) });
// Warm every code path first, so what grows afterwards is the sessions themselves.
await pool(Array.from({ length: 50 }), 10, async () => callTool(server.url, await openSession(server.url), 'remember', { key: 'k', value: 'v' }));
const before = await settle();
const live = server.host.stats.liveSessions;
await pool(Array.from({ length: count }), 20, async () => callTool(server.url, await openSession(server.url), 'remember', { key: 'k', value: 'v' }));
const after = await settle();
const added = server.host.stats.liveSessions - live;
process.stdout.write(`${JSON.stringify({ mode: server.mode, sessions: added, bytesPerSession: Math.round((after - before) / added), heapUsedMB: Math.round(after / 1e5) / 10 })}\n`);
await server.close();
process.exit(0);
