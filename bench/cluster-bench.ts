// One Redis node vs a local 3-master Redis Cluster (REDIS_CLUSTER=true): warm calls with and without
// data, and restores, in alternating rounds so drift in the machine hits both alike.
import { TestRedisCluster } from '../test/support/redis-cluster.js';
import type { TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { callTool, closedLoop, openSession, percentiles, pool, type LoadResult, type WarmCall } from './workload.js';

type Topology = 'single' | 'cluster';
type P = { p50: number; p99: number };

export interface ClusterFigures {
  readonly warm: Record<WarmCall, Record<Topology, LoadResult>>;
  readonly restoreMs: Record<Topology, P>;
  /** cluster ÷ single: throughput for warm calls, single ÷ cluster p50 for restores (≥ 1 is as fast). */
  readonly ratio: { readonly noData: number; readonly data: number; readonly restoreP50: number };
}

const median = <T>(rounds: T[], by: (x: T) => number) => [...rounds].sort((a, b) => by(a) - by(b))[Math.floor(rounds.length / 2)] as T;

export async function clusterVsSingle(single: TestRedis, log: (line: string) => void, o: { sessions: number; ms: number; rounds: number; sample: number }): Promise<ClusterFigures> {
  const cluster = await TestRedisCluster.start();
  const env = (t: Topology): Record<string, string> => ({
    MCP_RESPONSE_MODE: 'json',
    SESSION_CREATE_RATE: 'off',
    LOG_LEVEL: 'info',
    SESSION_KEY_PREFIX: `bench-${t}:`,
    ...(t === 'single' ? { REDIS_URL: single.url } : { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' }),
  });
  const start = (t: Topology) => ServerProcess.start({ env: env(t) });
  try {
    const rounds: Record<WarmCall, Record<Topology, LoadResult[]>> = { 'no-data': { single: [], cluster: [] }, data: { single: [], cluster: [] } };
    const restores: Record<Topology, number[]> = { single: [], cluster: [] };
    for (let round = 1; round <= o.rounds; round++) {
      for (const t of round % 2 ? (['single', 'cluster'] as const) : (['cluster', 'single'] as const)) {
        const server = await start(t);
        try {
          const ids = await pool(Array.from({ length: o.sessions }), 10, () => openSession(server.url));
          await pool(ids, 10, (id) => callTool(server.url, id, 'remember', { key: 'k', value: 'v' }));
          await closedLoop(server.url, ids, Math.min(2000, o.ms / 2), 'data'); // warm-up
          for (const call of ['no-data', 'data'] as const) {
            const load = await closedLoop(server.url, ids, o.ms, call);
            rounds[call][t].push(load);
            log(`${t} ${call} round ${round}: ${Math.round(load.perSecond)} req/s, p50 ${load.p50.toFixed(2)} ms, p99 ${load.p99.toFixed(2)} ms`);
          }
        } finally {
          await server.kill('SIGKILL');
        }
        // Restore: sessions written by one process, first call on a fresh one.
        const writer = await start(t);
        const ids = await pool(Array.from({ length: o.sample }), 20, () => openSession(writer.url));
        await pool(ids, 20, (id) => callTool(writer.url, id, 'remember', { key: 'k', value: 'v' }));
        await writer.kill('SIGKILL');
        const reader = await start(t);
        for (const id of ids) restores[t].push(await callTool(reader.url, id, 'recall', { key: 'k' }));
        await reader.kill('SIGKILL');
      }
    }
    const warm = {
      'no-data': { single: median(rounds['no-data'].single, (x) => x.perSecond), cluster: median(rounds['no-data'].cluster, (x) => x.perSecond) },
      data: { single: median(rounds.data.single, (x) => x.perSecond), cluster: median(rounds.data.cluster, (x) => x.perSecond) },
    };
    const restoreMs = { single: percentiles(restores.single), cluster: percentiles(restores.cluster) };
    return {
      warm,
      restoreMs,
      ratio: {
        noData: warm['no-data'].cluster.perSecond / warm['no-data'].single.perSecond,
        data: warm.data.cluster.perSecond / warm.data.single.perSecond,
        restoreP50: restoreMs.single.p50 / restoreMs.cluster.p50,
      },
    };
  } finally {
    await cluster.close();
  }
}
