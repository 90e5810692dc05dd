// A rolling deploy end to end: the current release and a next one (format version + 1, with a shape
// field only it knows) serve one session on one redis-server, a real SDK 1.32 client alternating its
// POSTs between them; and a past release (its app/ from git) beside this one for the stream
// announcements (docs/compatibility.md).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdPrefix, FORMAT_VERSION } from '../../app/sessions/format.js';
import { connectLegacy, rawPost } from '../support/clients.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { buildNextRelease, buildReleaseAt, type NextRelease } from '../support/next-release.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

const NEXT = FORMAT_VERSION + 1;
/** What the next release adds to every new session's shape: optional, unknown to the current release. */
const NEXT_FIELD = { resumeHints: { addedBy: `format ${NEXT}` } };

let redis: TestRedis;
let next: NextRelease;
let current: ServerProcess;
let nextServer: ServerProcess;

beforeAll(async () => {
  redis = await TestRedis.start();
  next = await buildNextRelease([
    { file: 'sessions/format.ts', from: `export const FORMAT_VERSION = ${FORMAT_VERSION};`, to: `export const FORMAT_VERSION = ${NEXT};` },
    { file: 'mcp/live-session.ts', from: 'toolsets: [], ...(this.principal', to: `toolsets: [], ...${JSON.stringify(NEXT_FIELD)}, ...(this.principal` },
  ]);
  [current, nextServer] = await Promise.all([
    ServerProcess.start({ env: { REDIS_URL: redis.url, REPLICA_NAME: 'current' } }),
    ServerProcess.start({ env: { REDIS_URL: redis.url, REPLICA_NAME: 'next' }, entry: next.entry }),
  ]);
});

afterAll(async () => {
  await Promise.all([current?.kill(), nextServer?.kill()]);
  await redis?.close();
  await next?.dispose();
});

interface Route {
  readonly to: 'current' | 'next';
  readonly method: string;
  readonly tool?: string;
}

/** A fetch that sends POSTs to the next and the current release in turn (GET streams to the current one) and records where each went. */
function alternating(routes: Route[]): typeof fetch {
  let posts = 0;
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    let to: Route['to'] = 'current';
    if (init?.method === 'POST') {
      to = posts++ % 2 === 0 ? 'next' : 'current';
      const body = JSON.parse(String(init.body)) as { method: string; params?: { name?: string } };
      routes.push({ to, method: body.method, ...(body.params?.name ? { tool: body.params.name } : {}) });
    }
    const origin = to === 'next' ? nextServer.origin : current.origin;
    return fetch(new URL(url.pathname + url.search, origin), init);
  };
}

const other = (to: Route['to']) => (to === 'next' ? 'current' : 'next');
const storedShape = async (id: string) => {
  const raw = redis.client();
  const shape = JSON.parse((await raw.hget(`mcp-continuity:session:{${id}}`, 'shape')) ?? 'null') as Record<string, unknown>;
  raw.disconnect();
  return shape;
};

/** Waits until the writer's batched flush (every 5 ms, behind the response) has put `eventId` in the session's log. */
const logged = async (id: string, eventId: string) => {
  const raw = redis.client();
  try {
    await expect.poll(async () => JSON.stringify(await raw.xrange(`mcp-continuity:session:{${id}}:events`, '-', '+')), { timeout: 5000, interval: 10 }).toContain(eventId);
  } finally {
    raw.disconnect();
  }
};

/** Event ids of an SSE body, in order. */
const eventIds = (body: string) => body.split('\n').filter((line) => line.startsWith('id: ')).map((line) => line.slice(4));

/** Opens a GET stream with Last-Event-ID and reads it until `expected` shows up (or 5 s pass). */
async function resume(server: ServerProcess, sessionId: string, lastEventId: string, expected: string): Promise<{ status: number; body: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 5000);
  const response = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25', 'last-event-id': lastEventId }, signal: controller.signal });
  let body = '';
  try {
    if (response.status !== 200 || !response.body) return { status: response.status, body: await response.text() };
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      body += decoder.decode(chunk, { stream: true });
      if (body.includes(expected)) break;
    }
  } catch {
    // Aborted after 5 s: what arrived is the answer.
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status: response.status, body };
}

describe('rolling deploy: two format versions on one Redis', () => {
  it('format:rolling — one session survives every alternation between the releases, with its data, toolsets, unknown fields and resumable streams', async () => {
    // Two builds, two format versions: each says which one it writes when it starts.
    expect(current.output).toContain(`"format":${FORMAT_VERSION},`);
    expect(nextServer.output).toContain(`"format":${NEXT},`);
    const routes: Route[] = [];
    const client = await connectLegacy(current.url, { fetch: alternating(routes) });
    expect(routes.slice(0, 2)).toEqual([
      { to: 'next', method: 'initialize' },
      { to: 'current', method: 'notifications/initialized' },
    ]);
    expect(await storedShape(client.sessionId)).toMatchObject({ v: NEXT, ...NEXT_FIELD });

    // Scratchpad data written on either release is read on the other: three POSTs per round, so the
    // writer changes every round.
    for (let i = 0; i < 6; i++) {
      const from = routes.length;
      await client.call('remember', { key: `k${i}`, value: `v${i}` });
      expect(await client.call('recall', { key: `k${i}` })).toBe(`v${i}`);
      if (i > 0) expect(await client.call('recall', { key: `k${i - 1}` })).toBe(`v${i - 1}`);
      else await client.call('session_info');
      const [write, read] = routes.slice(from);
      expect(read?.to).toBe(other(write?.to ?? 'next'));
    }
    expect(new Set(routes.filter((r) => r.tool === 'remember').map((r) => r.to))).toEqual(new Set(['next', 'current']));

    // A toolset enabled on one release is served by the other; a shape rewrite by the current release
    // keeps the field only the next one knows, and says who wrote it.
    const steps: Array<[string, Record<string, unknown>, string | undefined]> = [
      ['enable_toolset', { name: 'math' }, undefined],
      ['add', { a: 2, b: 40 }, '42'],
      ['session_info', {}, undefined],
      ['enable_toolset', { name: 'text' }, undefined],
      ['uppercase', { text: 'abc' }, 'ABC'],
      ['multiply', { a: 6, b: 7 }, '42'],
    ];
    const enabledBy: Record<string, Route['to']> = {};
    for (const [tool, args, expected] of steps) {
      const text = await client.call(tool, args);
      if (expected !== undefined) expect(text).toBe(expected);
      const served = (routes.at(-1) as Route).to;
      if (tool === 'enable_toolset') {
        enabledBy[args.name as string] = served;
        expect(await storedShape(client.sessionId)).toMatchObject({ v: served === 'next' ? NEXT : FORMAT_VERSION, ...NEXT_FIELD });
      }
    }
    expect(enabledBy.math).not.toBe(enabledBy.text); // one toolset enabled by each release
    expect(routes.find((r) => r.tool === 'add')?.to).toBe(other(enabledBy.math ?? 'next'));
    expect(routes.find((r) => r.tool === 'uppercase')?.to).toBe(other(enabledBy.text ?? 'next'));
    expect(await storedShape(client.sessionId)).toMatchObject({ toolsets: ['math', 'text'], ...NEXT_FIELD });

    // Event ids of one release resume on the other: the priming id of a POST stream answered by one,
    // given to the other as Last-Event-ID, replays that answer.
    const headers = { 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' };
    for (const [writer, reader, prefix] of [[nextServer, current, eventIdPrefix(NEXT)], [current, nextServer, eventIdPrefix()]] as const) {
      const answer = await rawPost(writer.url, { jsonrpc: '2.0', id: `resume-${prefix}`, method: 'tools/call', params: { name: 'recall', arguments: { key: 'k5' } } }, headers);
      const ids = eventIds(await answer.text());
      expect(ids[0]?.startsWith(`${prefix}.`)).toBe(true);
      // A client resumes a broken stream after its retry delay, not within the writer's flush window.
      await logged(client.sessionId, ids.at(-1) as string);
      const resumed = await resume(reader, client.sessionId, ids[0] as string, `"id":"resume-${prefix}"`);
      expect(resumed.status).toBe(200);
      expect(resumed.body).toContain(`"id":"resume-${prefix}"`);
      expect(resumed.body).toContain('v5');
    }

    const infos = [await client.call('session_info'), await client.call('session_info')].map((t) => JSON.parse(t) as { sessionId: string; replica: { name: string } });
    expect(infos.map((i) => i.sessionId)).toEqual([client.sessionId, client.sessionId]);
    expect(new Set(infos.map((i) => i.replica.name))).toEqual(new Set(['current', 'next']));
    for (const server of [current, nextServer]) expect(server.output).not.toMatch(/session not restored|unreadable|corrupt/);
    await client.close();
  });

  it('format:rolling-refuse — a release refuses an event id of a format two versions ahead by name, and keeps the session', async () => {
    const client = await connectLegacy(current.url);
    const ahead = `${eventIdPrefix(FORMAT_VERSION + 2)}.0123456789ab._GET_stream.w1.1`;
    const response = await fetch(current.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25', 'last-event-id': ahead } });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain(`Last-Event-ID format version ${FORMAT_VERSION + 2} is outside the versions this release reads`);
    expect(JSON.parse(await client.call('session_info'))).toMatchObject({ sessionId: client.sessionId });
    await client.close();
  });

  it('format:rolling-corrupt — a record of a format two versions ahead is a 404 with a warn line naming the version', async () => {
    const client = await connectLegacy(nextServer.url);
    await client.call('remember', { key: 'k', value: 'v' });
    const raw = redis.client();
    const key = `mcp-continuity:session:{${client.sessionId}}`;
    const shape = JSON.parse((await raw.hget(key, 'shape')) ?? '{}') as Record<string, unknown>;
    await raw.hset(key, 'shape', JSON.stringify({ ...shape, v: FORMAT_VERSION + 2 }));
    raw.disconnect();
    const response = await rawPost(current.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' });
    expect(response.status).toBe(404);
    // The log line travels through the child's stdout pipe: it may arrive just after the response.
    const isWarn = (line: string) => line.includes('session not restored') && line.includes(`record format version ${FORMAT_VERSION + 2}`);
    for (let waited = 0; !current.logs.some(isWarn) && waited < 5000; waited += 20) await sleep(20);
    const warn = current.logs.find(isWarn);
    expect(warn).toBeDefined();
    expect(warn).toContain('"level":40');
    await client.close();
  });
});

/** The release before announcements named streams (main at the time): its parser reads every token after the origin as a session id. */
const BEFORE_STREAM_ANNOUNCEMENTS = '1423dbb61026479606587e494577969d39cf2392';

describe('rolling deploy: the release before stream-addressed announcements and this one', () => {
  let before: NextRelease;
  let previous: ServerProcess;

  beforeAll(async () => {
    before = await buildReleaseAt(BEFORE_STREAM_ANNOUNCEMENTS);
    previous = await ServerProcess.start({ env: { REDIS_URL: redis.url, REPLICA_NAME: 'previous' }, entry: before.entry });
  });

  afterAll(async () => {
    await previous?.kill();
    await before?.dispose();
  });

  /** GET streams to `get`, POSTs to `post`. */
  const split = (get: () => ServerProcess, post: () => ServerProcess): typeof fetch => (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    return fetch(new URL(url.pathname + url.search, ((init?.method ?? 'GET').toUpperCase() === 'GET' ? get() : post()).origin), init);
  };

  it('format:rolling-streams — each release delivers the other\'s notifications to a GET stream it holds', async () => {
    for (const [holder, caller] of [[previous, current], [current, previous]] as const) {
      const client = await connectLegacy(caller.url, { fetch: split(() => holder, () => caller) });
      let changed = 0;
      client.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changed++);
      const raw = redis.client();
      await expect.poll(async () => JSON.stringify(await raw.xrange(`mcp-continuity:session:{${client.sessionId}}:events`, '-', '+')), { timeout: 5000, interval: 20 }).toContain('_GET_stream');
      raw.disconnect();
      await client.call('session_info'); // an answer the GET stream of this release skips, the previous one reads
      await client.call('enable_toolset', { name: 'math' });
      await expect.poll(() => changed, { timeout: 5000, interval: 20 }).toBe(1);
      await client.close();
    }
  });

  it('format:rolling-resume — a call\'s stream cut on one release is resumed on the other and gets its answer', async () => {
    for (const [writer, reader] of [[previous, current], [current, previous]] as const) {
      const client = await connectLegacy(writer.url);
      const headers = { 'mcp-session-id': client.sessionId, 'mcp-protocol-version': '2025-11-25' };
      const requestId = `cut-on-${writer === previous ? 'previous' : 'current'}`;
      const cut = new AbortController();
      const post = await fetch(writer.url, { method: 'POST', headers: { ...headers, accept: 'application/json, text/event-stream', 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: requestId, method: 'tools/call', params: { name: 'countdown', arguments: { seconds: 1 } } }), signal: cut.signal });
      const stream = (post.body as ReadableStream<Uint8Array>).getReader();
      let first = '';
      while (!first.includes('\n\n')) first += new TextDecoder().decode((await stream.read()).value);
      const primed = eventIds(first)[0] as string;
      cut.abort();
      // The previous release refuses a resume before the writer logged the stream; this one waits for it.
      if (reader === previous) await logged(client.sessionId, primed);
      const resumed = await resume(reader, client.sessionId, primed, `"id":"${requestId}"`);
      expect(resumed.status).toBe(200);
      expect(resumed.body).toContain(`"id":"${requestId}"`);
      expect(resumed.body).toContain('done');
      await client.close();
    }
  });
});
