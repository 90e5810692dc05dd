// `npm run bench`: what continuity costs — memory vs Redis vs a naive load-and-save-per-request server, one run.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { createAuthenticator } from '../app/http/auth.js';
import { TestIssuer } from '../test/auth/issuer.js';
import { freePort, TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { printTable, type Figures } from './report.js';
import { elicitation } from './elicit-bench.js';
import { modern, type ModernFigures } from './modern-bench.js';
import { limitsCost, type LimitsFigures } from './limits-bench.js';
import { clusterVsSingle, type ClusterFigures } from './cluster-bench.js';
import { streams } from './streams-bench.js';
import { describeSseFloor, sseFloor } from './sse-floor-bench.js';
import { scaling } from './scaling-bench.js';
import { telemetryCost } from './telemetry-bench.js';
import { callTool, closedLoop, cpuSeconds, openSession, percentiles, pool, type LoadResult, type WarmCall } from './workload.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The many-sessions run has flags of its own (sessions, interval, duration): bench/scale-bench.ts.
if (process.argv.includes('--scale-only')) {
  const { runScale } = await import('./scale-bench.js');
  await runScale(process.argv.slice(2).filter((arg) => arg !== '--scale-only'));
  process.exit(0);
}
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
    'auth-only': { type: 'boolean', default: false },
    'elicit-samples': { type: 'string', default: process.env.BENCH_ELICIT_SAMPLES ?? '200' },
    'elicit-only': { type: 'boolean', default: false },
    'telemetry-only': { type: 'boolean', default: false },
    'modern-only': { type: 'boolean', default: false },
    listeners: { type: 'string', default: process.env.BENCH_LISTENERS ?? '100' },
    'listen-samples': { type: 'string', default: process.env.BENCH_LISTEN_SAMPLES ?? '50' },
    'limits-samples': { type: 'string', default: process.env.BENCH_LIMITS_SAMPLES ?? '300' },
    'limits-only': { type: 'boolean', default: false },
    'cluster-only': { type: 'boolean', default: false },
    'sse-only': { type: 'boolean', default: false },
    'scaling-only': { type: 'boolean', default: false },
    'restore-only': { type: 'boolean', default: false },
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
    SESSION_CREATE_RATE: 'off', // one client address opens every session here
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
  const cpu0 = cpuSeconds(fresh.pid);
  for (const id of sample) first.push(await callTool(fresh.url, id, 'recall', { key: 'k' }));
  const cpu1 = cpuSeconds(fresh.pid);
  for (const id of sample) second.push(await callTool(fresh.url, id, 'recall', { key: 'k' }));
  const cpu2 = cpuSeconds(fresh.pid);
  await fresh.kill('SIGKILL');

  const storming = await start('redis', redis);
  const stormCpu = cpuSeconds(storming.pid);
  const started = performance.now();
  const results = await Promise.allSettled(ids.slice(0, STORM).map((id) => callTool(storming.url, id, 'recall', { key: 'k' })));
  const stormMs = performance.now() - started;
  const cpuMs = { restore: ((cpu1 - cpu0) * 1000) / sample.length, warm: ((cpu2 - cpu1) * 1000) / sample.length, storm: ((cpuSeconds(storming.pid) - stormCpu) * 1000) / STORM };
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
    cpuMs,
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

type AuthMode = 'none' | 'key' | 'oauth';
const BENCH_KEY = 'bench0123456789abcdef0123456789ab';

/**
 * Runs `task` with an Authorization header on every fetch to the given origins: workload.ts speaks raw
 * JSON-RPC without auth, and this keeps its API unchanged for one section.
 */
async function withBearers<T>(tokens: Readonly<Record<string, string>>, task: () => Promise<T>): Promise<T> {
  const plain = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const token = tokens[new URL(input instanceof Request ? input.url : String(input)).origin];
    if (token === undefined) return plain(input, init);
    return plain(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${token}` } });
  };
  try {
    return await task();
  } finally {
    globalThis.fetch = plain;
  }
}

type Measured = LoadResult & { readonly cpuUsPerRequest: number };

/** A memory-mode server in one auth mode; OAuth validates the token on every request (JWKS cached). */
async function authServer(mode: AuthMode, issuer: TestIssuer): Promise<ServerProcess> {
  const port = await freePort();
  const env: Record<string, string> = { MCP_RESPONSE_MODE: 'json', SESSION_CREATE_RATE: 'off', LOG_LEVEL: 'info', AUTH_MODE: mode };
  if (mode === 'key') env.MCP_API_KEYS = `bench:${BENCH_KEY}`;
  if (mode === 'oauth') Object.assign(env, { OAUTH_ISSUER: issuer.issuer, OAUTH_AUDIENCE: 'bench-api', OAUTH_JWKS_URL: issuer.jwksUrl, MCP_PUBLIC_URL: `http://127.0.0.1:${port}/mcp` });
  return ServerProcess.start({ env, port });
}

/** The auth check alone, in process: what each request pays on top of the no-auth path. */
async function authCheckMicros(issuer: TestIssuer, token: string): Promise<Record<'key' | 'oauth', number>> {
  const logger = (await import('pino')).pino({ level: 'silent' });
  const key = createAuthenticator({ auth: { mode: 'key', keys: [{ id: 'old', key: `old${BENCH_KEY}` }, { id: 'bench', key: BENCH_KEY }] }, publicUrl: undefined, logger });
  const oauth = createAuthenticator({
    auth: { mode: 'oauth', issuer: issuer.issuer, audience: ['bench-api'], jwksUrl: issuer.jwksUrl, requiredScopes: [], rolesAsScopes: false },
    publicUrl: 'http://127.0.0.1/mcp',
    logger,
  });
  const time = async (auth: typeof key, bearer: string) => {
    const request = new Request('http://127.0.0.1/mcp', { headers: { authorization: `Bearer ${bearer}` } });
    for (let i = 0; i < 500; i++) if (!(await auth.authenticate(request)).ok) throw new Error(`${auth.mode} check refused the bench credential`);
    const n = 5000;
    const started = performance.now();
    for (let i = 0; i < n; i++) await auth.authenticate(request);
    return ((performance.now() - started) * 1000) / n;
  };
  return { key: await time(key, BENCH_KEY), oauth: await time(oauth, token) };
}

/**
 * The three modes run at the same time, each with K sessions in a closed loop: on a shared machine other
 * load then hits all three alike, and the throughput ratio is the per-request cost ratio.
 */
async function authCost(): Promise<Record<string, unknown>> {
  const issuer = await TestIssuer.start();
  const modes = ['none', 'key', 'oauth'] as const;
  const servers: Partial<Record<AuthMode, ServerProcess>> = {};
  try {
    const token = await issuer.token('bench-api', {}, { expiresIn: '2h' });
    for (const mode of modes) servers[mode] = await authServer(mode, issuer);
    const at = (mode: AuthMode) => servers[mode] as ServerProcess;
    const bearers = { [at('key').origin]: BENCH_KEY, [at('oauth').origin]: token };
    const rounds = await withBearers(bearers, async () => {
      const ids = Object.fromEntries(
        await Promise.all(modes.map(async (mode) => {
          const list = await pool(Array.from({ length: K }), 10, () => openSession(at(mode).url));
          await pool(list, 10, (id) => callTool(at(mode).url, id, 'remember', { key: 'k', value: 'v' }));
          return [mode, list] as const;
        })),
      ) as Record<AuthMode, string[]>;
      await Promise.all(modes.map((mode) => closedLoop(at(mode).url, ids[mode], Math.min(2000, MS / 2))));
      const result: Array<Record<AuthMode, Measured>> = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const cpuBefore = modes.map((mode) => cpuSeconds(at(mode).pid));
        const loads = await Promise.all(modes.map((mode) => closedLoop(at(mode).url, ids[mode], MS)));
        // Server CPU per request: the cost itself, even if the one client process is what limits throughput.
        const [none, key, oauth] = loads.map((load, i) => ({ ...load, cpuUsPerRequest: ((cpuSeconds(at(modes[i] as AuthMode).pid) - (cpuBefore[i] as number)) * 1e6) / load.requests }));
        if (!none || !key || !oauth) throw new Error('a mode produced no load result');
        const each = (f: (x: Measured) => string) => `${f(none)} / ${f(key)} / ${f(oauth)}`;
        log(`auth round ${round} (none / key / oauth): ${each((x) => String(Math.round(x.perSecond)))} req/s, p50 ${each((x) => x.p50.toFixed(1))} ms, server CPU ${each((x) => x.cpuUsPerRequest.toFixed(0))} µs/request, ${none.errors + key.errors + oauth.errors} errors`);
        result.push({ none, key, oauth });
      }
      return result;
    });
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
    const ratio = (mode: 'key' | 'oauth') => ({
      throughput: median(rounds.map((r) => r[mode].perSecond / r.none.perSecond)),
      serverCpuPerRequest: median(rounds.map((r) => r[mode].cpuUsPerRequest / r.none.cpuUsPerRequest)),
    });
    const ratioToNone = { key: ratio('key'), oauth: ratio('oauth') };
    const show = (r: ReturnType<typeof ratio>) => `${r.throughput.toFixed(3)}x throughput, ${r.serverCpuPerRequest.toFixed(3)}x server CPU per request`;
    log(`auth cost vs no auth (median of ${ROUNDS} concurrent rounds): key ${show(ratioToNone.key)}; oauth ${show(ratioToNone.oauth)}; JWKS fetched ${issuer.jwksFetches}x`);
    const check = await authCheckMicros(issuer, token);
    log(`one auth check in process: key ${check.key.toFixed(1)} µs, oauth (cached JWKS, remembered token) ${check.oauth.toFixed(1)} µs`);
    return { rounds, ratioToNone, authCheckMicros: check, jwksFetches: issuer.jwksFetches };
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.kill('SIGKILL')));
    await issuer.close();
  }
}

const modernOptions = () => ({ loops: K, ms: MS, rounds: ROUNDS, listeners: Number(flags.listeners), samples: Number(flags['listen-samples']) });

function describeModern(f: ModernFigures): string {
  const w = f.warm;
  return (
    `warm session_info: modern ${Math.round(w.modern.perSecond)} req/s (p50 ${w.modern.p50.toFixed(2)} ms) vs legacy ${Math.round(w.legacy.perSecond)} req/s (p50 ${w.legacy.p50.toFixed(2)} ms) = ${w.throughputRatio.toFixed(3)}x; ` +
    `Redis round trips per call on a handle: recall ${JSON.stringify(f.roundTripsPerCall.recall)}, remember ${JSON.stringify(f.roundTripsPerCall.remember)}; ` +
    `resources/updated B→A over ${f.listen.listeners} listeners: p50 ${f.listen.p50.toFixed(2)} / p99 ${f.listen.p99.toFixed(2)} ms, ${f.listen.missed} missed`
  );
}

function describeElicitation(f: Awaited<ReturnType<typeof elicitation>>): string {
  const p = (x: { p50: number; p99: number }) => `p50 ${x.p50.toFixed(2)} / p99 ${x.p99.toFixed(2)} ms`;
  return `same replica ${p(f.sameReplica)}, other replica ${p(f.otherReplica)}, extra p50 +${f.extra.p50.toFixed(2)} / p99 +${f.extra.p99.toFixed(2)} ms, ${f.commandsPerRoutedAnswer.toFixed(2)} Redis commands per routed answer (${JSON.stringify(f.commandsByKind)}), ${f.lost} lost of ${2 * f.samples}`;
}

function describeLimits(f: LimitsFigures): string {
  const p = (x: { p50: number; p99: number }) => `p50 ${x.p50.toFixed(2)} / p99 ${x.p99.toFixed(2)} ms`;
  const i = f.initializeMs;
  return `initialize: open ${p(i.open)}, rate in Redis ${p(i.fleetRate)}, key auth + local rate and cap ${p(i.local)}, key auth + rate and cap in Redis ${p(i.fleet)}; extra p50 (median of rounds) rate in Redis vs none ${f.extraP50Ms.fleetRateOverOpen.toFixed(3)} ms, Redis vs local limits ${f.extraP50Ms.fleetOverLocal.toFixed(3)} ms; one script alone: rate ${p(f.scriptMs.rate)}, cap ${p(f.scriptMs.cap)}; scripts per initialize ${JSON.stringify(f.scriptsPerInitialize)}; ${f.samples} each`;
}

function describeCluster(f: ClusterFigures): string {
  const w = (call: 'no-data' | 'data') => `${Math.round(f.warm[call].single.perSecond)} vs ${Math.round(f.warm[call].cluster.perSecond)} req/s (p50 ${f.warm[call].single.p50.toFixed(2)} vs ${f.warm[call].cluster.p50.toFixed(2)} ms)`;
  return `single node vs 3-master cluster: no-data ${w('no-data')}, data ${w('data')}, restore p50 ${f.restoreMs.single.p50.toFixed(2)} vs ${f.restoreMs.cluster.p50.toFixed(2)} ms (p99 ${f.restoreMs.single.p99.toFixed(2)} vs ${f.restoreMs.cluster.p99.toFixed(2)}); cluster ratio no-data ${f.ratio.noData.toFixed(3)}x, data ${f.ratio.data.toFixed(3)}x, restore ${f.ratio.restoreP50.toFixed(3)}x`;
}

async function main(): Promise<void> {
  if (flags['auth-only']) {
    log(`auth cost only: ${K} sessions per mode, ${ROUNDS} rounds of ${MS / 1000} s, the three modes at once, memory mode, MCP_RESPONSE_MODE=json`);
    console.log(JSON.stringify(await authCost(), null, 2));
    return;
  }
  if (flags['scaling-only']) {
    // Starts its own redis-server per point (and a cluster): knobs in SCALING_* env, see bench/scaling-bench.ts.
    await scaling(log);
    return;
  }
  const redis = await TestRedis.start();
  const probe = redis.client();
  if (flags['telemetry-only']) {
    const figures = await telemetryCost(redis, { sessions: K, ms: MS, rounds: ROUNDS, log }).finally(() => {
      probe.disconnect();
      return redis.close();
    });
    log(`telemetry exporting vs off (warm no-data call, Redis mode, median of ${ROUNDS} concurrent rounds): json ${figures.throughputRatio.json.toFixed(3)}x throughput (${figures.cpuRatio.json.toFixed(3)}x server CPU per request), sse ${figures.throughputRatio.sse.toFixed(3)}x (${figures.cpuRatio.sse.toFixed(3)}x); start-up ${Math.round(figures.startupMs.off)} ms off, ${Math.round(figures.startupMs.on)} ms on; receiver got ${figures.exported.spans} spans, ${figures.exported.metricPoints} metric points; noise floor (both off, JSON) ${figures.noise.median.toFixed(3)}x (${figures.noise.min.toFixed(3)}–${figures.noise.max.toFixed(3)})`);
    console.log(JSON.stringify({ throughputRatio: figures.throughputRatio, cpuRatio: figures.cpuRatio, noise: figures.noise, startupMs: figures.startupMs, exported: figures.exported }, null, 2));
    return;
  }
  if (flags['modern-only']) {
    try {
      const figures = await modern(redis, modernOptions());
      log(`2026-07-28 era only (${K} concurrent loops, ${ROUNDS} rounds of ${MS / 1000} s, Redis mode, raw fetch clients, two replicas): ${describeModern(figures)}`);
      console.log(JSON.stringify(figures, null, 2));
    } finally {
      probe.disconnect();
      await redis.close();
    }
    return;
  }
  if (flags['cluster-only']) {
    try {
      log(`cluster only: ${K} sessions, ${ROUNDS} alternating rounds of ${MS / 1000} s, MCP_RESPONSE_MODE=json, ${SAMPLE} restores per round`);
      const figures = await clusterVsSingle(redis, log, { sessions: K, ms: MS, rounds: ROUNDS, sample: SAMPLE });
      log(describeCluster(figures));
      console.log(JSON.stringify(figures, null, 2));
    } finally {
      probe.disconnect();
      await redis.close();
    }
    return;
  }
  if (flags['restore-only']) {
    try {
      const r = await restore(redis, probe);
      log(`restore only (Redis mode, JSON, ${SAMPLE} sequential restores then the same calls warm; storm of ${STORM} on a fresh replica): restore p50 ${r.restore.p50.toFixed(2)} / p99 ${r.restore.p99.toFixed(2)} ms, warm p50 ${r.warmOnSameReplica.p50.toFixed(2)} / p99 ${r.warmOnSameReplica.p99.toFixed(2)} ms, storm ${Math.round(r.storm.ms)} ms (${r.storm.served} served); server CPU per request: restore ${r.cpuMs.restore.toFixed(2)} ms, warm ${r.cpuMs.warm.toFixed(2)} ms, storm ${r.cpuMs.storm.toFixed(2)} ms`);
      console.log(JSON.stringify({ ...r, heapPerLiveSession: { memory: heap(undefined).bytesPerSession, redis: heap(redis).bytesPerSession } }, null, 2));
    } finally {
      probe.disconnect();
      await redis.close();
    }
    return;
  }
  if (flags['limits-only']) {
    try {
      const figures = await limitsCost(redis, probe, Number(flags['limits-samples']), ROUNDS);
      log(`fleet-wide limits only (in process, key auth, one Redis node, ${ROUNDS} alternating rounds): ${describeLimits(figures)}`);
      console.log(JSON.stringify(figures, null, 2));
    } finally {
      probe.disconnect();
      await redis.close();
    }
    return;
  }
  if (flags['sse-only']) {
    try {
      const figures = await sseFloor(redis, probe, { sessions: K, ms: MS });
      log(`SSE commands per call only (${K} sessions, ${MS / 1000} s per scenario, MCP_RESPONSE_MODE=sse, two replicas): ${describeSseFloor(figures)}`);
      console.log(JSON.stringify(figures, null, 2));
    } finally {
      probe.disconnect();
      await redis.close();
    }
    return;
  }
  if (flags['elicit-only']) {
    try {
      const figures = await elicitation(redis, probe, Number(flags['elicit-samples']));
      log(`elicitation only (forget_all answered "no", SDK 1.32 client, two replicas, sse): ${describeElicitation(figures)}`);
      console.log(JSON.stringify(figures, null, 2));
    } finally {
      probe.disconnect();
      await redis.close();
    }
    return;
  }
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
    log('SSE: Redis commands per call without and with a GET stream open');
    const sseFigures = await sseFloor(redis, probe, { sessions: K, ms: MS });
    log(`SSE commands per call: ${describeSseFloor(sseFigures)}`);
    log('elicitation answered on the replica that asked vs on another one');
    const elicitFigures = await elicitation(redis, probe, Number(flags['elicit-samples']));
    log(`elicitation: ${describeElicitation(elicitFigures)}`);
    log('2026-07-28 era: warm call vs legacy, round trips on a handle, resources/updated across replicas');
    const modernFigures = await modern(redis, modernOptions());
    log(`modern: ${describeModern(modernFigures)}`);
    log('fleet-wide limits: cost per new session');
    const limitsFigures = await limitsCost(redis, probe, Number(flags['limits-samples']), ROUNDS);
    log(`fleet-wide limits: ${describeLimits(limitsFigures)}`);
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
      elicitation: elicitFigures,
      startupMs: { memory: await startup('memory', redis), redis: await startup('redis', redis), compiled: await startupCompiled() },
      heapPerLiveSession: { memory: heap(undefined).bytesPerSession, redis: heap(redis).bytesPerSession },
      synthMs: synth(),
    };
    log('auth cost per request');
    const auth = await authCost();
    printTable(figures);
    mkdirSync(new URL(`../${flags.out}/..`, import.meta.url), { recursive: true });
    writeFileSync(new URL(`../${flags.out}`, import.meta.url), `${JSON.stringify({ ...figures, authCost: auth, modern: modernFigures, fleetLimits: limitsFigures, sseFloor: sseFigures }, null, 2)}\n`);
    log(`wrote ${flags.out}`);
  } finally {
    probe.disconnect();
    await redis.close();
  }
}

await main();
process.exit(0);
