// `npm run bench -- --scaling-only`: the scaling model of docs/scaling.md checked on this machine. Runs
// 1, 3 and 6 replicas in SSE and JSON mode, takes the model's constants from the 1-replica run of each
// mode, predicts every term at the other points, prints measured vs predicted, then projects the fleet.
// Knobs (env): SCALING_REPLICAS (1,3,6), SCALING_SESSIONS (48), SCALING_RATE (30 calls/s),
// SCALING_SECONDS (6), SCALING_STREAM_SHARE (0.33), SCALING_RSS_SESSIONS (500), SCALING_PROTOCOL
// (2025-11-25); SCALING_FROM=<json> re-runs
// the model over an earlier run's measurements.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { TestRedisCluster } from '../test/support/redis-cluster.js';
import { ServerProcess } from '../test/support/server-process.js';
import { KINDS } from './scaling-census.js';
import { commandsPerSecond, connectionsPerReplica, DEFAULT_TIMERS, deliveries, redisMemory, replicaMemory, total, type Constants, type Load, type Timers } from './scaling-model.js';
import { measurePoint, PREFIX, type Point } from './scaling-run.js';

const env = process.env;
const REPLICAS = (env.SCALING_REPLICAS ?? '1,3,6').split(',').map(Number);
const SESSIONS = Number(env.SCALING_SESSIONS ?? 48); // S + 1 prime to 2 and 3: calls visit every replica
const RATE = Number(env.SCALING_RATE ?? 30);
const SECONDS = Number(env.SCALING_SECONDS ?? 6);
const SHARE = Number(env.SCALING_STREAM_SHARE ?? 0.33);
/** What SDK 1.32 clients negotiate; 2025-06-18 and older have no priming events (one event per call, no liveness key). */
const PROTOCOL = env.SCALING_PROTOCOL ?? '2025-11-25';
const RSS_SESSIONS = Number(env.SCALING_RSS_SESSIONS ?? 500);
const IDLE_TTL = '20s';
const PREROLL_SECONDS = 2;
/** The run's timers: defaults, but a touch interval of SESSION_IDLE_TTL / 10 = 2 s so touches show in a short window. */
const RUN_TIMERS: Timers = { ...DEFAULT_TIMERS, touchIntervalMs: 2000 };

const perSecond = (p: Point, n: number) => n / p.seconds;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const gb = (bytes: number) => `${(bytes / 1e9).toFixed(1)} GB`;

/** The model's constants from one point (R = 1): counts per call, bytes per session. */
function calibrate(p: Point, rssPerSession: number, cluster: ClusterConnections): Constants {
  const c = p.window;
  const calls = Math.max(1, p.calls);
  const streamedCalls = calls * (p.streams / p.sessions);
  const sessions = p.redisMemory.keys.session ?? { count: 1, bytes: 0 };
  const logs = p.redisMemory.keys.eventLog ?? { count: 1, bytes: 0, entries: 0 };
  const eventsPerCall = (c.inScripts.xadd ?? 0) / calls;
  const created = p.creation.census.topLevel;
  const live = p.replicaRss.liveSessions;
  const rssAfter = p.replicaRss.after.reduce((a, b) => a + b, 0) / p.replicaRss.after.length;
  const warmLoads = p.warmup.census.topLevel.load;
  return {
    dataPerCall: c.topLevel.data / calls,
    appendsPerCall: c.topLevel.eventAppend / calls,
    eventsPerCall,
    inScriptsPerAppend: c.topLevel.eventAppend ? (['exists', 'hget', 'xadd', 'xlen', 'hset', 'pexpire', 'pttl', 'time', 'publish', 'xrange', 'xdel'] as const).reduce((n, name) => n + (c.inScripts[name] ?? 0), 0) / c.topLevel.eventAppend : 0,
    // Announcements are PUBLISHed inside the append script: counted where they run.
    announcesPerCall: c.publishes.events.count / calls,
    flushWindowMs: flushWindow(c.topLevel.eventAppend / p.seconds / p.replicas, c.publishes.events.count / p.seconds / p.replicas),
    touchesRide: eventsPerCall > 0,
    idsPerAnnounce: c.publishes.events.count ? c.announcedIds / c.publishes.events.count : 0,
    bytesPerAnnounce: c.publishes.events.count ? c.publishes.events.bytes / c.publishes.events.count : 0,
    streamReadsPerStreamedCall: streamedCalls ? c.topLevel.streamRead / streamedCalls : 0,
    // SETs/s = min(R, x): below one SET per replica-second, the SETs are the open calls.
    openCalls: c.topLevel.liveness / p.seconds,
    // Measured where there are restores (R > 1 warm-up); 1 HMGET until then.
    commandsPerRestore: Math.max(1, warmLoads / Math.max(1, p.warmup.restores)),
    shapePerCreation: created.shape / p.creation.sessions,
    limitsPerCreation: created.limits / p.creation.sessions,
    hashBytes: sessions.bytes / Math.max(1, sessions.count),
    logBytesPerEntry: logs.entries ? logs.bytes / logs.entries : 0,
    logEntriesBase: logs.entries / p.sessions - eventsPerCall * (p.callsBeforeCensus / p.sessions),
    fullLogBytes: p.mode === 'sse' ? (p.fullLog?.bytes ?? 0) : 0,
    replicaBaseBytes: rssAfter - (live.reduce((a, b) => a + b, 0) / live.length) * rssPerSession,
    replicaBytesPerLiveSession: rssPerSession,
    connectionsSingle: p.connections.total / p.replicas,
    connectionsPerMaster: cluster.perMaster,
    connectionsClusterFixed: cluster.fixed,
  };
}

/** The batching window w that makes u appends/s on one replica give a announcements/s: a = u / (1 + u·w). */
function flushWindow(u: number, a: number): number {
  return a > 0 && u > a ? ((u / a - 1) / u) * 1000 : 0;
}

interface ClusterConnections {
  readonly masters: number;
  /** Connections on each node per replica (the seed node first). */
  readonly perNode: number[];
  readonly perMaster: number;
  readonly fixed: number;
}

/** Connections one replica opens to a local 3-master cluster (REDIS_CLUSTER=true), node by node. */
async function clusterConnections(): Promise<ClusterConnections> {
  const cluster = await TestRedisCluster.start();
  const nodes = cluster.ports.map((port) => cluster.node(port));
  const count = async () => Promise.all(nodes.map(async (n) => Number(/^connected_clients:(\d+)/m.exec(await n.info('clients'))?.[1]) - 1));
  try {
    const before = await count();
    const replicas = [];
    for (let i = 0; i < 2; i++) replicas.push(await ServerProcess.start({ env: { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true', LOG_LEVEL: 'info', SESSION_KEY_PREFIX: PREFIX, SESSION_CREATE_RATE: 'off' } }));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = await count();
    await Promise.all(replicas.map((r) => r.kill('SIGKILL')));
    const perNode = after.map((n, i) => (n - (before[i] ?? 0)) / replicas.length);
    // The command client holds one connection per master; the rest (the classic subscriber on the seed
    // node, the sharded subscriber's) is taken as fixed: only M = 3 is measured here.
    const perMaster = 1;
    const fixed = perNode.reduce((a, b) => a + b, 0) - perMaster * nodes.length;
    return { masters: nodes.length, perNode, perMaster, fixed };
  } finally {
    for (const n of nodes) n.disconnect();
    await cluster.close();
  }
}

const loadOf = (p: Point): Load => ({ replicas: p.replicas, sessions: p.sessions, callsPerSecond: p.calls / p.seconds, streamShare: p.streams / p.sessions });

function compare(p: Point, k: Constants) {
  const load = loadOf(p);
  const predicted = commandsPerSecond(load, k, RUN_TIMERS);
  // Timers slower than the window: count the ticks that fell inside it (each replica's start sets its phase).
  const { starts, windowStart, windowEnd } = p.times;
  const ticks = (start: number, period: number) => Math.floor((windowEnd - start) / period) - Math.floor((windowStart - start) / period);
  predicted.memory = starts.reduce((sum, start) => sum + ticks(start, RUN_TIMERS.memoryCheckMs), 0) / p.seconds;
  const streamsOn = (r: number) => Array.from({ length: p.streams }, (_, i) => (i + 1) % p.replicas).filter((x) => x === r).length;
  predicted.load = starts.reduce((sum, start, r) => sum + ticks(start, RUN_TIMERS.goneCheckMs) * streamsOn(r), 0) / p.seconds;
  const rows = KINDS.map((kind) => ({ kind, measured: perSecond(p, p.window.topLevel[kind]), predicted: predicted[kind] }));
  const inScripts = Object.values(p.window.inScripts).reduce((a, b) => a + b, 0);
  const measuredDeliveries = (p.window.publishes.events.count * p.numsub.events + p.window.publishes.heartbeat.count * p.numsub.heartbeatPerChannel) / p.seconds / p.replicas;
  const d = deliveries(load, k, RUN_TIMERS);
  const sessionBytes = ((p.redisMemory.keys.session?.bytes ?? 0) + (p.redisMemory.keys.eventLog?.bytes ?? 0)) / p.sessions;
  const live = p.replicaRss.liveSessions;
  return {
    replicas: p.replicas,
    mode: p.mode,
    callsPerSecond: load.callsPerSecond,
    commands: rows,
    totalTopLevel: { measured: rows.reduce((a, r) => a + r.measured, 0), predicted: total(predicted) },
    perCallTopLevel: rows.reduce((a, r) => a + r.measured, 0) / load.callsPerSecond,
    inScriptsPerSecond: inScripts / p.seconds,
    // MONITOR (top level + inside scripts, INFO left out) against INFO commandstats.
    censusVsCommandstats: { census: (rows.reduce((a, r) => a + r.measured, 0) - perSecond(p, p.window.topLevel.memory)) * p.seconds + inScripts, commandstats: p.commandstats },
    deliveriesPerReplica: { measured: measuredDeliveries, predicted: d.perReplica, subscribersOnEvents: p.numsub.events },
    redisBytesPerSession: { measured: sessionBytes, predicted: redisMemory({ ...load, sessions: 1 }, k, p.callsBeforeCensus / p.sessions), callsPerSession: p.callsBeforeCensus / p.sessions },
    replicaRss: { measured: live.map((_, i) => p.replicaRss.after[i] ?? 0), predicted: live.map((n) => replicaMemory(n, k)), liveSessions: live },
    connectionsPerReplica: { measured: p.connections.total / p.replicas, predicted: connectionsPerReplica(load, k), subscribers: p.connections.subscribers / p.replicas },
  };
}

/**
 * 100 replicas, a million sessions each calling every 30 s, every client holding a GET stream, a session
 * lasting an hour (creations = S / 3600 s). "spread": calls land on any replica (no affinity), so a
 * replica holds MAX_LIVE_SESSIONS (2,000) of them and nearly every call restores; "sticky": each session
 * stays on one replica (S / R live there).
 */
function project(k: Constants, cluster: ClusterConnections, cpuMsPerRestore: number, cpuMsPerCall: number) {
  const base: Load = { replicas: 100, sessions: 1_000_000, callsPerSecond: 1_000_000 / 30, streamShare: 1, createsPerSecond: 1_000_000 / 3600 };
  const scenarios = {
    spread: { ...base, liveHitRatio: Math.min(1, 2000 / base.sessions) },
    // Sticky needs MAX_LIVE_SESSIONS >= S / R (10,000 here; the default 2,000 would miss 4 calls in 5).
    sticky: { ...base, liveHitRatio: 1, replicasPerSession: 1 },
  };
  return Object.fromEntries(Object.entries(scenarios).map(([name, load]) => {
    // The limiter is not seen by the bench (loopback clients without auth are exempt): one token-bucket and one cap script per initialize (app/http/app.ts, app/mcp/principal-cap.ts).
    const rates = commandsPerSecond(load, { ...k, limitsPerCreation: k.limitsPerCreation || 2 });
    const d = deliveries(load, k);
    const live = load.liveHitRatio === 1 ? load.sessions / load.replicas : 2000;
    const perReplicaCalls = load.callsPerSecond / load.replicas;
    const restoresPerReplica = (1 - (load.liveHitRatio ?? 1)) * perReplicaCalls;
    return [name, {
      load,
      commandsPerSecond: Math.round(total(rates)),
      byKind: Object.fromEntries(Object.entries(rates).map(([kind, v]) => [kind, Math.round(v)])),
      inScriptsPerSecond: Math.round(rates.eventAppend * (k.inScriptsPerAppend ?? 0)),
      deliveriesPerReplica: Math.round(d.perReplica),
      deliveriesTotal: Math.round(d.total),
      pubsubBytesPerSecondTotal: Math.round(d.bytesTotal),
      // Sessions nobody DELETEs stay until SESSION_IDLE_TTL after their last call, logs and all.
      redisBytes: {
        after10Calls: Math.round(redisMemory(load, k, 10)),
        fullLogs: Math.round(redisMemory(load, k, Number.POSITIVE_INFINITY)),
        withIdle8h: Math.round(redisMemory({ ...load, sessions: load.sessions + (load.createsPerSecond ?? 0) * 8 * 3600 }, k, Number.POSITIVE_INFINITY)),
        withIdle1h: Math.round(redisMemory({ ...load, sessions: load.sessions + (load.createsPerSecond ?? 0) * 3600 }, k, Number.POSITIVE_INFINITY)),
      },
      replicaBytes: Math.round(replicaMemory(live, k)),
      replicaCpuCores: (restoresPerReplica * cpuMsPerRestore + perReplicaCalls * cpuMsPerCall) / 1000,
      restoresPerReplicaPerSecond: Math.round(restoresPerReplica),
      connections: { single: connectionsPerReplica(load, k) * load.replicas, cluster3: connectionsPerReplica({ ...load, cluster: true, masters: cluster.masters }, k) * load.replicas },
    }];
  }));
}

export async function scaling(log: (line: string) => void): Promise<void> {
  log(`scaling: replicas ${REPLICAS.join(', ')} x {sse, json}; ${SESSIONS} sessions, ${RATE} calls/s open loop for ${SECONDS} s, ${Math.round(SESSIONS * SHARE)} GET streams, calls spread over the replicas, protocol ${PROTOCOL}`);
  // SCALING_FROM=<an earlier scaling-latest.json>: the model again over that run's measurements (no new run).
  const earlier = env.SCALING_FROM ? (JSON.parse(readFileSync(env.SCALING_FROM, 'utf8')) as { points: Point[]; cluster: ClusterConnections; when: string }) : undefined;
  const points: Point[] = earlier?.points ?? [];
  for (const mode of earlier ? [] : (['sse', 'json'] as const)) {
    for (const replicas of REPLICAS) {
      points.push(await measurePoint({ replicas, mode, sessions: SESSIONS, callsPerSecond: RATE, seconds: SECONDS, prerollSeconds: PREROLL_SECONDS, streamShare: SHARE, protocolVersion: PROTOCOL, idleTtl: IDLE_TTL, rssSessions: replicas === 1 && mode === 'sse' ? RSS_SESSIONS : 0, log }));
    }
  }
  if (!earlier) log('scaling: connections to a 3-master cluster (REDIS_CLUSTER=true)');
  const cluster = earlier?.cluster ?? (await clusterConnections());
  const rssPerSession = points.find((p) => p.rssProbe)?.rssProbe?.bytes ?? Number.NaN;
  const constants: Record<string, Constants> = {};
  const comparisons = [];
  for (const mode of ['sse', 'json'] as const) {
    const own = points.filter((p) => p.mode === mode);
    const calibration = own.find((p) => p.replicas === Math.min(...REPLICAS)) as Point;
    const k = calibrate(calibration, rssPerSession, cluster);
    // Restores happen only where there is more than one replica: take their cost from the largest run.
    const widest = own.reduce((a, b) => (b.replicas > a.replicas ? b : a));
    // A restore reads the record (HMGET) and, as the session's first call on that replica, touches it (JSON
    // mode; in SSE mode that touch rides on the call's append).
    if (widest.warmup.restores > 0) Object.assign(k, { commandsPerRestore: (widest.warmup.census.topLevel.load + widest.warmup.census.topLevel.touch) / widest.warmup.restores });
    constants[mode] = k;
    for (const p of own) comparisons.push(compare(p, k));
  }
  for (const c of comparisons) {
    log(`R=${c.replicas} ${c.mode} (${c.callsPerSecond.toFixed(1)} calls/s): top-level commands/s measured ${c.totalTopLevel.measured.toFixed(1)} vs predicted ${c.totalTopLevel.predicted.toFixed(1)} (${c.perCallTopLevel.toFixed(2)} per call), in scripts ${c.inScriptsPerSecond.toFixed(1)}/s; census ${c.censusVsCommandstats.census} vs commandstats ${c.censusVsCommandstats.commandstats}`);
    log(`  by kind (measured/predicted per s): ${c.commands.filter((r) => r.measured || r.predicted).map((r) => `${r.kind} ${r.measured.toFixed(2)}/${r.predicted.toFixed(2)}`).join(', ')}`);
    log(`  deliveries per replica/s ${c.deliveriesPerReplica.measured.toFixed(1)}/${c.deliveriesPerReplica.predicted.toFixed(1)} (${c.deliveriesPerReplica.subscribersOnEvents} on events); Redis bytes/session ${Math.round(c.redisBytesPerSession.measured)}/${Math.round(c.redisBytesPerSession.predicted)}; connections/replica ${c.connectionsPerReplica.measured}/${c.connectionsPerReplica.predicted}; RSS ${c.replicaRss.measured.map(mb).join(' ')} vs ${c.replicaRss.predicted.map(mb).join(' ')}`);
  }
  // CPU (replicas' user + system seconds, 10 ms ticks) of the warm-up, a closed loop: per warm call where
  // there are no restores (1 replica), per restore beyond that where there are most (the widest run).
  const sse = points.filter((p) => p.mode === 'sse');
  const narrow = sse.reduce((a, b) => (b.replicas < a.replicas ? b : a));
  const wide = sse.reduce((a, b) => (b.replicas > a.replicas ? b : a));
  const cpuMsPerCall = (narrow.cpuSeconds.warmup * 1000) / narrow.warmup.calls;
  const cpuMsPerRestore = wide.warmup.restores ? (wide.cpuSeconds.warmup * 1000 - wide.warmup.calls * cpuMsPerCall) / wide.warmup.restores : Number.NaN;
  const projection = project(constants.sse as Constants, cluster, cpuMsPerRestore, cpuMsPerCall);
  for (const [name, p] of Object.entries(projection)) {
    log(`projection (${name}, 100 replicas, 1,000,000 sessions, ${Math.round(p.load.callsPerSecond)} calls/s, every session streaming): ${p.commandsPerSecond} top-level commands/s (+${p.inScriptsPerSecond} in scripts), ${p.deliveriesPerReplica} deliveries/s per replica (${p.deliveriesTotal} in all, ${mb(p.pubsubBytesPerSecondTotal)}/s out of Redis), Redis ${gb(p.redisBytes.after10Calls)} after 10 calls per session, ${gb(p.redisBytes.fullLogs)} with full logs, ${gb(p.redisBytes.withIdle8h)} with the abandoned sessions of an 8 h idle TTL (${gb(p.redisBytes.withIdle1h)} at 1 h); replica ${mb(p.replicaBytes)} RSS, ${p.replicaCpuCores.toFixed(2)} cores (${p.restoresPerReplicaPerSecond} restores/s); connections ${p.connections.single} (one endpoint) / ${p.connections.cluster3} (3 masters)`);
  }
  log(`scaling: CPU per warm call ${cpuMsPerCall.toFixed(2)} ms, per restore ${cpuMsPerRestore.toFixed(2)} ms (replicas' CPU seconds over the warm-up; loaded machine)`);
  const out = { when: earlier?.when ?? new Date().toISOString(), ...(earlier ? { reprojectedAt: new Date().toISOString() } : {}), cpuMsPerCall, cpuMsPerRestore, command: 'npm run bench -- --scaling-only', machine: 'loaded: other helpers share the 2 CPUs; counts, not timings', settings: { protocol: PROTOCOL, replicas: REPLICAS, sessions: SESSIONS, callsPerSecond: RATE, seconds: SECONDS, streamShare: SHARE, idleTtl: IDLE_TTL, timers: RUN_TIMERS }, constants, cluster, comparisons, projection, points };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/scaling-latest.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
  log('scaling: wrote bench/results/scaling-latest.json');
}
