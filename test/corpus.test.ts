// Bad inputs, table-driven: every malformed or hostile request gets a 4xx, the server stays up, and
// Redis never sees a write for an id the server did not mint.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { startServer, type RunningServer } from '../app/server.js';
import { isMintedSessionId } from '../app/sessions/shape.js';
import { CASES, INITIALIZE, type CorpusCase, type CorpusContext } from './corpus-cases.js';
import { TestRedis } from './support/redis.js';

const PREFIX = 'corpus:';
/** Commands that create, extend or announce a key; a DEL of a missing key changes nothing (the keyspace check covers it). */
const WRITES = new Set(['set', 'setex', 'psetex', 'pexpire', 'expire', 'publish', 'hset', 'rename']);
const TIMEOUT_MS = 5000;

let redis: TestRedis;
let server: RunningServer;
let probe: Redis;
let monitorClient: Redis;
let ctx: CorpusContext;
const monitored: string[][] = [];

interface Answer {
  status: number;
  body: string;
}

function send(c: CorpusCase): Promise<Answer> {
  const port = ctx.port;
  if (c.raw) {
    const bytes = c.raw(ctx);
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
      let data = '';
      socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error('server hung')));
      socket.on('data', (chunk) => (data += chunk.toString('latin1')));
      socket.on('error', reject);
      socket.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), body: data }));
    });
  }
  const headers: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    accept: 'application/json, text/event-stream',
    'content-type': 'application/json',
    'mcp-protocol-version': '2025-06-18',
  };
  for (const [name, value] of Object.entries(c.headers?.(ctx) ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  return new Promise((resolve, reject) => {
    const path = c.name.startsWith('POST to /readyz') ? '/readyz' : '/mcp';
    const req = httpRequest({ host: '127.0.0.1', port, method: c.method ?? 'POST', path, headers, timeout: TIMEOUT_MS }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      // An SSE answer would stay open; the status is what we judge.
      if (res.headers['content-type']?.includes('text/event-stream')) {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      }
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('server hung')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may answer 413 and close before the whole body is written.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return;
      reject(error);
    });
    if (c.body !== undefined && c.method !== 'GET') req.end(c.body);
    else req.end();
  });
}

/** Commands the monitor saw while `action` ran (a marker ECHO closes the window). */
async function commandsDuring(action: () => Promise<void>): Promise<string[][]> {
  const start = monitored.length;
  await action();
  const marker = `corpus-marker-${start}-${Math.random()}`;
  await probe.echo(marker);
  for (let waited = 0; !monitored.some((args) => args.includes(marker)) && waited < 2000; waited += 10) await new Promise((r) => setTimeout(r, 10));
  return monitored.slice(start);
}

/** Every key (with its serialized value) whose name contains `id`: the keyspace must not change. */
async function keysMentioning(id: string): Promise<Array<[string, string]>> {
  const keys = (await probe.keys('*')).filter((k) => k.includes(id)).sort();
  return Promise.all(keys.map(async (k): Promise<[string, string]> => [k, (await probe.dumpBuffer(k))?.toString('hex') ?? '']));
}

async function initializeSession(): Promise<string> {
  const post = (body: string, extra: Record<string, string> = {}) =>
    fetch(server.url, { method: 'POST', headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...extra }, body });
  const first = await post(INITIALIZE);
  await first.text();
  const id = first.headers.get('mcp-session-id') as string;
  await (await post('{"jsonrpc":"2.0","method":"notifications/initialized"}', { 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' })).text();
  return id;
}

beforeAll(async () => {
  redis = await TestRedis.start();
  const config = loadConfig({ PORT: '0', REDIS_URL: redis.url, SESSION_KEY_PREFIX: PREFIX, MAX_BODY_BYTES: String(64 * 1024), LOG_LEVEL: 'silent' });
  server = await startServer(config, { logger: pino({ level: 'silent' }) });
  probe = redis.client();
  monitorClient = redis.client();
  const monitor = await monitorClient.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => monitored.push(args));
  const session = await initializeSession();
  ctx = { session, port: Number(new URL(server.url).port), prefix: PREFIX };
});

afterAll(async () => {
  await server?.close();
  monitorClient?.disconnect();
  probe?.disconnect();
  await redis?.close();
});

describe('bad-input corpus', () => {
  it('holds at least 50 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(50);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('refuses %s with a 4xx and writes nothing for that id', async (_name, c) => {
    const id = c.id?.(ctx);
    if (c.plant && id) {
      const key = c.plant.key?.(ctx, id) ?? `${PREFIX}session:{${id}}`;
      if (typeof c.plant.value === 'string') await probe.set(key, c.plant.value);
      else await probe.hset(key, c.plant.value);
    }
    const keysBefore = id ? await keysMentioning(id) : undefined;
    let answer: Answer | undefined;
    const commands = await commandsDuring(async () => {
      answer = await send(c);
    });

    expect(answer?.status, answer?.body.slice(0, 300)).toBeGreaterThanOrEqual(400);
    expect(answer?.status, answer?.body.slice(0, 300)).toBeLessThan(500);
    if (c.status) expect(answer?.status, answer?.body.slice(0, 300)).toBe(c.status);
    if (id) {
      const mentioning = commands.filter((args) => args.slice(1).some((arg) => arg.includes(id)));
      if (!isMintedSessionId(id)) expect(mentioning).toEqual([]);
      else expect(mentioning.filter((args) => WRITES.has(String(args[0]).toLowerCase()))).toEqual([]);
    }
    if (id) expect(await keysMentioning(id)).toEqual(keysBefore);
    const health = await fetch(`http://127.0.0.1:${ctx.port}/healthz`);
    expect(health.status).toBe(200);
  });

  it('still serves its real session after the whole corpus', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-session-id': ctx.session, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'session_info', arguments: {} } }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain(ctx.session);
  });
});
