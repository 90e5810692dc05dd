// One Redis node vs a local 3-master Redis Cluster (REDIS_CLUSTER=true): warm calls with and without
// data (both loaded at once), and restores (alternating), round after round.
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
      // Both topologies under load at the same time: whatever else the machine does hits both alike, and
      // the throughput ratio is the per-request cost ratio.
      const servers = { single: await start('single'), cluster: await start('cluster') };
      try {
        const ids = {
          single: await pool(Array.from({ length: o.sessions }), 10, () => openSession(servers.single.url)),
          cluster: await pool(Array.from({ length: o.sessions }), 10, () => openSession(servers.cluster.url)),
        };
        for (const t of ['single', 'cluster'] as const) await pool(ids[t], 10, (id) => callTool(servers[t].url, id, 'remember', { key: 'k', value: 'v' }));
        await Promise.all((['single', 'cluster'] as const).map((t) => closedLoop(servers[t].url, ids[t], Math.min(2000, o.ms / 2), 'data'))); // warm-up
        for (const call of ['no-data', 'data'] as const) {
          const [single, cluster] = await Promise.all((['single', 'cluster'] as const).map((t) => closedLoop(servers[t].url, ids[t], o.ms, call)));
          rounds[call].single.push(single as LoadResult);
          rounds[call].cluster.push(cluster as LoadResult);
          log(`${call} round ${round} (single / cluster, at once): ${Math.round((single as LoadResult).perSecond)} / ${Math.round((cluster as LoadResult).perSecond)} req/s, p50 ${(single as LoadResult).p50.toFixed(2)} / ${(cluster as LoadResult).p50.toFixed(2)} ms`);
        }
      } finally {
        await Promise.all([servers.single.kill('SIGKILL'), servers.cluster.kill('SIGKILL')]);
      }
      // Restores one at a time (a latency): sessions written by one process, first call on a fresh one.
      for (const t of round % 2 ? (['single', 'cluster'] as const) : (['cluster', 'single'] as const)) {
        const writer = await start(t);
        const written = await pool(Array.from({ length: o.sample }), 20, () => openSession(writer.url));
        await pool(written, 20, (id) => callTool(writer.url, id, 'remember', { key: 'k', value: 'v' }));
        await writer.kill('SIGKILL');
        const reader = await start(t);
        for (const id of written) restores[t].push(await callTool(reader.url, id, 'recall', { key: 'k' }));
        await reader.kill('SIGKILL');
      }
    }
    // The round with the median ratio, both sides from that same round.
    const pick = (call: WarmCall) => {
      const i = median(rounds[call].single.map((_, n) => n), (n) => (rounds[call].cluster[n] as LoadResult).perSecond / (rounds[call].single[n] as LoadResult).perSecond);
      return { single: rounds[call].single[i] as LoadResult, cluster: rounds[call].cluster[i] as LoadResult };
    };
    const warm = { 'no-data': pick('no-data'), data: pick('data') };
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
