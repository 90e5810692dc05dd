// Benchmark reference only: the "load and save the whole session on every request" design (GET +
// replay + SET). Built from the same LiveSession and replay pieces as the real server; no live cache,
// no channel. Each request works on an in-process copy that is written back whole afterwards.
import { MemoryScratchpadStore } from '../app/sessions/scratchpad-store.js';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../app/config.js';
import { jsonRpcError } from '../app/http/errors.js';
import { EventLog } from '../app/mcp/event-log.js';
import { LiveSession, type LiveSessionHost } from '../app/mcp/live-session.js';
import { PeerRouter } from '../app/mcp/peer-routing.js';
import { ToolCatalog } from '../app/mcp/tool-catalog.js';
import type { DataValue } from '../app/sessions/data.js';
import { MemorySessionStore } from '../app/sessions/memory-store.js';
import { helloFromInitialize, type SessionShape } from '../app/sessions/shape.js';

const config = loadConfig();
if (!config.redisUrl) throw new Error('the naive reference server needs REDIS_URL');
const redis = new Redis(config.redisUrl);
const key = (id: string) => `${config.keyPrefix}naive:${id}`;

interface Blob {
  readonly shape: SessionShape;
  readonly data: Record<string, DataValue>;
}

function live(store: MemorySessionStore, init: ConstructorParameters<typeof LiveSession>[0]): LiveSession {
  const host: LiveSessionHost = {
    store,
    scratchpads: new MemoryScratchpadStore({ lifetime: { idleMs: config.idleTtlMs, maxMs: config.maxTtlMs } }),
    events: new EventLog(store, pino({ level: 'silent' })),
    retryMs: 1000,
    replica: { name: 'naive' },
    // Built per request, as that design registers every tool per request.
    tools: new ToolCatalog({ name: 'naive' }, 'for a while'),
    responseMode: config.responseMode,
    peers: new PeerRouter({ store, logger: pino({ level: 'silent' }), find: () => undefined }),
    ttlMs: () => config.idleTtlMs,
    ensureStored: async () => {},
    onDeleted: async (s) => void (await redis.del(key(s.id))),
    onGone: () => {},
  };
  return new LiveSession(init, host);
}

/** Writes the request's copy back whole: last writer wins, as in the designs this stands for. */
async function save(store: MemorySessionStore, id: string): Promise<void> {
  const loaded = await store.load(id);
  if (loaded.status !== 'found') return;
  const blob: Blob = { shape: loaded.shape, data: { ...(await store.dataList(id)) } };
  await redis.set(key(id), JSON.stringify(blob), 'PX', config.idleTtlMs);
}

async function handle(request: Request): Promise<Response> {
  if (new URL(request.url).pathname !== '/mcp') return new Response('not found', { status: 404 });
  if (request.method !== 'POST') return jsonRpcError(405, -32000, 'POST only in the reference server');
  const body = (await request.json()) as JSONRPCMessage;
  const store = new MemorySessionStore();
  let session: LiveSession;
  if (isInitializeRequest(body)) {
    const now = Date.now();
    session = live(store, { id: randomUUID(), createdAt: now, maxExpiresAt: now + config.maxTtlMs, principal: undefined, from: { kind: 'new', hello: helloFromInitialize(body.params) } });
    await session.connect();
  } else {
    const id = request.headers.get('mcp-session-id') ?? '';
    const raw = await redis.get(key(id));
    if (raw === null) return jsonRpcError(404, -32001, 'Session not found');
    const blob = JSON.parse(raw) as Blob;
    await store.create(blob.shape, config.idleTtlMs);
    for (const [k, v] of Object.entries(blob.data)) await store.dataSet(id, k, v, config.idleTtlMs);
    session = live(store, { id, createdAt: blob.shape.createdAt, maxExpiresAt: blob.shape.maxExpiresAt, principal: undefined, from: { kind: 'stored', shape: blob.shape, rev: 1 } });
    await session.connect();
    await session.replayInitialize();
  }
  const response = await session.transport.handleRequest(request, { parsedBody: body });
  const text = await response.text();
  if (isInitializeRequest(body) && session.shape) await store.create(session.shape, config.idleTtlMs);
  await save(store, session.id);
  await session.close();
  return new Response(text, { status: response.status, headers: response.headers });
}

const handler = toNodeHandler({ fetch: handle });
const server = createServer((req, res) => void handler(req, res));
server.listen(config.port, config.host, () => {
  // The harness waits for this line (same wording as the real server).
  console.log(JSON.stringify({ level: 30, msg: `mcp-continuity listening on http://${config.host}:${config.port}/mcp in naive mode` }));
});
process.once('SIGTERM', () => {
  server.close();
  redis.disconnect();
  process.exit(0);
});
