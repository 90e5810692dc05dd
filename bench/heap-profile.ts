// Profiling aid, run as `node --expose-gc --import tsx bench/heap-profile.ts`: where a live session's heap goes.
// Two heap snapshots (before and after HEAP_SESSIONS sessions, each having made one call), diffed by constructor.
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { loadConfig } from '../app/config.js';
import { startServer } from '../app/server.js';
import { callTool, openSession, pool } from './workload.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const count = Number(process.env.HEAP_SESSIONS ?? 1000);

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per "type:name" of every node in a snapshot. */
function byConstructor(file: string): Map<string, { size: number; count: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [t, n, s] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + t] as number];
    const raw = snap.strings[snap.nodes[i + n] as number] ?? '';
    const name = type === 'object' || type === 'closure' || type === 'native' ? raw : type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '(string)' : raw.slice(0, 40);
    const key = `${type}:${name}`;
    const entry = out.get(key) ?? { size: 0, count: 0 };
    entry.size += snap.nodes[i + s] as number;
    entry.count++;
    out.set(key, entry);
  }
  return out;
}

const snapshot = async (label: string) => {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    gc();
  }
  return writeHeapSnapshot(join(tmpdir(), `heap-profile-${label}-${process.pid}.heapsnapshot`));
};

const env: Record<string, string> = { PORT: '0', MCP_RESPONSE_MODE: process.env.MCP_RESPONSE_MODE ?? 'json', LOG_LEVEL: 'silent', SESSION_KEY_PREFIX: 'heap-profile:', MAX_LIVE_SESSIONS: String(count * 2) };
if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
const server = await startServer(loadConfig(env), { logger: pino({ level: 'silent' }) });
await pool(Array.from({ length: 50 }), 10, async () => callTool(server.url, await openSession(server.url), 'remember', { key: 'k', value: 'v' }));
const beforeFile = await snapshot('before');
const live = server.host.stats.liveSessions;
// CALLS calls per session (default 1): what a session keeps per call it made shows as growth with it.
const calls = Number(process.env.HEAP_CALLS ?? 1);
const opened = await pool(Array.from({ length: count }), 20, () => openSession(server.url));
for (let i = 0; i < calls; i++) await pool(opened, 20, (id) => callTool(server.url, id, i % 2 === 0 ? 'remember' : 'session_info', { key: 'k', value: 'v' }));
const afterFile = await snapshot('after');
const added = server.host.stats.liveSessions - live;
await server.close();
const before = byConstructor(beforeFile);
const after = byConstructor(afterFile);
rmSync(beforeFile);
rmSync(afterFile);
const rows = [...after].map(([key, a]) => ({ key, bytes: a.size - (before.get(key)?.size ?? 0), count: a.count - (before.get(key)?.count ?? 0) }));
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((sum, r) => sum + r.bytes, 0);
process.stdout.write(`sessions ${added}, heap growth ${Math.round(total / added)} B per session\n`);
for (const r of rows.slice(0, Number(process.env.HEAP_ROWS ?? 40))) process.stdout.write(`${String(Math.round(r.bytes / added)).padStart(7)} B ${(r.count / added).toFixed(1).padStart(6)}x  ${r.key}\n`);
process.exit(0);
