// `npm run bench -- --telemetry-only`: the warm no-data call with telemetry exporting (OTLP to a local receiver) vs off, and start-up with it on.
import { readFileSync } from 'node:fs';
import { OtlpReceiver } from '../test/support/otlp-receiver.js';
import type { TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { callTool, closedLoop, openSession, percentiles, pool, type LoadResult } from './workload.js';

export interface TelemetryFigures {
  /** Median over rounds of on/off throughput, both servers loaded at the same time. */
  readonly throughputRatio: Record<'json' | 'sse', number>;
  /** Median over rounds of on/off server CPU per request: the cost itself, whatever limits throughput. */
  readonly cpuRatio: Record<'json' | 'sse', number>;
  readonly rounds: Record<'json' | 'sse', Array<{ off: Measured; on: Measured }>>;
  /** The harness's own spread: the same rounds with both servers off (JSON), median and range of the ratio. */
  readonly noise: { readonly median: number; readonly min: number; readonly max: number };
  /** Spawn to "listening", median of 3 (tsx, Redis mode). */
  readonly startupMs: { off: number; on: number };
  /** What the receiver got during the run (proves it was exporting). */
  readonly exported: { spans: number; metricPoints: number };
}

type Measured = LoadResult & { readonly cpuUsPerRequest: number };

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat (Linux; NaN elsewhere). */
function cpuOf(pid: number | undefined): number {
  try {
    const after = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(after[11]) + Number(after[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

export async function telemetryCost(redis: TestRedis, options: { sessions: number; ms: number; rounds: number; log: (line: string) => void }): Promise<TelemetryFigures> {
  const receiver = await OtlpReceiver.start();
  const env = (mode: 'json' | 'sse', on: boolean): Record<string, string> => ({
    MCP_RESPONSE_MODE: mode,
    SESSION_CREATE_RATE: 'off',
    LOG_LEVEL: 'info',
    REDIS_URL: redis.url,
    SESSION_KEY_PREFIX: `bench-telemetry-${on ? 'on' : 'off'}:`,
    // Default intervals (5 s spans, 60 s metrics) but a 10 s metric interval so a 5 s round sees an export.
    ...(on ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRIC_EXPORT_INTERVAL: '10000' } : {}),
  });
  try {
    const rounds = { json: [], sse: [], noise: [] } as TelemetryFigures['rounds'] & { noise: Array<{ off: Measured; on: Measured }> };
    for (const mode of ['json', 'sse', 'noise'] as const) {
      const off = await ServerProcess.start({ env: env(mode === 'noise' ? 'json' : mode, false) });
      // The noise rounds: a second server with telemetry off too (its own key prefix).
      const on = await ServerProcess.start({ env: mode === 'noise' ? { ...env('json', false), SESSION_KEY_PREFIX: 'bench-telemetry-off2:' } : env(mode, true) });
      try {
        const ids = await Promise.all(
          [off, on].map(async (s) => {
            const list = await pool(Array.from({ length: options.sessions }), 10, () => openSession(s.url));
            await pool(list, 10, (id) => callTool(s.url, id, 'remember', { key: 'k', value: 'v' }));
            return list;
          }),
        );
        await Promise.all([closedLoop(off.url, ids[0]!, 2000, 'no-data'), closedLoop(on.url, ids[1]!, 2000, 'no-data')]);
        for (let round = 1; round <= options.rounds; round++) {
          // At the same time: drift on a shared machine hits both alike.
          const cpu = [cpuOf(off.pid), cpuOf(on.pid)];
          const loads = await Promise.all([closedLoop(off.url, ids[0]!, options.ms, 'no-data'), closedLoop(on.url, ids[1]!, options.ms, 'no-data')]);
          const [a, b] = loads.map((load, i) => ({ ...load, cpuUsPerRequest: ((cpuOf([off, on][i]!.pid) - cpu[i]!) * 1e6) / load.requests })) as [Measured, Measured];
          rounds[mode].push({ off: a, on: b });
          options.log(`telemetry ${mode} round ${round} (${mode === 'noise' ? 'off / off' : 'off / on'}): ${Math.round(a.perSecond)} / ${Math.round(b.perSecond)} req/s, p50 ${a.p50.toFixed(2)} / ${b.p50.toFixed(2)} ms, server CPU ${a.cpuUsPerRequest.toFixed(0)} / ${b.cpuUsPerRequest.toFixed(0)} µs/request, ${a.errors + b.errors} errors`);
        }
      } finally {
        await Promise.all([off.kill('SIGKILL'), on.kill('SIGKILL')]);
      }
    }
    const startupOf = async (on: boolean) => {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const s = await ServerProcess.start({ env: env('sse', on) });
        times.push(performance.now() - started);
        await s.kill('SIGKILL');
      }
      return percentiles(times).p50;
    };
    const startupMs = { off: await startupOf(false), on: await startupOf(true) };
    const { noise: _, ...measured } = rounds;
    const ratio = (mode: 'json' | 'sse' | 'noise') => median(rounds[mode].map((r) => r.on.perSecond / r.off.perSecond));
    const noiseRatios = rounds.noise.map((r) => r.on.perSecond / r.off.perSecond);
    const cpuRatio = (mode: 'json' | 'sse') => median(rounds[mode].map((r) => r.on.cpuUsPerRequest / r.off.cpuUsPerRequest));
    return { throughputRatio: { json: ratio('json'), sse: ratio('sse') }, noise: { median: ratio('noise'), min: Math.min(...noiseRatios), max: Math.max(...noiseRatios) }, cpuRatio: { json: cpuRatio('json'), sse: cpuRatio('sse') }, rounds: measured, startupMs, exported: { spans: receiver.spans.length, metricPoints: receiver.points.length } };
  } finally {
    await receiver.close();
  }
}
