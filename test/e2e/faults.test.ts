// End to end under faults: expiry, corrupt records, a Redis outage, foreign session ids, secrets in logs.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, rawPost } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

let redis: TestRedis;
let inspect: ReturnType<TestRedis['client']>;
const servers: ServerProcess[] = [];
const key = (id: string) => `mcp-continuity:session:{${id}}`;

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const s = await ServerProcess.start({ env });
  servers.push(s);
  return s;
}

/** A tools/list on `url` for a session the client holds: the status tells whether the session is served. */
async function listStatus(url: string, sessionId: string): Promise<number> {
  const response = await rawPost(url, { jsonrpc: '2.0', id: 7, method: 'tools/list' }, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
  await response.text();
  return response.status;
}

async function until(check: () => Promise<boolean>, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

beforeAll(async () => {
  redis = await TestRedis.start();
  inspect = redis.client();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  inspect?.disconnect();
  await redis?.close();
});

describe('expiry', () => {
  it('expiry:idle — a session idle longer than SESSION_IDLE_TTL is gone on every replica', async () => {
    const env = { REDIS_URL: redis.url, SESSION_IDLE_TTL: '1s', SESSION_MAX_TTL: '1h' };
    const [a, b] = [await server(env), await server(env)];
    const client = await connectLegacy(a.url);
    await client.call('remember', { key: 'k', value: 'v' });
    expect(await inspect.pttl(key(client.sessionId))).toBeLessThanOrEqual(1000);
    await sleep(1300);
    expect(await listStatus(a.url, client.sessionId)).toBe(404);
    expect(await listStatus(b.url, client.sessionId)).toBe(404);
    expect(await inspect.exists(key(client.sessionId))).toBe(0);
    await client.close();
  });

  it('expiry:absolute — a busy session still ends at SESSION_MAX_TTL after creation', async () => {
    const a = await server({ REDIS_URL: redis.url, SESSION_IDLE_TTL: '1500ms', SESSION_MAX_TTL: '2500ms' });
    const client = await connectLegacy(a.url);
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 6000) {
      status = await listStatus(a.url, client.sessionId);
      await sleep(300);
    }
    expect(status).toBe(404);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    // Whichever sees the ceiling first ends it: this replica's own check, or Redis, whose record expires
    // exactly at the ceiling (the sliding TTL rides on the calls and never passes it), found by the next write.
    expect(a.output).toMatch(/absolute lifetime reached|"why":"gone from the store"/);
    await client.close();
  });
});

describe('bad records and foreign ids', () => {
  it('store:corrupt — a corrupt record answers 404 and logs why', async () => {
    const [a, b] = [await server({ REDIS_URL: redis.url }), await server({ REDIS_URL: redis.url })];
    const client = await connectLegacy(a.url);
    await inspect.hset(key(client.sessionId), { shape: '{"v":2,"id":' });
    expect(await listStatus(b.url, client.sessionId)).toBe(404);
    // pino writes asynchronously: the log line can reach us just after the response.
    await until(async () => /"reason":"corrupt".*"detail":"not JSON"/.test(b.output), 2000);
    expect(b.output).toMatch(/"reason":"corrupt".*"detail":"not JSON"/);
    await client.close();
  });

  it('security:unminted — a session id the server could not have minted never reaches Redis', async () => {
    const a = await server({ REDIS_URL: redis.url });
    const monitor = await inspect.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args.join(' ')));
    await sleep(100);
    const foreign = ['not-a-uuid', '*', 'session:*', '[a-z]*', 'A15968DA-4197-4AD9-9F87-0ACADC78BF9A', '6ba7b810-9dad-11d1-80b4-00c04fd430c8', '01ARZ3NDEKTSV4RRFFQ69G5FAV'];
    for (const id of foreign) expect(await listStatus(a.url, id)).toBe(404);
    // The same path with a well-formed unknown id does query Redis: the monitor sees it.
    const unknown = crypto.randomUUID();
    expect(await listStatus(a.url, unknown)).toBe(404);
    await until(async () => seen.some((line) => line.includes(unknown)));
    for (const id of foreign) expect(seen.filter((line) => line.includes(id))).toEqual([]);
    monitor.disconnect();
  });
});

describe('redis outage', () => {
  it('store:outage — during an outage calls that need no data work, data calls fail honestly, and everything confirmed is there afterwards', async () => {
    const local = await TestRedis.start();
    try {
      const env = { REDIS_URL: local.url, REDIS_COMMAND_TIMEOUT: '300ms' };
      const [a, b] = [await server(env), await server(env)];
      const client = await connectLegacy(a.url);
      await client.call('remember', { key: 'before', value: '1' });

      await local.stopKeepingData(); // a restart or failover: the data survives, the connection does not
      expect(JSON.parse(await client.call('session_info')).sessionId).toBe(client.sessionId);
      await expect(client.call('recall', { key: 'before' })).rejects.toThrow('Not read: session store unavailable, retry.');
      await expect(client.call('remember', { key: 'during', value: '2' })).rejects.toThrow('Not saved: session store unavailable, retry.');
      const born = await connectLegacy(a.url); // a new session while Redis is down
      expect(JSON.parse(await born.call('session_info')).sessionId).toBe(born.sessionId);
      await expect(born.call('remember', { key: 'x', value: 'y' })).rejects.toThrow(/Not saved/);
      expect(await listStatus(b.url, client.sessionId)).toBe(503); // it probably exists: retry, do not start over
      const readyz = (await (await fetch(`${a.origin}/readyz`)).json()) as { status: string };
      expect(readyz).toMatchObject({ status: 'degraded' });

      await local.resume();
      const probe = local.client();
      // The session born during the outage gets its record as soon as Redis is back.
      await until(async () => (await probe.exists(key(born.sessionId))) === 1);
      probe.disconnect();
      await born.call('remember', { key: 'x', value: 'y' });

      await a.kill('SIGKILL');
      // B lost its connection in the outage too: once it is back (within its reconnect interval), it serves.
      await until(async () => (await listStatus(b.url, client.sessionId)) === 200);
      await a.restart();
      expect(await client.call('recall', { key: 'before' })).toBe('1');
      await expect(client.call('recall', { key: 'during' })).rejects.toThrow(/Nothing is remembered/);
      expect(await born.call('recall', { key: 'x' })).toBe('y');
      expect(a.output + b.output).not.toMatch(/"level":50|"level":60/);
      await Promise.all([client.close(), born.close()]);
    } finally {
      await local.close();
    }
  });

  it('store:lost — when Redis comes back without the session, it ends (404) instead of serving empty data', async () => {
    const local = await TestRedis.start();
    try {
      const a = await server({ REDIS_URL: local.url, REDIS_COMMAND_TIMEOUT: '300ms' });
      const client = await connectLegacy(a.url);
      await client.call('remember', { key: 'k', value: 'v' });
      await local.stop(); // SIGKILL: it keeps nothing
      await local.resume();
      await until(async () => ((await (await fetch(`${a.origin}/readyz`)).json()) as { status: string }).status === 'ready');
      await expect(client.call('recall', { key: 'k' })).rejects.toThrow(/404|Session not found|ended or expired/);
      expect(await listStatus(a.url, client.sessionId)).toBe(404);
      await client.close();
    } finally {
      await local.close();
    }
  });
});

describe('secrets', () => {
  it('security:secret — the Redis password never appears in any log line, in URL or Azure form, right or wrong', async () => {
    const password = 'S3cret-Passw0rd-value';
    const guarded = await TestRedis.start({ args: ['--requirepass', password] });
    try {
      const right = await server({ REDIS_URL: `redis://:${password}@127.0.0.1:${guarded.port}`, LOG_LEVEL: 'trace' });
      const azure = await server({ REDIS_URL: `127.0.0.1:${guarded.port},password=${password},ssl=False,abortConnect=False`, LOG_LEVEL: 'trace' });
      const wrong = await server({ REDIS_URL: `redis://:wrong-${password}@127.0.0.1:${guarded.port}`, LOG_LEVEL: 'trace' });
      for (const s of [right, azure]) {
        const client = await connectLegacy(s.url);
        await client.call('remember', { key: 'k', value: 'v' });
        await client.close();
      }
      const c = await connectLegacy(wrong.url);
      await expect(c.call('remember', { key: 'k', value: 'v' })).rejects.toThrow(/Not saved/);
      await c.close();
      await guarded.stop();
      await sleep(500);
      const logs = right.output + azure.output + wrong.output;
      expect(right.output).toContain('in redis mode');
      expect(azure.output).toContain('in redis mode');
      expect(wrong.output).toMatch(/WRONGPASS|NOAUTH/);
      expect(logs).not.toContain(password);
    } finally {
      await guarded.close();
    }
  });
});
