// `npm run bench`: what continuity costs — memory vs Redis vs a naive load-and-save-per-request server, one run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { freePort, TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { printTable, type Figures } from './report.js';
import { streams } from './streams-bench.js';
import { callTool, closedLoop, openSession, percentiles, pool, type WarmCall } from './workload.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: flags } = parseArgs({
  options: {
    sessions: { type: 'string', default: process.env.BENCH_SESSIONS ?? '50' },
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '5' },
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '3' },
    storm: { type: 'string', default: process.env.BENCH_STORM ?? '1000' },
    sample: { type: 'string', default: process.env.BENCH_RESTORE_SAMPLE ?? '200' },
    'stream-samples': { type: 'string', default: process.env.BENCH_STREAM_SAMPLES ?? '100' },
    out: { type: 'string', default: process.env.BENCH_OUT ?? 'bench/results/latest.json' },
    'skip-synth': { type: 'boolean', default: false },
  },
});
const K = Number(flags.sessions);
const MS = Number(flags.seconds) * 1000;
const STORM = Number(flags.storm);
const ROUNDS = Number(flags.rounds);
const SAMPLE = Number(flags.sample);

type Mode = 'memory' | 'redis' | 'naive';
const log = (line: string) => console.log(`bench: ${line}`);

function serverEnv(mode: Mode, redis: TestRedis, responseMode: 'json' | 'sse' = 'json'): Record<string, string> {
  return {
    MCP_RESPONSE_MODE: responseMode,
    LOG_LEVEL: 'info', // the harness waits for the info-level "listening" line
    SESSION_KEY_PREFIX: `bench-${mode}:`,
    ...(mode === 'memory' ? {} : { REDIS_URL: redis.url }),
  };
}

const start = (mode: Mode, redis: TestRedis, responseMode: 'json' | 'sse' = 'json') =>
  ServerProcess.start({ env: serverEnv(mode, redis, responseMode), ...(mode === 'naive' ? { entry: 'bench/naive-server.ts' } : {}) });

/** Total calls per command from INFO commandstats, without the INFO calls themselves. */
async function commandCalls(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (match[1] !== 'info') total += Number(match[2]);
  return total;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

type Warm = Figures['warm']['data'][Mode];

async function warm(mode: Mode, call: WarmCall, responseMode: 'json' | 'sse', redis: TestRedis, probe: Redis): Promise<Warm> {
  const server = await start(mode, redis, responseMode);
  try {
    const ids = await pool(Array.from({ length: K }), 10, () => openSession(server.url));
    await pool(ids, 10, (id) => callTool(server.url, id, 'remember', { key: 'k', value: 'v' }));
    await closedLoop(server.url, ids, Math.min(2000, MS / 2), call); // warm-up: JIT, connections
    const before = await commandCalls(probe);
    const cpuBefore = cpuSeconds(server.pid);
    const load = await closedLoop(server.url, ids, MS, call);
    const serverCpu = (cpuSeconds(server.pid) - cpuBefore) / load.seconds;
    const commands = (await commandCalls(probe)) - before;
    log(`${mode} ${call} (${responseMode}): ${Math.round(load.perSecond)} req/s, p50 ${load.p50.toFixed(2)} ms, p99 ${load.p99.toFixed(2)} ms, ${commands} Redis commands, server CPU ${Math.round(serverCpu * 100)}%`);
    return { ...load, redisCommandsPerRequest: mode === 'memory' ? 0 : commands / load.requests, serverCpu };
  } finally {
    await server.kill('SIGKILL');
  }
}

/** The median round by throughput, so one noisy round (or the first, colder one) does not decide. */
function medianRound(rounds: Warm[]): Warm {
  return [...rounds].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(rounds.length / 2)] as Warm;
}

async function restore(redis: TestRedis, probe: Redis): Promise<Figures['restore']> {
  const origin = await start('redis', redis);
  const ids = await pool(Array.from({ length: Math.max(STORM, SAMPLE) }), 20, () => openSession(origin.url));
  await pool(ids, 20, (id) => callTool(origin.url, id, 'remember', { key: 'k', value: 'v' }));
  await origin.kill('SIGKILL');

  const fresh = await start('redis', redis);
  const sample = ids.slice(0, SAMPLE);
  const first: number[] = [];
  const second: number[] = [];
  for (const id of sample) first.push(await callTool(fresh.url, id, 'recall', { key: 'k' }));
  for (const id of sample) second.push(await callTool(fresh.url, id, 'recall', { key: 'k' }));
  await fresh.kill('SIGKILL');

  const storming = await start('redis', redis);
  const started = performance.now();
  const results = await Promise.allSettled(ids.slice(0, STORM).map((id) => callTool(storming.url, id, 'recall', { key: 'k' })));
  const stormMs = performance.now() - started;
  await storming.kill('SIGKILL');

  const key = (id: string) => `bench-redis:session:{${id}}`;
  const sizes = await Promise.all(ids.slice(0, 200).map(async (id) => Number(await probe.call('MEMORY', 'USAGE', key(id), 'SAMPLES', '0'))));
  const rawBytes = await Promise.all(
    ids.slice(0, 200).map(async (id) => Object.entries(await probe.hgetall(key(id))).reduce((sum, [f, v]) => sum + Buffer.byteLength(f) + Buffer.byteLength(v), 0)),
  );
  return {
    restore: percentiles(first),
    warmOnSameReplica: percentiles(second),
    storm: { sessions: STORM, ms: stormMs, served: results.filter((r) => r.status === 'fulfilled').length },
    recordBytes: { memoryUsageMean: mean(sizes), memoryUsageMax: Math.max(...sizes), jsonMean: mean(rawBytes) },
  };
}

/** Redis commands per second an idle Redis-mode replica sends (the channel heartbeat). */
async function heartbeat(redis: TestRedis, probe: Redis): Promise<number> {
  const server = await start('redis', redis);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const before = await commandCalls(probe);
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 5000));
    return ((await commandCalls(probe)) - before) / ((performance.now() - started) / 1000);
  } finally {
    await server.kill('SIGKILL');
  }
}

const mean = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0) / values.length);

async function startup(mode: Mode, redis: TestRedis): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const server = await start(mode, redis);
    times.push(performance.now() - started);
    await server.kill('SIGKILL');
  }
  return percentiles(times).p50;
}

/** Start-up of what the image runs: `node dist/app/main.js` (built first), memory mode, spawn to listening. */
async function startupCompiled(): Promise<number | undefined> {
  const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) {
    log(`build failed, compiled start-up skipped: ${build.stdout.slice(0, 300)}`);
    return undefined;
  }
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, ['dist/app/main.js'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', PORT: String(port), LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('mcp-continuity listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`compiled server exited with ${code} before listening`)));
    });
    times.push(performance.now() - started);
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
  }
  return percentiles(times).p50;
}

function heap(redis: TestRedis | undefined): { bytesPerSession: number; sessions: number } {
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/heap-probe.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...(redis ? { REDIS_URL: redis.url } : {}) },
    encoding: 'utf8',
  });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  if (run.status !== 0) throw new Error(`heap probe failed: ${run.stderr}`);
  return JSON.parse(line) as { bytesPerSession: number; sessions: number };
}

function synth(): number | undefined {
  if (flags['skip-synth']) return undefined;
  const started = performance.now();
  // The stack has no default image; any explicit one times the same synth.
  const env = { ...process.env, INFRA_IMAGE: process.env.INFRA_IMAGE || 'mcp-continuity:bench' };
  const run = spawnSync('npm', ['run', '--silent', 'synth'], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (run.status !== 0) {
    log(`npm run synth failed: ${run.stderr.slice(0, 300)}`);
    return undefined;
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const redis = await TestRedis.start();
  const probe = redis.client();
  try {
    log(`${K} sessions, ${ROUNDS} rounds of ${MS / 1000} s per mode (median round reported), loopback, MCP_RESPONSE_MODE json and sse, raw fetch JSON-RPC clients`);
    const warmFigures = {} as Figures['warm'];
    // JSON answers isolate the session model; SSE (the default) adds the event log behind every response.
    const scenarios = [['noData', 'no-data', 'json'], ['data', 'data', 'json'], ['noDataSse', 'no-data', 'sse']] as const;
    for (const [name, call, responseMode] of scenarios) {
      const rounds: Record<Mode, Warm[]> = { memory: [], redis: [], naive: [] };
      // Modes take turns, round after round: drift in the machine hits all three alike.
      for (let round = 1; round <= ROUNDS; round++) for (const mode of ['memory', 'redis', 'naive'] as const) rounds[mode].push(await warm(mode, call, responseMode, redis, probe));
      warmFigures[name] = { memory: medianRound(rounds.memory), redis: medianRound(rounds.redis), naive: medianRound(rounds.naive) };
    }
    log('streams: cross-replica notification latency, replay of 100 missed events');
    const streamFigures = await streams(redis, probe, Number(flags['stream-samples']));
    log('heartbeat cost of an idle replica');
    const heartbeatPerSecond = await heartbeat(redis, probe);
    log('restore latency and storm');
    const restoreFigures = await restore(redis, probe);
    log('start-up, heap, synth');
    const figures: Figures = {
      when: new Date().toISOString(),
      machine: { node: process.version, cpus: (await import('node:os')).cpus().length, platform: process.platform },
      settings: { sessions: K, seconds: MS / 1000, rounds: ROUNDS, storm: STORM, restoreSample: SAMPLE, client: 'raw fetch JSON-RPC (keep-alive), one process' },
      warm: warmFigures,
      restore: restoreFigures,
      heartbeatCommandsPerSecond: heartbeatPerSecond,
      streams: streamFigures,
      startupMs: { memory: await startup('memory', redis), redis: await startup('redis', redis), compiled: await startupCompiled() },
      heapPerLiveSession: { memory: heap(undefined).bytesPerSession, redis: heap(redis).bytesPerSession },
      synthMs: synth(),
    };
    printTable(figures);
    mkdirSync(new URL(`../${flags.out}/..`, import.meta.url), { recursive: true });
    writeFileSync(new URL(`../${flags.out}`, import.meta.url), `${JSON.stringify(figures, null, 2)}\n`);
    log(`wrote ${flags.out}`);
  } finally {
    probe.disconnect();
    await redis.close();
  }
}

await main();
process.exit(0);
