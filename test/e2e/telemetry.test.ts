// Telemetry end to end: two real replicas export to a real OTLP/HTTP receiver while a real SDK 1.32 client works.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, rawPost } from '../support/clients.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

const API_KEY = `tk_${randomBytes(16).toString('hex')}`;
const OTHER_KEY = `tk_${randomBytes(16).toString('hex')}`;
const RECORDER = fileURLToPath(new URL('../support/record-imports.mjs', import.meta.url));

let redis: TestRedis;
let receiver: OtlpReceiver;
const servers: ServerProcess[] = [];

const exporting = (name: string) => ({
  REDIS_URL: redis.url,
  AUTH_MODE: 'key',
  MCP_API_KEYS: `ci:${API_KEY},other:${OTHER_KEY}`,
  REPLICA_NAME: name,
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_BSP_SCHEDULE_DELAY: '100',
  OTEL_METRIC_EXPORT_INTERVAL: '250',
});

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const s = await ServerProcess.start({ env });
  servers.push(s);
  return s;
}

/** Polls until `check` returns a value (exports arrive on their own schedule). */
async function eventually<T>(check: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = check();
    if (found !== undefined && found !== false) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  redis = await TestRedis.start();
  receiver = await OtlpReceiver.start();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await receiver?.close();
  await redis?.close();
});

describe('telemetry exported over OTLP/HTTP', () => {
  it('telemetry:restore-trace — a restore on the second replica is a child of the client traceparent; one restore, one miss, one foreign, refused writes and the session duration counted; nothing secret exported', async () => {
    const a = await server(exporting('replica-a'));
    const b = await server(exporting('replica-b'));
    let target = a.origin;
    const steer: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${API_KEY}`);
      return fetch(new URL(url.pathname + url.search, target), { ...init, headers });
    };
    const client = await connectLegacy(a.url, { fetch: steer });
    await client.call('remember', { key: 'city', value: 'Lisbon' });

    // The client's own trace: the next call goes to replica B, which has never seen the session.
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    target = b.origin;
    const result = await client.client.callTool({ name: 'recall', arguments: { key: 'city' }, _meta: { traceparent: `00-${traceId}-${clientSpan}-01` } });
    expect((result.content as Array<{ text: string }>)[0]?.text).toBe('Lisbon');

    const spansOf = () => receiver.spans.filter((s) => s.traceId === traceId);
    // Spans are exported as they end, the server span last (when its response ends).
    const serverSpan = await eventually(() => spansOf().find((s) => s.name === 'tools/call recall'), 'the server span');
    const restore = spansOf().find((s) => s.name === 'mcp.session.restore') as ReceivedSpan;
    expect(restore).toBeDefined();
    expect(serverSpan.parentSpanId).toBe(clientSpan);
    expect(serverSpan.kind).toBe(2); // SERVER
    expect(serverSpan.attributes).toMatchObject({ 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'recall', 'jsonrpc.request.id': expect.any(String), 'mcp.protocol.version': expect.any(String) });
    expect(serverSpan.attributes['mcp.session.id']).toMatch(/^[0-9a-f]{12}$/);
    expect(restore.parentSpanId).toBe(serverSpan.spanId);
    expect(restore.attributes['mcp.session.restore.outcome']).toBe('restored');
    expect(spansOf().some((s) => s.name === 'session-store load' && s.parentSpanId === restore.spanId)).toBe(true);

    // An unknown (well-formed) id on B: a miss, answered 404.
    const unknown = await rawPost(b.url, { jsonrpc: '2.0', id: 9, method: 'tools/list' }, { 'mcp-session-id': randomUUID(), 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${API_KEY}` });
    expect(unknown.status).toBe(404);
    await eventually(() => receiver.total('mcp.server.session.restores', { outcome: 'miss' }, 'mcp-continuity') >= 1 || undefined, 'a counted miss');
    const onB = (outcome: string) => receiver.points.filter((p) => p.metric === 'mcp.server.session.restores' && p.instance === 'replica-b' && p.attributes.outcome === outcome).at(-1)?.value ?? 0;
    await eventually(() => (onB('restored') === 1 && onB('miss') === 1) || undefined, 'one restore and one miss on replica B');

    // Another principal asking for this session gets what an unknown id gets, counted as foreign.
    const foreign = await rawPost(b.url, { jsonrpc: '2.0', id: 10, method: 'tools/list' }, { 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25', authorization: `Bearer ${OTHER_KEY}` });
    expect(foreign.status).toBe(404);
    await eventually(() => (onB('foreign') === 1 && onB('restored') === 1) || undefined, 'one foreign request on replica B');

    // Redis gone: a write is refused to the caller, and counted.
    await redis.stop();
    await expect(client.call('remember', { key: 'city', value: 'Porto' })).rejects.toThrow(/unavailable/);
    await eventually(() => receiver.points.some((p) => p.metric === 'mcp.store.writes.refused' && p.instance === 'replica-b' && p.value >= 1) || undefined, 'a refused write on replica B');
    await redis.resume();

    // The client ends its session: its whole life is recorded once.
    await client.transport.terminateSession();
    await eventually(() => receiver.points.some((p) => p.metric === 'mcp.server.session.duration' && p.attributes.reason === 'deleted' && p.value === 1) || undefined, 'a session duration');

    expect(receiver.points.some((p) => p.metric === 'mcp.server.operation.duration' && p.attributes['mcp.method.name'] === 'tools/call')).toBe(true);
    expect(receiver.points.some((p) => p.metric === 'mcp.store.operation.duration')).toBe(true);
    // Nothing exported holds the session id, the API key or the Redis URL, anywhere.
    const exported = JSON.stringify(receiver.bodies);
    expect(exported).not.toContain(client.sessionId);
    expect(exported).not.toContain(API_KEY);
    expect(exported).not.toContain(OTHER_KEY);
    expect(exported).not.toContain(redis.url);
    await client.close();
  });
});

describe('telemetry off', () => {
  it('telemetry:off-free — with no exporter configured, no OpenTelemetry or Azure Monitor module is ever loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-imports-'));
    const run = async (file: string, env: Record<string, string>) => {
      const s = await server({ NODE_OPTIONS: `--import ${RECORDER}`, RECORD_IMPORTS_TO: file, ...env });
      const client = await connectLegacy(s.url);
      await client.call('remember', { key: 'k', value: 'v' });
      await client.close();
      await s.kill('SIGTERM');
      return readFileSync(file, 'utf8');
    };
    const off = await run(join(dir, 'off.txt'), {});
    expect(off).toContain('/app/server.ts'); // the recorder saw the app load
    expect(off).not.toMatch(/@opentelemetry|monitor-opentelemetry|app\/telemetry\/otel\.ts/);
    // The same recorder does see the SDK when an exporter is configured.
    const on = await run(join(dir, 'on.txt'), { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    expect(on).toMatch(/@opentelemetry\/sdk-trace-node/);
  });
});
