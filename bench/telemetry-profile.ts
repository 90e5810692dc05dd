// `tsx bench/telemetry-profile.ts [dir]`: CPU profiles of two servers, telemetry exporting (OTLP to a local receiver)
// and off, under the same warm no-data load at the same time; prints the CPU per request (per thread), the share of
// the busy samples spent in telemetry code, and the top self-time packages and functions of each.
// Knobs: PROFILE_MS (load window, default 8000), PROFILE_MODE (json | sse), PROFILE_AA=1 (both off: the harness's
// own spread), PROFILE_SIGNALS (traces | metrics only), BSP_DELAY (OTEL_BSP_SCHEDULE_DELAY of the exporting one),
// PROFILE_TRACE_DEOPT=1 (count deoptimizations), PROFILE_SPAN_PROBE=1 (time 20 000 spans in a loop in the server).
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { OtlpReceiver } from '../test/support/otlp-receiver.js';
import { TestRedis } from '../test/support/redis.js';
import { ServerProcess } from '../test/support/server-process.js';
import { callTool, closedLoop, openSession, pool } from './workload.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
  readonly children?: number[];
}
interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

/** Self time by function and by package (node_modules/<pkg>, node internals, app), in ms. */
function summarize(profile: Profile): { total: number; byFunction: Array<[string, number]>; byPackage: Array<[string, number]> } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    total += ms;
    const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?wt-[^/]+\//, '');
    const key = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + ms);
    const p = url.includes('node_modules/') ? (url.split('node_modules/').pop()!.match(/^(@[^/]+\/[^/]+|[^/]+)/)?.[1] ?? '?') : url.startsWith('node:') ? 'node:' + url.slice(5).split('/')[0] : url ? 'app' : functionName || '(vm)';
    pkg.set(p, (pkg.get(p) ?? 0) + ms);
  }
  const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { total, byFunction: top(fn, 45), byPackage: top(pkg, 25) };
}

const TELEMETRY = /app\/telemetry\/|@opentelemetry\/|monitor-opentelemetry/;

/**
 * The share of the busy samples (not idle) spent in telemetry code: a sample counts when the nearest frame
 * with a file of its own (node internals and natives belong to their caller) is telemetry code. Within one
 * process, so it holds on a loaded machine where the cross-process ratios do not. GC is nobody's.
 */
function telemetryShare(profile: Profile): number {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = new Map<number, boolean>();
  const isTelemetry = (id: number): boolean => {
    let known = owner.get(id);
    if (known === undefined) {
      const { url } = nodes.get(id)!.callFrame;
      const up = parent.get(id);
      known = url && !url.startsWith('node:') ? TELEMETRY.test(url) : up !== undefined && isTelemetry(up);
      owner.set(id, known);
    }
    return known;
  };
  let busy = 0;
  let spent = 0;
  profile.samples.forEach((id, i) => {
    const { functionName } = nodes.get(id)!.callFrame;
    const ms = profile.timeDeltas[i] ?? 0;
    if (functionName === '(idle)') return;
    busy += ms;
    if (functionName !== '(garbage collector)' && functionName !== '(program)' && isTelemetry(id)) spent += ms;
  });
  return spent / busy;
}

/** PROFILE_SIGNALS=traces or metrics exports only that signal (to tell their costs apart); default both. */
function signals(endpoint: string): Record<string, string> {
  const only = process.env.PROFILE_SIGNALS;
  if (only === 'traces') return { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces` };
  if (only === 'metrics') return { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${endpoint}/v1/metrics` };
  return { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint };
}

/** Sends SIGUSR2 and waits for the server to log `line`. */
async function signal(server: ServerProcess, line: string): Promise<void> {
  const before = server.logs.length;
  process.kill(server.pid!, 'SIGUSR2');
  while (!server.logs.slice(before).some((l) => l.includes(line))) await new Promise((r) => setTimeout(r, 20));
}

/** CPU seconds by thread name (main thread, V8 workers, libuv pool…), from /proc/<pid>/task. */
function threadsOf(pid: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The main thread apart: V8's worker threads (GC, compiler) carry the process name too.
      const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/\d+$/, '');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(after[11]) + Number(after[12])) / 100);
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return out;
}

function cpuOf(pid: number | undefined): number {
  const after = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(after[11]) + Number(after[12])) / 100;
}

async function main(): Promise<void> {
  // Piped into `head`: still clean up (kill the servers and Redis) rather than die of EPIPE.
  process.stdout.on('error', () => undefined);
  const dir = process.argv[2] ?? '/tmp/telemetry-profile';
  const ms = Number(process.env.PROFILE_MS ?? 8000);
  rmSync(dir, { recursive: true, force: true });
  const redis = await TestRedis.start();
  const receiver = await OtlpReceiver.start();
  const env = (on: boolean) => ({
    MCP_RESPONSE_MODE: process.env.PROFILE_MODE ?? 'json',
    SESSION_CREATE_RATE: 'off',
    LOG_LEVEL: 'info',
    REDIS_URL: redis.url,
    SESSION_KEY_PREFIX: `profile-${on ? 'on' : 'off'}:`,
    PROFILE_FILE: join(dir, `${on ? 'on' : 'off'}.cpuprofile`),
    ...(process.env.PROFILE_SPAN_PROBE ? { PROFILE_SPAN_PROBE: '1' } : {}),
    ...(process.env.PROFILE_TRACE_DEOPT ? { PROFILE_TRACE_DEOPT: '1' } : {}),
    ...(on && !process.env.PROFILE_AA ? { ...signals(receiver.endpoint), OTEL_METRIC_EXPORT_INTERVAL: '10000', ...(process.env.BSP_DELAY ? { OTEL_BSP_SCHEDULE_DELAY: process.env.BSP_DELAY } : {}) } : {}),
  });
  mkdirSync(dir, { recursive: true });
  const servers = [await ServerProcess.start({ env: env(false), entry: 'bench/profiled-main.ts' }), await ServerProcess.start({ env: env(true), entry: 'bench/profiled-main.ts' })];
  try {
    const ids = await Promise.all(
      servers.map(async (s) => {
        const list = await pool(Array.from({ length: 50 }), 10, () => openSession(s.url));
        await pool(list, 10, (id) => callTool(s.url, id, 'remember', { key: 'k', value: 'v' }));
        return list;
      }),
    );
    await Promise.all(servers.map((s, i) => closedLoop(s.url, ids[i]!, 2000, 'no-data')));
    await Promise.all(servers.map((s) => signal(s, 'profile started')));
    const cpu = servers.map((s) => cpuOf(s.pid));
    const threads = servers.map((s) => threadsOf(s.pid));
    const loads = await Promise.all(servers.map((s, i) => closedLoop(s.url, ids[i]!, ms, 'no-data')));
    const cpuUs = servers.map((s, i) => ((cpuOf(s.pid) - cpu[i]!) * 1e6) / loads[i]!.requests);
    servers.forEach((s, i) => {
      const after = threadsOf(s.pid);
      const parts = [...after].map(([name, t]) => [name, ((t - (threads[i]!.get(name) ?? 0)) * 1e6) / loads[i]!.requests] as const).filter(([, us]) => us >= 1);
      console.log(`${i ? 'on' : 'off'} CPU µs per request by thread: ${parts.map(([name, us]) => `${name} ${us.toFixed(0)}`).join(', ')}`);
    });
    console.log(`server CPU per request (from /proc): off ${cpuUs[0]!.toFixed(0)} µs, on ${cpuUs[1]!.toFixed(0)} µs; ratio ${(cpuUs[1]! / cpuUs[0]!).toFixed(3)}`);
    console.log(`off ${Math.round(loads[0]!.perSecond)} req/s (${loads[0]!.requests}), on ${Math.round(loads[1]!.perSecond)} req/s (${loads[1]!.requests}); ratio ${(loads[1]!.perSecond / loads[0]!.perSecond).toFixed(3)}; spans received ${receiver.spans.length}`);
    await Promise.all(servers.map((s) => signal(s, 'profile written')));
    servers.forEach((s) => s.logs.filter((l) => l.startsWith('probe')).forEach((l) => console.log(l)));
    if (process.env.PROFILE_TRACE_DEOPT) {
      servers.forEach((s, i) => {
        const deopts = s.logs.filter((l) => l.includes('bailout (kind:'));
        const where = new Map<string, number>();
        for (const l of deopts) {
          const fn = l.match(/<JSFunction ([^ >]+)/)?.[1] ?? '?';
          where.set(fn, (where.get(fn) ?? 0) + 1);
        }
        console.log(`${i ? 'on' : 'off'}: ${deopts.length} deoptimizations while profiled; most: ${[...where].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([f, n]) => `${f} ${n}`).join(', ')}`);
      });
    }
    servers.forEach((s, i) => console.log(`${i ? 'on' : 'off'}: ${s.logs.find((l) => l.includes('profile written'))?.replace(/^.*profile written; /, '')} for ${loads[i]!.requests} requests`));
    for (const [i, side] of (['off', 'on'] as const).entries()) {
      const profile = JSON.parse(readFileSync(join(dir, `${side}.cpuprofile`), 'utf8')) as Profile;
      const s = summarize(profile);
      console.log(`${side}: telemetry code ${(telemetryShare(profile) * 100).toFixed(1)}% of the busy samples`);
      const per = (x: number) => ((x * 1000) / loads[i]!.requests).toFixed(1);
      console.log(`\n== ${side}: ${s.total.toFixed(0)} ms sampled, µs per request (self) by package:`);
      for (const [k, v] of s.byPackage) console.log(`  ${per(v).padStart(7)}  ${k}`);
      console.log(`-- top functions (µs per request, self):`);
      for (const [k, v] of s.byFunction) console.log(`  ${per(v).padStart(7)}  ${k}`);
    }
  } finally {
    await Promise.all(servers.map((s) => s.kill('SIGKILL').catch(() => undefined)));
    await receiver.close();
    await redis.close();
  }
}

await main();
