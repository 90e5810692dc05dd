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

describe('telemetry of streams, the event log and the drain', () => {
  it('telemetry:streams-drain — GET stream open and resume spans in the client trace, the replay read their child; event-log appends, bytes and replays counted; a drain times itself and counts the call it let finish; nothing secret exported', async () => {
    const c = await server({ ...exporting('replica-c'), MCP_RESPONSE_MODE: 'sse' });
    const auth = { authorization: `Bearer ${API_KEY}` };
    const client = await connectLegacy(c.url, { fetch: (input, init) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...auth } }) });
    const value = 'x'.repeat(300);
    const tokens: string[] = [];
    await client.call('remember', { key: 'big', value });
    await client.client.callTool({ name: 'recall', arguments: { key: 'big' } }, undefined, { onresumptiontoken: (t: string) => void tokens.push(t) });
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    const onC = (metric: string, attributes: Record<string, string> = {}) =>
      receiver.points.filter((p) => p.metric === metric && p.instance === 'replica-c' && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v)).at(-1)?.value ?? 0;
    // The calls' priming events and answers (the recall's holds the value) were written for replay.
    await eventually(() => (onC('mcp.server.event_log.appends') >= 4 && onC('mcp.server.event_log.bytes') >= value.length) || undefined, 'event-log appends and bytes');

    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const get = (extra: Record<string, string>) =>
      fetch(c.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25', traceparent: `00-${traceId}-${clientSpan}-01`, ...auth, ...extra } });
    // A standalone stream: its opening is a span; the stream itself (keepalives) is not.
    const opened = await get({});
    expect(opened.status).toBe(200);
    await opened.body?.cancel();
    // A resume from the priming event replays the answer after it.
    const resumed = await get({ 'last-event-id': tokens[0] as string });
    expect(resumed.status).toBe(200);
    expect(await resumed.text()).toContain(value);
    const spansOf = () => receiver.spans.filter((s) => s.traceId === traceId);
    const resume = await eventually(() => spansOf().find((s) => s.name === 'mcp.stream.resume'), 'the resume span');
    const open = spansOf().find((s) => s.name === 'mcp.stream.open') as ReceivedSpan;
    expect(open).toBeDefined();
    for (const span of [open, resume]) {
      expect(span.parentSpanId).toBe(clientSpan);
      expect(span.kind).toBe(2); // SERVER
      expect(span.attributes['mcp.session.id']).toMatch(/^[0-9a-f]{12}$/);
      expect(span.attributes['http.response.status_code']).toBe(200);
    }
    await eventually(() => spansOf().find((s) => s.name === 'session-store readEvents' && s.parentSpanId === resume.spanId), 'the replay read under the resume span');
    await eventually(() => onC('mcp.server.event_log.replays', { outcome: 'replayed' }) === 1 || undefined, 'one replay counted');
    // Resuming after the answer: nothing left to send (204), counted apart from a replay.
    const done = await get({ 'last-event-id': tokens.at(-1) as string });
    expect(done.status).toBe(204);
    await eventually(() => onC('mcp.server.event_log.replays', { outcome: 'complete' }) === 1 || undefined, 'a resume with nothing left');

    // SIGTERM while a countdown runs: the drain waits for it, then says how long it took and that one call finished in it.
    let exited: Promise<number | null> | undefined;
    const result = await client.client.callTool({ name: 'countdown', arguments: { seconds: 2 } }, undefined, { onprogress: () => void (exited ??= c.kill('SIGTERM')), timeout: 30_000 });
    expect((result.content as Array<{ text: string }>)[0]?.text).toBe('done');
    expect(await exited).toBe(0);
    await eventually(() => (onC('mcp.server.drain.calls.finished') === 1 && onC('mcp.server.drain.duration') === 1) || undefined, 'the drain and the call finished in it');
    expect(onC('mcp.server.drain.calls.cut')).toBe(0);

    const exported = JSON.stringify(receiver.bodies);
    expect(exported).not.toContain(client.sessionId);
    expect(exported).not.toContain(API_KEY);
    expect(exported).not.toContain(redis.url);
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
    expect(on).toMatch(/@opentelemetry\/sdk-metrics/);
  });
});
