// The chaos drill: replicas behind a readiness-aware proxy, looping clients, drained restarts, kills and a Redis outage.
import { freePort } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { describeCall, keyHistory, type CallRecord, type ResumeRecord } from './chaos-calls.js';
import { ChaosClient, type LossReason } from './chaos-client.js';
import { DrillRedis, type DrillTopology } from './chaos-store.js';
import { RoundRobinProxy } from './proxy.js';
import { LIVENESS } from '../app/mcp/liveness.js';

export interface DrillOptions {
  readonly mode: 'redis' | 'memory';
  /** Redis mode: one node (default), or a 3-master cluster whose sessions' slots move mid-run and whose outage is one master restarting. */
  readonly topology?: DrillTopology;
  /** Replicas (separate processes). */
  readonly replicas: number;
  /** Concurrent legacy clients, one session each. */
  readonly clients: number;
  /** Calm time before the first fault and between phases. */
  readonly settleMs: number;
  /** Rounds of rolling restarts (SIGTERM, start again), one replica at a time. */
  readonly rollingRounds: number;
  /** Random SIGKILLs, each followed by a restart. */
  readonly kills: number;
  /** How long Redis stays down (redis mode only); it comes back with its data, as after a restart or failover. */
  readonly outageMs: number;
  /** How long replica 0 runs with its invalidation connection frozen (redis mode only; 0 skips the phase). */
  readonly frozenMs?: number;
  readonly thinkMs: number;
  readonly callTimeoutMs: number;
  /** Replicas' DRAIN_DELAY; the proxy polls /readyz at a third of it, so it stops routing well within it. Default 1 s. */
  readonly drainDelayMs?: number;
  /** Share of clients whose tool asks the user (elicitation) now and then; the proxy sends each answer to any replica. Default 0.2. */
  readonly elicitShare?: number;
  readonly log?: (line: string) => void;
}

export interface DrillResult {
  readonly mode: 'redis' | 'memory';
  readonly topology: DrillTopology;
  /** Sessions whose hash slot moved to another master mid-run (cluster only). */
  readonly slotsMoved: number;
  readonly sessions: number;
  readonly lost: number;
  readonly lostBy: Partial<Record<LossReason, number>>;
  readonly lostDetails: string[];
  readonly calls: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly failuresByPhase: Record<string, number>;
  /** Writes refused honestly ("Not saved: … retry") while the store could not confirm them. */
  readonly refused: number;
  /** Reads that showed a key older than a write the server had confirmed (target 0). */
  readonly confirmedWritesLost: number;
  /** Reads that showed a write delivered by the drill's proxy after its client timed out on it (harness, not server), each explained like a loss. */
  readonly lateDeliveries: string[][];
  /** Each confirmed write lost, explained: the read, then its key's writes from the one whose value it showed (`keyHistory`). */
  readonly lossHistories: string[][];
  /** Eliciting clients' forget_all calls, answers given, and calls that did not end with the answer, by phase (target 0 outside SIGKILL and the Redis outage). */
  readonly elicitations: {
    clients: number;
    calls: number;
    answered: number;
    /** Lost calls by the phase they ended in (for the report; the target uses `lostByFault`). */
    lostByPhase: Record<string, number>;
    /** Lost calls by the fault they are charged to (`faultOf`); 'none' is the target 0. */
    lostByFault: Record<string, number>;
    /** Each lost call: replica, phases, outcome, its questions and where their answers went, and the fault charged. */
    lost: string[];
  };
  /** Calls in flight on a replica when it was SIGKILLed, and how each ended (`orphanReport`). */
  readonly orphans: OrphanReport;
  readonly proxy502: number;
  /** Requests the proxy answered 503 because no replica was ready. */
  readonly proxyNoUpstream: number;
  /** Exit codes of the replicas stopped with SIGTERM (a clean drain exits 0). */
  readonly drainExitCodes: Array<number | null>;
  readonly restarts: number;
  readonly kills: number;
  readonly outageMs: number;
  readonly frozenMs: number;
  readonly seconds: number;
}

/**
 * Calls that were running on a replica when it was SIGKILLed: those that failed fast (-32003, "may or
 * may not have taken effect", with the time from the kill), those the client timed out, and the rest.
 */
export interface OrphanReport {
  readonly inFlight: number;
  readonly failedFast: number;
  /** Milliseconds from the kill to the -32003 answer. */
  readonly failedFastMs: { p50: number; max: number } | undefined;
  readonly timeouts: number;
  /**
   * Timed out after a resume refused with "names no stream": the replica died before its batched event
   * write (5 ms behind the response) reached the store, so no replica knows the call to answer for it.
   */
  readonly unresumable: number;
  /**
   * Timed out while Redis was down, the outage having begun within `FAIL_FAST_WINDOW_MS` of the kill: the
   * answer for a dead writer needs Redis (its liveness key, the log), so the outage took the chance away.
   */
  readonly inOutage: number;
  /** Other ends (an answer that was on its way, a reset…), by outcome. */
  readonly other: Record<string, number>;
  /** The timeouts and other ends, one line each. */
  readonly details: string[];
}

/** Classifies the calls whose POST reached a killed replica before its kill and had not ended by then. */
/**
 * How long after a kill its orphaned calls may take to fail fast: the writer's liveness key expires, the
 * watcher misses it twice, and a loaded machine adds a second.
 */
export const FAIL_FAST_WINDOW_MS = LIVENESS.ttlMs + LIVENESS.misses * LIVENESS.checkMs + 1000;

export function orphanReport(clients: ReadonlyArray<{ calls: readonly CallRecord[]; resumes: readonly ResumeRecord[] }>, kills: ReadonlyArray<{ port: number; at: number }>, t0: number, outage?: { from: number; to: number }): OrphanReport {
  const calls = clients.flatMap((c) => c.calls);
  const resumesOf = (call: CallRecord) => clients.find((c) => c.calls.includes(call))?.resumes;
  const orphans = calls.filter((c) => kills.some((k) => c.port === k.port && c.started < k.at && (c.ended === undefined || c.ended > k.at)));
  const killOf = (c: CallRecord) => kills.find((k) => c.port === k.port && c.started < k.at && (c.ended === undefined || c.ended > k.at)) as { at: number };
  const fast = orphans.filter((c) => c.outcome === 'orphaned').map((c) => (c.ended as number) - killOf(c).at).sort((a, b) => a - b);
  const unknownStream = (c: CallRecord) =>
    c.outcome === 'timeout' && (resumesOf(c) ?? []).some((r) => r.at >= c.started && r.at <= (c.ended as number) && r.status === 400 && r.refusal?.includes('names no stream'));
  const inOutage = (c: CallRecord) =>
    c.outcome === 'timeout' && !unknownStream(c) && outage !== undefined && outage.from < killOf(c).at + FAIL_FAST_WINDOW_MS && (c.ended ?? Number.POSITIVE_INFINITY) > outage.from;
  const other: Record<string, number> = {};
  for (const c of orphans) if (c.outcome !== 'orphaned' && c.outcome !== 'timeout') other[c.outcome ?? 'unfinished'] = (other[c.outcome ?? 'unfinished'] ?? 0) + 1;
  return {
    inFlight: orphans.length,
    failedFast: fast.length,
    failedFastMs: fast.length ? { p50: Math.round(fast[Math.floor((fast.length - 1) / 2)] as number), max: Math.round(fast.at(-1) as number) } : undefined,
    timeouts: orphans.filter((c) => c.outcome === 'timeout' && !unknownStream(c) && !inOutage(c)).length,
    unresumable: orphans.filter(unknownStream).length,
    inOutage: orphans.filter(inOutage).length,
    other,
    details: orphans.filter((c) => c.outcome !== 'orphaned').map((c) => describeCall(c, t0, resumesOf(c))),
  };
}

/** When the drill's faults struck: each SIGKILL (port, time) and the Redis outage. */
export interface FaultTimes {
  /** `back`: when the proxy routed to the restarted replica again. */
  readonly kills: ReadonlyArray<{ port: number; at: number; back?: number }>;
  readonly outage?: { from: number; to: number };
}

/**
 * The fault a call's failure is charged to: 'SIGKILL' if the call ran on, or sent an answer to, a
 * replica between its kill and its return (a kill during the call, or a 502 from the dead replica
 * before the proxy noticed); 'Redis down' if the outage overlapped the call; else
 * 'none'. Charged by what the call touched and when it ran, not by the phase the client gave up in: a
 * call doomed by a kill can time out seconds later, after the drill has moved to its next phase.
 */
export function faultOf(call: CallRecord, faults: FaultTimes): 'SIGKILL' | 'Redis down' | 'none' {
  const end = call.ended ?? Number.POSITIVE_INFINITY;
  const ports = [call.port, ...(call.questions ?? []).map((q) => q.answerPort)];
  if (faults.kills.some((k) => k.at < end && (k.back ?? Number.POSITIVE_INFINITY) > call.started && ports.includes(k.port))) return 'SIGKILL';
  if (faults.outage && faults.outage.from < end && faults.outage.to > call.started) return 'Redis down';
  return 'none';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runDrill(options: DrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => {});
  const started = performance.now();
  const topology = options.topology ?? 'one node';
  const redis = options.mode === 'redis' ? await DrillRedis.start(topology) : undefined;
  const freezer = redis?.freezer;
  const ports = await Promise.all(Array.from({ length: options.replicas }, () => freePort()));
  const drainDelayMs = options.drainDelayMs ?? 1000;
  const env = (i: number): Record<string, string> => ({
    LOG_LEVEL: 'info', // the harness waits for the info-level "listening" line
    REPLICA_NAME: `replica-${i}`,
    DRAIN_DELAY: `${drainDelayMs}ms`,
    // Calls are bounded by the client's timeout anyway; a drain never needs longer than that.
    DRAIN_TIMEOUT: `${options.callTimeoutMs + 1000}ms`,
    ...(redis ? redis.env(i) : {}),
  });
  const servers = await Promise.all(ports.map((port, i) => ServerProcess.start({ env: env(i), port })));
  const proxy = await RoundRobinProxy.start(ports, { pollMs: Math.max(100, Math.round(drainDelayMs / 3)) });
  let stop = false;
  let phase = 'warm-up';
  const eliciting = Math.round(options.clients * (options.elicitShare ?? 0.2));
  const clients = Array.from(
    { length: options.clients },
    (_, i) => new ChaosClient(i, { url: proxy.url, thinkMs: options.thinkMs, callTimeoutMs: options.callTimeoutMs, stopped: () => stop, phase: () => phase, elicits: i < eliciting, forwardedAt: (id) => proxy.routes.get(id)?.at }),
  );
  const running = clients.map((c) => c.run());
  const allLost = () => clients.every((c) => c.tally.lost !== undefined);
  const pause = async (ms: number) => {
    for (let waited = 0; waited < ms && !allLost(); waited += 100) await sleep(100);
  };
  let restarts = 0;
  let kills = 0;
  const killed: Array<{ port: number; at: number; back?: number }> = [];
  let outage: { from: number; to: number } | undefined;
  let slotsMoved = 0;
  const liveSessions = () => clients.flatMap((c) => (c.sessionId && !c.tally.lost ? [c.sessionId] : []));
  const drainExitCodes: Array<number | null> = [];
  /** Starts a stopped replica and waits until the proxy routes to it again, as the platform does. */
  const bringBack = async (server: ServerProcess) => {
    await server.restart();
    await proxy.waitUntilReady(server.port);
  };
  try {
    await pause(options.settleMs);
    for (let round = 1; round <= options.rollingRounds && !allLost(); round++) {
      phase = `rolling restart ${round}`;
      log(`${options.mode}: ${phase}`);
      for (const server of servers) {
        // SIGTERM, then the drain runs its course (readiness fails, calls finish) and the process exits.
        drainExitCodes.push(await server.kill('SIGTERM'));
        await bringBack(server);
        restarts++;
        await pause(options.settleMs / 2);
      }
    }
    for (let k = 0; k < options.kills && !allLost(); k++) {
      const server = servers[Math.floor(Math.random() * servers.length)] as ServerProcess;
      phase = `SIGKILL ${k + 1}`;
      log(`${options.mode}: SIGKILL replica on port ${server.port}`);
      killed.push({ port: server.port, at: performance.now() });
      await server.kill('SIGKILL');
      kills++;
      await pause(options.settleMs / 2);
      await bringBack(server);
      (killed.at(-1) as { back?: number }).back = performance.now();
      await pause(options.settleMs / 2);
      // Redis stays up until the kill's orphans can have failed fast (their answer needs Redis).
      await pause(Math.max(0, (killed.at(-1) as { at: number }).at + FAIL_FAST_WINDOW_MS - performance.now()));
    }
    if (freezer && options.frozenMs && !allLost()) {
      phase = 'frozen subscriber';
      log(`${options.mode}: replica 0's invalidation connection frozen (${freezer.freezeSubscribers()} connection)`);
      await pause(options.frozenMs);
    }
    if (redis?.cluster && !allLost()) {
      phase = 'slot migration';
      slotsMoved = await redis.migrateSessions(liveSessions());
      log(`${options.mode}: moved the slots of ${slotsMoved} live sessions to other masters`);
      await pause(options.settleMs / 2);
    }
    if (redis && !allLost()) {
      log(`${options.mode}: Redis down for ${options.outageMs} ms`);
      phase = 'Redis down';
      const down = await redis.outage(options.outageMs, pause, liveSessions());
      outage = { from: down.from, to: down.to };
      phase = 'Redis back';
      log(`${options.mode}: ${down.what} back (with its data, as after a restart or failover)`);
    }
    phase = 'settle';
    await pause(options.settleMs * 2);
    phase = 'final check';
  } finally {
    stop = true;
    await Promise.allSettled(running);
    await proxy.close();
    if (process.env.CHAOS_DUMP_LOGS) {
      const { writeFileSync } = await import('node:fs');
      servers.forEach((s, i) => writeFileSync(`${process.env.CHAOS_DUMP_LOGS}/replica-${i}.log`, s.output));
    }
    await Promise.all(servers.map((s) => s.kill('SIGKILL')));
    await redis?.close();
  }
  for (const call of clients.flatMap((c) => c.calls)) {
    const routed = proxy.routes.get(call.id);
    if (routed !== undefined) Object.assign(call, { routedTo: routed.port, routedAt: routed.at });
  }
  const tallies = clients.map((c) => c.tally);
  const failures: Record<string, number> = {};
  const failuresByPhase: Record<string, number> = {};
  const lostBy: Partial<Record<LossReason, number>> = {};
  const elicitations = {
    clients: eliciting,
    calls: 0,
    answered: 0,
    lostByPhase: {} as Record<string, number>,
    lostByFault: {} as Record<string, number>,
    lost: [] as string[],
  };
  const faults: FaultTimes = { kills: killed, ...(outage ? { outage } : {}) };
  for (const c of clients) {
    for (const call of c.lostElicitations) {
      const fault = faultOf(call, faults);
      elicitations.lostByFault[fault] = (elicitations.lostByFault[fault] ?? 0) + 1;
      elicitations.lost.push(`${describeCall(call, started, c.resumes)}; charged to: ${fault}`);
    }
  }
  for (const t of tallies) {
    elicitations.calls += t.elicitations.calls;
    elicitations.answered += t.elicitations.answered;
    for (const [phase, n] of Object.entries(t.elicitations.lostByPhase)) elicitations.lostByPhase[phase] = (elicitations.lostByPhase[phase] ?? 0) + n;
    for (const [why, n] of Object.entries(t.failures)) failures[why] = (failures[why] ?? 0) + n;
    for (const [phase, n] of Object.entries(t.failuresByPhase)) failuresByPhase[phase] = (failuresByPhase[phase] ?? 0) + n;
    if (t.lost) lostBy[t.lost] = (lostBy[t.lost] ?? 0) + 1;
  }
  return {
    mode: options.mode,
    topology,
    slotsMoved,
    sessions: clients.length,
    lost: tallies.filter((t) => t.lost).length,
    lostBy,
    lostDetails: clients.filter((c) => c.tally.lost).map((c) => `client ${c.index} (${c.sessionId ?? 'no session'}): ${c.tally.lostDetail ?? ''}`),
    calls: tallies.reduce((n, t) => n + t.calls, 0),
    failed: tallies.reduce((n, t) => n + t.failed, 0),
    failures,
    failuresByPhase,
    refused: tallies.reduce((n, t) => n + t.refused, 0),
    confirmedWritesLost: tallies.reduce((n, t) => n + t.confirmedWritesLost, 0),
    lateDeliveries: clients.flatMap((c) => c.tally.lateDeliveries.map((read) => keyHistory(c.calls, read, started))),
    lossHistories: clients.flatMap((c) => c.tally.lossReads.map((read) => keyHistory(c.calls, read, started))),
    elicitations,
    orphans: orphanReport(clients, killed, started, outage),
    proxy502: proxy.stats.badGateway,
    proxyNoUpstream: proxy.stats.noUpstream,
    drainExitCodes,
    restarts,
    kills,
    outageMs: redis ? options.outageMs : 0,
    frozenMs: freezer ? (options.frozenMs ?? 0) : 0,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
