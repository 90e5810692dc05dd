// Benchmark reference only: the "load and save the session on every request" design (GET + replay + SET).
// Built from the same LiveSession and replay pieces as the real server; no live cache, no pub/sub.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { Redis } from 'ioredis';
import { loadConfig } from '../app/config.js';
import { jsonRpcError } from '../app/http/errors.js';
import { LiveSession } from '../app/mcp/live-session.js';
import { decodeRecord, emptyState, encodeRecord, SessionRecordSchema } from '../app/sessions/record.js';

const config = loadConfig();
if (!config.redisUrl) throw new Error('the naive reference server needs REDIS_URL');
const redis = new Redis(config.redisUrl);
const key = (id: string) => `${config.keyPrefix}session:${id}`;
const replica = { host: 'naive', pid: process.pid };

async function save(session: LiveSession): Promise<boolean> {
  const record = session.record();
  if (!record) return false;
  await redis.set(key(record.id), encodeRecord(record), 'PX', config.idleTtlMs);
  return true;
}

function live(init: Pick<LiveSession, 'id' | 'createdAt' | 'maxExpiresAt' | 'initialize' | 'state' | 'restored'>, onInitialized?: (s: LiveSession) => Promise<void>): LiveSession {
  return new LiveSession({
    ...init,
    replica,
    responseMode: config.responseMode,
    // Saved once at the end of the request, like the designs this stands for.
    persist: async () => true,
    onDeleted: async (s) => void (await redis.del(key(s.id))),
    ...(onInitialized ? { onInitialized } : {}),
  });
}

async function handle(request: Request): Promise<Response> {
  if (new URL(request.url).pathname !== '/mcp') return new Response('not found', { status: 404 });
  if (request.method !== 'POST') return jsonRpcError(405, -32000, 'POST only in the reference server');
  const body = (await request.json()) as JSONRPCMessage;
  if (isInitializeRequest(body)) {
    const now = Date.now();
    const parsed = SessionRecordSchema.shape.initialize.safeParse(body);
    const session = live(
      { id: randomUUID(), createdAt: now, maxExpiresAt: now + config.maxTtlMs, initialize: parsed.success ? parsed.data : undefined, state: emptyState(), restored: false },
      async (s) => void (await save(s)),
    );
    await session.connect();
    const response = await session.transport.handleRequest(request, { parsedBody: body });
    const text = await response.text();
    await session.close();
    return new Response(text, { status: response.status, headers: response.headers });
  }
  const id = request.headers.get('mcp-session-id') ?? '';
  const raw = await redis.get(key(id));
  const decoded = raw === null ? undefined : decodeRecord(raw, id);
  if (!decoded?.ok) return jsonRpcError(404, -32001, 'Session not found');
  const session = live({ ...decoded.record, restored: true });
  await session.connect();
  await session.replayInitialize();
  const response = await session.transport.handleRequest(request, { parsedBody: body });
  const text = await response.text();
  await save(session);
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
