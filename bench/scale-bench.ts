// `npm run bench -- --scale-only`: one Redis-mode replica (the compiled server, SSE responses) serving
// many sessions that each call a tool every `interval` seconds on an open-loop schedule; reports RSS,
// heap, both per live session, latency percentiles, restores per second and errors.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, TestRedis } from '../test/support/redis.js';
import { callTool, cpuSeconds, openSession, percentiles, pool } from './workload.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.log(`scale: ${line}`);

interface Status {
  readonly liveSessions: number;
  readonly restores: number;
  readonly restoreMisses: number;
  readonly memory: { rssBytes: number; heapUsedBytes: number };
}

interface Sample {
  readonly atS: number;
  readonly live: number;
  readonly rssMB: number;
  readonly heapMB: number;
  readonly restores: number;
}

const MB = 1024 * 1024;
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;


async function startServer(env: Record<string, string>, nodeFlags: readonly string[]): Promise<{ child: ChildProcess; origin: string }> {
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stdout}${built.stderr}`);
  const port = await freePort();
  // The compiled server, as the container runs it: tsx's transpiler would add to the base memory.
  const child = spawn(process.execPath, [...nodeFlags, 'dist/app/main.js'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString();
      if (output.includes('mcp-continuity listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
  child.removeAllListeners('exit');
  return { child, origin: `http://127.0.0.1:${port}` };
}

async function status(origin: string): Promise<Status> {
  return (await (await fetch(`${origin}/statusz`)).json()) as Status;
}

export async function runScale(argv: readonly string[]): Promise<void> {
  const { values: flags } = parseArgs({
    args: [...argv],
    options: {
      sessions: { type: 'string', default: '10000' },
      interval: { type: 'string', default: '30' },
      duration: { type: 'string', default: '90' },
      'data-share': { type: 'string', default: '0.5' },
      'create-concurrency': { type: 'string', default: '32' },
      'max-live': { type: 'string' },
      'live-idle': { type: 'string' },
      'response-mode': { type: 'string', default: 'sse' },
      /** Flags for the server's node, e.g. `--max-old-space-size=320` to hold its heap to a budget, or `--cpu-prof`. */
      'node-flags': { type: 'string', default: '' },
      out: { type: 'string' },
    },
  });
  const sessions = Number(flags.sessions);
  const intervalMs = Number(flags.interval) * 1000;
  const durationMs = Number(flags.duration) * 1000;
  const dataShare = Number(flags['data-share']);
  const redis = await TestRedis.start();
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    LOG_LEVEL: 'info',
    DRAIN_DELAY: '0',
    SESSION_KEY_PREFIX: 'scale:',
    // One client address opens every session: the per-address creation limit is raised for the run, not by default.
    SESSION_CREATE_RATE: `${Math.max(sessions * 2, 1000)}/m`,
    ...(flags['response-mode'] === 'json' ? { MCP_RESPONSE_MODE: 'json' } : {}),
    ...(flags['max-live'] ? { MAX_LIVE_SESSIONS: flags['max-live'] } : {}),
    ...(flags['live-idle'] ? { LIVE_SESSION_IDLE: flags['live-idle'] } : {}),
  };
  const nodeFlags = (flags['node-flags'] ?? '').split(' ').filter(Boolean);
  const { child, origin } = await startServer(env, nodeFlags);
  const url = `${origin}/mcp`;
  try {
    // Warm the code paths first, so the base is the process and not the JIT's first compilations.
    const warmIds = await pool(Array.from({ length: 20 }), 5, () => openSession(url));
    for (let i = 0; i < 5; i++) await pool(warmIds, 5, async (id) => [await callTool(url, id, 'remember', { key: 'k', value: i }), await callTool(url, id, 'session_info', {})]);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const base = await status(origin);
    log(`${sessions} sessions, a call every ${intervalMs / 1000} s each (${round((sessions / intervalMs) * 1000, 1)} calls/s), ${durationMs / 1000} s steady state, ${flags['response-mode']} responses, ${Math.round(dataShare * 100)}% data calls; env ${JSON.stringify({ ...env, REDIS_URL: undefined })}`);
    log(`base: RSS ${round(base.memory.rssBytes / MB, 1)} MB, heap ${round(base.memory.heapUsedBytes / MB, 1)} MB, ${base.liveSessions} live`);

    const created = performance.now();
    let createErrors = 0;
    const ids = await pool(Array.from({ length: sessions }), Number(flags['create-concurrency']), async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await openSession(url);
        } catch (error) {
          createErrors++;
          if (attempt >= 3) throw error;
        }
      }
    });
    const createMs = performance.now() - created;
    log(`created ${ids.length} sessions in ${round(createMs / 1000, 1)} s (${Math.round(ids.length / (createMs / 1000))}/s), ${createErrors} retried`);

    // Open loop: session i calls at phase i/N of the interval, whatever the server's latency.
    const latencies: number[] = [];
    const lags: number[] = [];
    const errors = new Map<string, number>();
    let calls = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const samples: Sample[] = [];
    const started = performance.now() + 200;
    const end = started + durationMs;
    const cpuBefore = cpuSeconds(child.pid);
    const restoresBefore = (await status(origin)).restores;
    let next = 0;
    let turn = 0;
    const fire = (index: number, due: number) => {
      const id = ids[index] as string;
      const data = (index % 1000) / 1000 < dataShare;
      const [name, args] = data ? (turn % 2 === 0 ? ['remember', { key: 'k', value: index }] : ['recall', { key: 'k' }]) : ['session_info', {}];
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const sent = performance.now();
      lags.push(sent - due);
      // A data session's first call writes the key its later recalls read.
      callTool(url, id, name as string, args as Record<string, unknown>).then(
        (ms) => latencies.push(ms),
        (error: Error) => {
          // A tool error's own text says why (e.g. "Not saved: session store unavailable"); else the HTTP failure.
          const key = (/"text":"([^"]{0,80})/.exec(error.message)?.[1] ?? error.message).slice(0, 80);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        },
      ).finally(() => inFlight--);
    };
    let sampleErrors = 0;
    const sampler = setInterval(() => {
      status(origin).then(
        (s) => samples.push({ atS: round((performance.now() - started) / 1000, 1), live: s.liveSessions, rssMB: round(s.memory.rssBytes / MB, 1), heapMB: round(s.memory.heapUsedBytes / MB, 1), restores: s.restores }),
        () => sampleErrors++,
      );
    }, 5000);
    // Each turn of the interval, every session once; the first turn is `remember` for data sessions.
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        while (now >= started + turn * intervalMs + (next / sessions) * intervalMs) {
          const due = started + turn * intervalMs + (next / sessions) * intervalMs;
          if (due >= end) return resolve();
          fire(next, due);
          next++;
          if (next === sessions) {
            next = 0;
            turn++;
          }
        }
        setTimeout(tick, 5);
      };
      tick();
    });
    while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    clearInterval(sampler);
    const seconds = (performance.now() - started) / 1000;
    const serverCpu = (cpuSeconds(child.pid) - cpuBefore) / seconds;
    const last = await status(origin);
    const restores = last.restores - restoresBefore;
    const peakRss = Math.max(last.memory.rssBytes / MB, ...samples.map((s) => s.rssMB));
    const live = last.liveSessions - base.liveSessions;
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
    const figures = {
      settings: { nodeFlags, sessions, intervalS: intervalMs / 1000, durationS: durationMs / 1000, dataShare, responseMode: flags['response-mode'], env: { ...env, REDIS_URL: undefined } },
      create: { ms: Math.round(createMs), perSecond: Math.round(ids.length / (createMs / 1000)), retried: createErrors },
      calls: { sent: calls, ok: latencies.length, errors: errorCount, errorKinds: Object.fromEntries(errors), perSecond: round(latencies.length / seconds, 1), ...mapValues(percentiles(latencies), (v) => round(v)), lagP99Ms: round(percentiles(lags).p99), maxInFlight },
      memory: {
        baseRssMB: round(base.memory.rssBytes / MB, 1),
        rssMB: round(last.memory.rssBytes / MB, 1),
        peakRssMB: round(peakRss, 1),
        heapMB: round(last.memory.heapUsedBytes / MB, 1),
        live: last.liveSessions,
        rssPerLiveKB: live > 0 ? round((last.memory.rssBytes - base.memory.rssBytes) / live / 1024, 1) : null,
        heapPerLiveKB: live > 0 ? round((last.memory.heapUsedBytes - base.memory.heapUsedBytes) / live / 1024, 1) : null,
      },
      restores: { total: restores, perSecond: round(restores / seconds, 1), misses: last.restoreMisses - base.restoreMisses },
      serverCpu: round(serverCpu, 3),
      sampleErrors,
      samples,
    };
    const topErrors = [...errors].sort((x, y) => y[1] - x[1]).slice(0, 5);
    log(`calls: ${figures.calls.ok}/${calls} ok (${figures.calls.perSecond}/s), p50 ${figures.calls.p50} ms, p99 ${figures.calls.p99} ms, schedule lag p99 ${figures.calls.lagP99Ms} ms, ${errorCount} errors ${JSON.stringify(Object.fromEntries(topErrors))}`);
    log(`memory: RSS ${figures.memory.rssMB} MB (peak ${figures.memory.peakRssMB}, base ${figures.memory.baseRssMB}), heap ${figures.memory.heapMB} MB (no forced GC), ${last.liveSessions} live: ${figures.memory.rssPerLiveKB} KB RSS and ${figures.memory.heapPerLiveKB} KB heap per live session`);
    log(`restores: ${restores} (${figures.restores.perSecond}/s), server CPU ${Math.round(serverCpu * 100)}% of one core`);
    console.log(JSON.stringify(figures, null, 2));
    if (flags.out) writeFileSync(flags.out, `${JSON.stringify({ when: new Date().toISOString(), ...figures }, null, 2)}\n`);
  } finally {
    // SIGTERM first: a server run with --cpu-prof writes its profile as it exits.
    child.kill('SIGTERM');
    const exited = await Promise.race([new Promise((resolve) => child.once('exit', () => resolve(true))), new Promise((resolve) => setTimeout(() => resolve(false), 10_000))]);
    if (!exited) child.kill('SIGKILL');
    await redis.close();
  }
}

function mapValues<T extends Record<string, number>>(o: T, f: (v: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) as T;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runScale(process.argv.slice(2));
  process.exit(0);
}
