// Elicitation figures for `npm run bench`: a tool that asks the user, answered on the replica that asked
// vs on another one (routed through Redis), with real SDK 1.32 clients; and Redis commands per routed answer.
import type { Redis } from 'ioredis';
import { connectAsking, routeByKind, type AskingClient } from '../test/support/asking-client.js';
import type { TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { percentiles } from './workload.js';

export interface ElicitFigures {
  /** forget_all answered "no" (one elicitation, one data read) with the answer POSTed to the replica that asked. */
  readonly sameReplica: { p50: number; p99: number };
  /** The same with the answer POSTed to another replica. */
  readonly otherReplica: { p50: number; p99: number };
  /** otherReplica minus sameReplica, per percentile (ms). */
  readonly extra: { p50: number; p99: number };
  /** Redis commands a routed answer adds (heartbeats subtracted), in total and by command. */
  readonly commandsPerRoutedAnswer: number;
  readonly commandsByKind: Record<string, number>;
  readonly samples: number;
  /** Calls that did not end "Kept everything." (target 0). */
  readonly lost: number;
}

async function commandsByName(probe: Redis): Promise<Record<string, number>> {
  const info = await probe.info('commandstats');
  const out: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (match[1] !== 'info') out[match[1] as string] = Number(match[2]);
  return out;
}

/** One forget_all answered "no"; resolves its latency, or NaN when it did not end as asked. */
async function ask(client: AskingClient): Promise<number> {
  const started = performance.now();
  try {
    const result = await client.client.callTool({ name: 'forget_all', arguments: {} }, undefined, { timeout: 10_000 });
    const text = (result.content as Array<{ text?: string }>)[0]?.text;
    return text === 'Kept everything.' ? performance.now() - started : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Commands during `n` sequential calls of one client, and how long they took. */
async function counted(probe: Redis, client: AskingClient, n: number): Promise<{ counts: Record<string, number>; seconds: number }> {
  const before = await commandsByName(probe);
  const started = performance.now();
  for (let i = 0; i < n; i++) await ask(client);
  const seconds = (performance.now() - started) / 1000;
  const after = await commandsByName(probe);
  const counts: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after)) if (calls !== (before[name] ?? 0)) counts[name] = calls - (before[name] ?? 0);
  return { counts, seconds };
}

export async function elicitation(redis: TestRedis, probe: Redis, samples: number): Promise<ElicitFigures> {
  const env = { MCP_RESPONSE_MODE: 'sse', LOG_LEVEL: 'info', SESSION_KEY_PREFIX: 'bench-elicit:', REDIS_URL: redis.url };
  const [a, b] = [await ServerProcess.start({ env }), await ServerProcess.start({ env })];
  const answer = { action: 'accept' as const, content: { confirm: false } };
  const clients: AskingClient[] = [];
  try {
    const same = await connectAsking(a.url, { answer });
    const other = await connectAsking(a.url, { answer, fetch: routeByKind((kind) => (kind === 'response' ? b.origin : a.origin)) });
    clients.push(same, other);
    for (const c of clients) await c.call('remember', { key: 'k', value: 'v' });
    for (let i = 0; i < 20; i++) await Promise.all([ask(same), ask(other)]); // warm-up: JIT, connections, b's copy of the session
    const sameTimes: number[] = [];
    const otherTimes: number[] = [];
    // Interleaved, one call at a time: drift on the machine hits both alike.
    for (let i = 0; i < samples; i++) {
      sameTimes.push(await ask(same));
      otherTimes.push(await ask(other));
    }
    const n = Math.max(50, Math.floor(samples / 2));
    const local = await counted(probe, same, n);
    const routed = await counted(probe, other, n);
    // Each replica publishes one heartbeat a second; what remains is what the route adds.
    const heartbeats = (seconds: number) => 2 * seconds;
    const total = (c: Record<string, number>) => Object.values(c).reduce((x, y) => x + y, 0);
    const extraTotal = total(routed.counts) - heartbeats(routed.seconds) - (total(local.counts) - heartbeats(local.seconds));
    const byKind: Record<string, number> = {};
    for (const name of new Set([...Object.keys(local.counts), ...Object.keys(routed.counts)])) {
      const beats = name === 'publish' ? heartbeats(routed.seconds) - heartbeats(local.seconds) : 0;
      byKind[name] = Math.round((((routed.counts[name] ?? 0) - (local.counts[name] ?? 0) - beats) / n) * 100) / 100;
    }
    const ok = (xs: number[]) => xs.filter((x) => Number.isFinite(x));
    const s = percentiles(ok(sameTimes));
    const o = percentiles(ok(otherTimes));
    return {
      sameReplica: s,
      otherReplica: o,
      extra: { p50: o.p50 - s.p50, p99: o.p99 - s.p99 },
      commandsPerRoutedAnswer: extraTotal / n,
      commandsByKind: byKind,
      samples,
      lost: sameTimes.length + otherTimes.length - ok(sameTimes).length - ok(otherTimes).length,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL')]);
  }
}
