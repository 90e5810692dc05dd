// The benchmark's figures (as written to bench/results/*.json) and the table printed from them.
import type { ElicitFigures } from './elicit-bench.js';
import type { LoadResult } from './workload.js';

type Mode = 'memory' | 'redis' | 'naive';
type Percentiles = { p50: number; p99: number };

export interface Figures {
  readonly when: string;
  readonly machine: { node: string; cpus: number; platform: string };
  readonly settings: { sessions: number; seconds: number; rounds: number; storm: number; restoreSample: number; client: string };
  /**
   * The median round per mode, for calls that touch no session data (`session_info`) and calls that read
   * one key (`recall`); `serverCpu` is the server process's CPU use (1 = one core busy).
   */
  readonly warm: Record<'noData' | 'data' | 'noDataSse', Record<Mode, LoadResult & { redisCommandsPerRequest: number; serverCpu: number }>>;
  /** Cross-replica notification latency and replay of 100 missed events (ms). */
  readonly streams: { notificationLatency: Percentiles & { samples: number }; replay100: Percentiles & { samples: number } };
  /** A tool that asks the user (forget_all), answered on the replica that asked vs on another one. */
  readonly elicitation: ElicitFigures;
  /** Commands per second an idle Redis-mode replica sends (the invalidation channel's heartbeat). */
  readonly heartbeatCommandsPerSecond: number;
  readonly restore: {
    /** First request on a replica that never saw the session (Redis mode). */
    restore: Percentiles;
    /** The next request for the same sessions on that replica. */
    warmOnSameReplica: Percentiles;
    storm: { sessions: number; ms: number; served: number };
    /** Server CPU per request (user + system, from /proc): load-independent where latency is not. */
    cpuMs: { restore: number; warm: number; storm: number };
    recordBytes: { memoryUsageMean: number; memoryUsageMax: number; jsonMean: number };
  };
  /** Spawn to listening, p50; `compiled` is `node dist/app/main.js` (what the image runs), memory mode. */
  readonly startupMs: { memory: number; redis: number; compiled?: number };
  readonly heapPerLiveSession: { memory: number; redis: number };
  readonly synthMs: number | undefined;
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}x`;
const pct = (n: number) => `${Math.round(n * 100)}%`;
const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

export function printTable(f: Figures): void {
  const { memory, redis, naive } = f.warm.data;
  const idle = f.warm.noData;
  const r = f.restore;
  const rows: Array<[string, string, string, string, string]> = [
    ['figure', 'memory', 'redis', 'naive (GET+SET)', 'redis vs memory / target'],
    ['no-data call (session_info), req/s', f1(idle.memory.perSecond), f1(idle.redis.perSecond), f1(idle.naive.perSecond), `${ratio(idle.redis.perSecond, idle.memory.perSecond)} (naive ${ratio(idle.naive.perSecond, idle.memory.perSecond)}); >= 0.97x ${verdict(idle.redis.perSecond >= 0.97 * idle.memory.perSecond)}`],
    ['no-data call p50 / p99, ms', `${f2(idle.memory.p50)} / ${f2(idle.memory.p99)}`, `${f2(idle.redis.p50)} / ${f2(idle.redis.p99)}`, `${f2(idle.naive.p50)} / ${f2(idle.naive.p99)}`, `p99 ${ratio(idle.redis.p99, idle.memory.p99)}`],
    ['Redis commands per no-data call', '0', idle.redis.redisCommandsPerRequest.toFixed(4), idle.naive.redisCommandsPerRequest.toFixed(2), `<= 0.01 ${verdict(idle.redis.redisCommandsPerRequest <= 0.01)}`],
    ['data call (recall), req/s', f1(memory.perSecond), f1(redis.perSecond), f1(naive.perSecond), `${ratio(redis.perSecond, memory.perSecond)}; vs naive ${ratio(redis.perSecond, naive.perSecond)}`],
    ['data call p50 / p99, ms', `${f2(memory.p50)} / ${f2(memory.p99)}`, `${f2(redis.p50)} / ${f2(redis.p99)}`, `${f2(naive.p50)} / ${f2(naive.p99)}`, `p99 ${ratio(redis.p99, memory.p99)}`],
    ['Redis commands per data call', '0', redis.redisCommandsPerRequest.toFixed(4), naive.redisCommandsPerRequest.toFixed(2), `exactly 1 ${verdict(Math.abs(redis.redisCommandsPerRequest - 1) < 0.01)}`],
    ['server CPU during data load', pct(memory.serverCpu), pct(redis.serverCpu), pct(naive.serverCpu), '~100% = the server process is the bottleneck'],
    ['SSE no-data call (event log on), req/s', f1(f.warm.noDataSse.memory.perSecond), f1(f.warm.noDataSse.redis.perSecond), f1(f.warm.noDataSse.naive.perSecond), `${ratio(f.warm.noDataSse.redis.perSecond, f.warm.noDataSse.memory.perSecond)}; >= 0.95x ${verdict(f.warm.noDataSse.redis.perSecond >= 0.95 * f.warm.noDataSse.memory.perSecond)}`],
    ['SSE no-data call p50 / p99, ms', `${f2(f.warm.noDataSse.memory.p50)} / ${f2(f.warm.noDataSse.memory.p99)}`, `${f2(f.warm.noDataSse.redis.p50)} / ${f2(f.warm.noDataSse.redis.p99)}`, '', `p99 +${f2(f.warm.noDataSse.redis.p99 - f.warm.noDataSse.memory.p99)} ms; <= +1 ms ${verdict(f.warm.noDataSse.redis.p99 - f.warm.noDataSse.memory.p99 <= 1)}`],
    ['Redis commands per SSE call (pipelined, behind the response)', '0', f.warm.noDataSse.redis.redisCommandsPerRequest.toFixed(2), '', 'one pipeline per I/O turn: EVAL per session + one PUBLISH'],
    ['list_changed B -> GET stream on A, p50 / p99 ms', '', `${f2(f.streams.notificationLatency.p50)} / ${f2(f.streams.notificationLatency.p99)}`, '', `${f.streams.notificationLatency.samples} sessions; p99 <= 1000 ${verdict(f.streams.notificationLatency.p99 <= 1000)}`],
    ['replay of 100 missed events (fresh replica), p50 / p99 ms', '', `${f2(f.streams.replay100.p50)} / ${f2(f.streams.replay100.p99)}`, '', `${f.streams.replay100.samples} resumes, restore included`],
    ['elicitation answered on the asking replica, p50 / p99 ms', '', `${f2(f.elicitation.sameReplica.p50)} / ${f2(f.elicitation.sameReplica.p99)}`, '', `${f.elicitation.samples} calls, SDK 1.32 client`],
    ['elicitation answered on another replica, p50 / p99 ms', '', `${f2(f.elicitation.otherReplica.p50)} / ${f2(f.elicitation.otherReplica.p99)}`, '', `extra p99 +${f2(f.elicitation.extra.p99)} ms; <= 20 ms ${verdict(f.elicitation.extra.p99 <= 20)}; lost ${f.elicitation.lost} (target 0)`],
    ['Redis commands per routed answer', '', f2(f.elicitation.commandsPerRoutedAnswer), '', 'RPUSH, LTRIM, PEXPIRE (mailbox) + PUBLISH: one pipeline'],
    ['heartbeat, commands/s per idle replica', '0', f2(f.heartbeatCommandsPerSecond), '', 'one PUBLISH a second'],
    ['restore p50 / p99, ms (fresh replica)', 'n/a (lost)', `${f2(r.restore.p50)} / ${f2(r.restore.p99)}`, `${f2(naive.p50)} / ${f2(naive.p99)} (every request)`, `p99 over warm: +${f2(r.restore.p99 - r.warmOnSameReplica.p99)} ms; <= 5 ms ${verdict(r.restore.p99 - r.warmOnSameReplica.p99 <= 5)}`],
    ['warm p50 / p99 on that replica, ms', '', `${f2(r.warmOnSameReplica.p50)} / ${f2(r.warmOnSameReplica.p99)}`, '', 'sequential, one request at a time'],
    [`restore storm, ${r.storm.sessions} sessions`, 'n/a', `${Math.round(r.storm.ms)} ms, ${r.storm.served} served`, '', `<= 1000 ms ${verdict(r.storm.ms <= 1000 && r.storm.served === r.storm.sessions)}`],
    ['server CPU per request, ms: restore / warm / storm', '', `${f2(r.cpuMs.restore)} / ${f2(r.cpuMs.warm)} / ${f2(r.cpuMs.storm)}`, '', 'from /proc, user + system'],
    ['Redis bytes per record (MEMORY USAGE)', '', `${r.recordBytes.memoryUsageMean} mean, ${r.recordBytes.memoryUsageMax} max`, '', `JSON ${r.recordBytes.jsonMean} B; <= 2048 ${verdict(r.recordBytes.memoryUsageMax <= 2048)}`],
    ['heap per live session, bytes', String(f.heapPerLiveSession.memory), String(f.heapPerLiveSession.redis), 'none kept', ratio(f.heapPerLiveSession.redis, f.heapPerLiveSession.memory)],
    ['start-up (spawn to listening), ms', f1(f.startupMs.memory), f1(f.startupMs.redis), '', ratio(f.startupMs.redis, f.startupMs.memory)],
    ['start-up compiled (node dist) vs tsx, ms', f1(f.startupMs.compiled ?? Number.NaN), '', '', f.startupMs.compiled === undefined ? 'skipped' : `${ratio(f.startupMs.compiled, f.startupMs.memory)} of tsx`],
    ['npm run synth, ms', '', '', '', f.synthMs === undefined ? 'skipped' : f1(f.synthMs)],
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? [];
  console.log('');
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
  console.log('');
}
