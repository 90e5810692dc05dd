// One measured point of the scaling bench: R real server processes on one private redis-server, S
// sessions, C calls/s open loop (calls spread over every replica, as an ingress without affinity does),
// some sessions holding a GET stream on one replica. Counts come from MONITOR (by kind), INFO and CLIENT LIST.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { watch, type Census } from './scaling-census.js';
import { callTool as call, openSession as open } from './scaling-client.js';
import { pool } from './workload.js';

export const PREFIX = 'scale:';

export interface PointOptions {
  readonly replicas: number;
  readonly mode: 'sse' | 'json';
  readonly sessions: number;
  readonly callsPerSecond: number;
  readonly seconds: number;
  readonly streamShare: number;
  /** The protocol version the clients negotiate. */
  readonly protocolVersion: string;
  /** SESSION_IDLE_TTL of the run (the touch interval is a tenth of it). */
  readonly idleTtl: string;
  /** Extra sessions opened on replica 0 after the window, to read RSS per live session (0: skip). */
  readonly rssSessions: number;
  /** The same open loop run before the window, so per-pair timers (TTL touches) are in their steady state. */
  readonly prerollSeconds: number;
  readonly log: (line: string) => void;
}

export interface Point {
  readonly replicas: number;
  readonly mode: 'sse' | 'json';
  readonly sessions: number;
  readonly streams: number;
  readonly seconds: number;
  readonly calls: number;
  readonly errors: number;
  /** Calls before the key census: remember, warm-up, pre-roll and window (for the log's length). */
  readonly callsBeforeCensus: number;
  /** MONITOR census of the window, and of the warm-up (every session called once on every replica). */
  readonly window: Census;
  readonly warmup: { census: Census; calls: number; restores: number };
  /** Census of opening the sessions (initialize + initialized + one remember each). */
  readonly creation: { census: Census; sessions: number };
  /** Epoch ms: each server's start (its timers start then) and the window's bounds. */
  readonly times: { starts: number[]; windowStart: number; windowEnd: number };
  /** CPU seconds of all replicas over the warm-up (restores) and over the window (warm calls). */
  readonly cpuSeconds: { warmup: number; window: number };
  /** INFO commandstats delta over the window (every command, scripts' own included; INFO excluded). */
  readonly commandstats: number;
  /** Subscribers per channel role at the end (PUBSUB NUMSUB; the probe is not subscribed). */
  readonly numsub: { events: number; heartbeatPerChannel: number };
  /** Connections the replicas hold (INFO clients minus the bench's own), and the subscriber ones among them. */
  readonly connections: { total: number; subscribers: number };
  readonly redisMemory: { usedBefore: number; usedAfter: number; clients: number; keys: Record<string, { count: number; bytes: number; entries: number }> };
  /** Bytes of the one session whose log was filled past its bounds. */
  readonly fullLog: { bytes: number; entries: number; counted: number } | undefined;
  /** RSS of each replica after the window (every session live on every replica), and its live sessions. */
  readonly replicaRss: { after: number[]; liveSessions: number[] };
  readonly rssProbe: { sessions: number; bytes: number } | undefined;
}

const rss = (pid: number | undefined) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN) * 1024;

const infoField = (info: string, field: string) => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);

async function commandstats(probe: Redis): Promise<number> {
  const info = await probe.info('commandstats');
  let sum = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') sum += Number(m[2]);
  return sum;
}

/** A GET stream read and discarded in the background until `close`. */
async function holdStream(url: string, version: string, sessionId: string): Promise<() => void> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': version }, signal: abort.signal });
  if (response.status !== 200 || !response.body) throw new Error(`GET stream answered ${response.status}`);
  const reader = response.body.getReader();
  void (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return;
  })();
  return () => abort.abort();
}

/** Keys by class with their MEMORY USAGE (SCAN; the bench's Redis holds only this deployment). */
async function keyCensus(probe: Redis): Promise<Record<string, { count: number; bytes: number; entries: number }>> {
  const out: Record<string, { count: number; bytes: number; entries: number }> = {};
  let cursor = '0';
  do {
    const [next, keys] = await probe.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const kind = key.endsWith(':events') ? 'eventLog' : key.endsWith(':answers') ? 'mailbox' : key.includes(':alive:') || key.startsWith(`${PREFIX}alive:`) ? 'alive' : key.startsWith(`${PREFIX}limits:`) ? 'limits' : key.startsWith(`${PREFIX}session:`) ? 'session' : 'other';
      const slot = (out[kind] ??= { count: 0, bytes: 0, entries: 0 });
      slot.count++;
      if (kind === 'eventLog') slot.entries += await probe.xlen(key);
      slot.bytes += Number(await probe.memory('USAGE', key, 'SAMPLES', '0')) || 0;
    }
  } while (cursor !== '0');
  return out;
}

async function liveSessions(server: ServerProcess): Promise<number> {
  const stats = (await (await fetch(`${server.origin}/statusz`)).json()) as { liveSessions?: number };
  return stats.liveSessions ?? Number.NaN;
}

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
function cpu(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Every LONG_EVERY-th call is a one-second countdown; the rest answer at once. */
export const LONG_EVERY = 45;

/**
 * The open loop: call k at k/C s goes to session k mod S on replica (k + floor(k/S)) mod R, so every
 * session visits every replica in turn; even sessions ask for no data, odd ones read one key.
 */
async function openLoop(urls: readonly string[], ids: readonly string[], version: string, callsPerSecond: number, seconds: number): Promise<{ calls: number; errors: number }> {
  let calls = 0;
  let errors = 0;
  const inFlight = new Set<Promise<unknown>>();
  const started = performance.now();
  const total = Math.round(callsPerSecond * seconds);
  for (let k = 0; k < total; k++) {
    const wait = started + (k * 1000) / callsPerSecond - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const session = k % ids.length;
    const replica = (k + Math.floor(k / ids.length)) % urls.length;
    // One call in LONG_EVERY runs a second (countdown): the liveness beacon refreshes while it is open.
    const [name, args] = k % LONG_EVERY === LONG_EVERY - 1 ? ['countdown', { seconds: 1 }] : session % 2 === 0 ? ['session_info', {}] : ['recall', { key: 'k' }];
    const sent = call(urls[replica] as string, version, ids[session] as string, name, args).then(() => calls++, () => errors++);
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  }
  await Promise.race([Promise.all(inFlight), new Promise((resolve) => setTimeout(resolve, 5000))]);
  return { calls, errors };
}

export async function measurePoint(o: PointOptions): Promise<Point> {
  const redis = await TestRedis.start();
  const probe = redis.client();
  // A creation rate far above what the bench opens: the fleet-wide limiter runs (and is counted) but never refuses.
  const env = { REDIS_URL: redis.url, MCP_RESPONSE_MODE: o.mode, SESSION_CREATE_RATE: '100000/m', LOG_LEVEL: 'info', SESSION_KEY_PREFIX: PREFIX, SESSION_IDLE_TTL: o.idleTtl };
  const starts: number[] = [];
  const servers = await Promise.all(Array.from({ length: o.replicas }, (_, i) => ServerProcess.start({ env }).then((s) => ((starts[i] = Date.now()), s))));
  const closers: Array<() => void> = [];
  const cpuAll = () => servers.reduce((sum, s) => sum + cpu(s.pid), 0);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1500)); // channels proven, first timers run
    const usedBefore = infoField(await probe.info('memory'), 'used_memory');
    const urls = servers.map((s) => s.url);
    const creating = await watch(redis.url, PREFIX);
    const ids = await pool(Array.from({ length: o.sessions }, (_, i) => i), 8, (i) => open(urls[i % o.replicas] as string, o.protocolVersion));
    await pool(ids.map((id, i) => [id, urls[i % o.replicas] as string] as const), 8, ([id, url]) => call(url, o.protocolVersion, id, 'remember', { key: 'k', value: 'v' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const creation = { census: await creating.stop(), sessions: ids.length };
    // Warm-up: every session called on every replica, so the window has no restores.
    const warm = await watch(redis.url, PREFIX);
    const pairs = ids.flatMap((id) => urls.map((url) => [id, url] as const));
    const cpuWarm = cpuAll();
    await pool(pairs, 8, ([id, url]) => call(url, o.protocolVersion, id, 'session_info', {}));
    const warmCpu = cpuAll() - cpuWarm;
    const warmCensus = await warm.stop();
    const streamed = Math.round(o.sessions * o.streamShare);
    for (let i = 0; i < streamed; i++) closers.push(await holdStream(urls[(i + 1) % o.replicas] as string, o.protocolVersion, ids[i] as string));
    const preroll = await openLoop(urls, ids, o.protocolVersion, o.callsPerSecond, o.prerollSeconds);

    const statsBefore = await commandstats(probe);
    const census = await watch(redis.url, PREFIX);
    const cpuBefore = cpuAll();
    const windowStart = Date.now();
    const started = performance.now();
    const { calls, errors } = await openLoop(urls, ids, o.protocolVersion, o.callsPerSecond, o.seconds);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the last flushes
    const seconds = (performance.now() - started) / 1000;
    const windowEnd = Date.now();
    const windowCpu = cpuAll() - cpuBefore;
    const window = await census.stop();
    const commands = (await commandstats(probe)) - statsBefore;

    const heartbeatChannels = (await probe.pubsub('CHANNELS', `${PREFIX}heartbeat:*`)) as string[];
    const numsub = (await probe.pubsub('NUMSUB', `${PREFIX}events`, ...heartbeatChannels)) as Array<string | number>;
    const beats = numsub.filter((_, i) => i % 2 === 1).slice(1).map(Number);
    const clientList = (await probe.client('LIST')) as string;
    const others = clientList.split('\n').filter((line) => line && !/ cmd=client\|list /.test(line) && !/ flags=O /.test(line));
    const memory = await probe.info('memory');
    const keys = await keyCensus(probe);
    const after = servers.map((s) => rss(s.pid));
    const live = await Promise.all(servers.map(liveSessions));

    // One session's log past its bounds (100 events): 110 more calls, at least one event each in SSE mode.
    let fullLog: Point['fullLog'];
    if (o.mode === 'sse') {
      const id = ids[0] as string;
      for (let i = 0; i < 110; i++) await call(urls[0] as string, o.protocolVersion, id, 'session_info', {});
      await new Promise((resolve) => setTimeout(resolve, 50));
      const key = `${PREFIX}session:{${id}}`;
      fullLog = { bytes: Number(await probe.memory('USAGE', `${key}:events`, 'SAMPLES', '0')), entries: await probe.xlen(`${key}:events`), counted: Number(await probe.hget(key, 'eb')) };
    }
    let rssProbe: Point['rssProbe'];
    if (o.rssSessions > 0) {
      const server = servers[0] as ServerProcess;
      const [before, liveBefore] = [rss(server.pid), await liveSessions(server)];
      await pool(Array.from({ length: o.rssSessions }), 8, async () => call(server.url, o.protocolVersion, await open(server.url, o.protocolVersion), 'session_info', {}));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const added = (await liveSessions(server)) - liveBefore;
      rssProbe = { sessions: added, bytes: (rss(server.pid) - before) / added };
    }
    o.log(`R=${o.replicas} ${o.mode}: ${calls} calls (${errors} errors) in ${seconds.toFixed(1)} s, ${streamed} GET streams, ${commands} commands (commandstats)`);
    return {
      replicas: o.replicas,
      mode: o.mode,
      sessions: o.sessions,
      streams: streamed,
      seconds,
      calls,
      errors,
      callsBeforeCensus: ids.length + pairs.length + preroll.calls + calls,
      window,
      warmup: { census: warmCensus, calls: pairs.length, restores: o.sessions * (o.replicas - 1) },
      creation,
      times: { starts, windowStart, windowEnd },
      cpuSeconds: { warmup: warmCpu, window: windowCpu },
      commandstats: commands,
      numsub: { events: Number(numsub[1]), heartbeatPerChannel: beats.length ? beats.reduce((a, b) => a + b, 0) / beats.length : 0 },
      connections: { total: others.length, subscribers: others.filter((line) => /flags=P/.test(line) || / sub=[1-9]/.test(line)).length },
      redisMemory: { usedBefore, usedAfter: infoField(memory, 'used_memory'), clients: infoField(memory, 'mem_clients_normal'), keys },
      fullLog,
      replicaRss: { after, liveSessions: live },
      rssProbe,
    };
  } finally {
    for (const close of closers) close();
    await Promise.all(servers.map((s) => s.kill('SIGKILL')));
    probe.disconnect();
    await redis.close();
  }
}
