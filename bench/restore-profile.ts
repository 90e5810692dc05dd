// Profiling aid, run as `node --import tsx bench/restore-profile.ts` with REDIS_URL: where a storm of restores spends its CPU.
// Sessions are created on one in-process server and restored (one call each, all at once) by a second one, under the V8 profiler.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { loadConfig } from '../app/config.js';
import { startServer } from '../app/server.js';
import { callTool, openSession, pool } from './workload.js';

const count = Number(process.env.STORM ?? 1000);
if (!process.env.REDIS_URL) throw new Error('set REDIS_URL');
const env = { PORT: '0', LOG_LEVEL: 'silent', SESSION_CREATE_RATE: 'off', SESSION_KEY_PREFIX: `restore-profile-${process.pid}:`, REDIS_URL: process.env.REDIS_URL, ...(process.env.MCP_RESPONSE_MODE ? { MCP_RESPONSE_MODE: process.env.MCP_RESPONSE_MODE } : {}) };
const origin = await startServer(loadConfig(env), { logger: pino({ level: 'silent' }) });
const ids = await pool(Array.from({ length: count + 50 }), 20, () => openSession(origin.url));
await pool(ids, 20, (id) => callTool(origin.url, id, 'remember', { key: 'k', value: 'v' }));
await origin.close();
const fresh = await startServer(loadConfig(env), { logger: pino({ level: 'silent' }) });
// Warm the restore path (JIT) on a few sessions first: the profile is of the steady cost, the storm figure of both.
await pool(ids.slice(count), 5, (id) => callTool(fresh.url, id, 'recall', { key: 'k' }));
const inspector = new Session();
inspector.connect();
await inspector.post('Profiler.enable');
await inspector.post('Profiler.start');
const started = performance.now();
await Promise.all(ids.slice(0, count).map((id) => callTool(fresh.url, id, 'recall', { key: 'k' })));
const ms = performance.now() - started;
const { profile } = await inspector.post('Profiler.stop');
await fresh.close();
if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(profile));
const self = new Map<string, number>();
const dt = (profile.endTime - profile.startTime) / (profile.samples?.length ?? 1) / 1000;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
for (const id of profile.samples ?? []) {
  const node = byId.get(id);
  if (!node) continue;
  const f = node.callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*wt-scale10k\//, '')}:${f.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + dt);
}
const rows = [...self].sort((a, b) => b[1] - a[1]);
process.stdout.write(`storm of ${count} restores (client in the same process): ${Math.round(ms)} ms\n`);
for (const [key, spent] of rows.slice(0, Number(process.env.ROWS ?? 30))) process.stdout.write(`${spent.toFixed(1).padStart(8)} ms  ${key}\n`);
process.exit(0);
