// app/main.ts under the V8 CPU profiler (for bench/telemetry-profile.ts). The first SIGUSR2 starts profiling (after
// start-up and warm-up), the second writes PROFILE_FILE and logs "profile written" with the GC pauses meanwhile.
// PROFILE_SPAN_PROBE=1: the first SIGUSR2 also times 20 000 spans started and ended in a loop, in this process.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';

const session = new Session();
session.connect();
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
let profiling = false;
// GC pauses while profiling, by kind (minor = scavenge, major = mark-compact).
const gc = { minor: 0, major: 0, other: 0, ms: 0 };
const observer = new PerformanceObserver((list) => {
  if (!profiling) return;
  for (const entry of list.getEntries()) {
    const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.minor++;
    else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) gc.major++;
    else gc.other++;
    gc.ms += entry.duration;
  }
});
observer.observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', () => {
  if (!profiling) {
    profiling = true;
    // PROFILE_TRACE_DEOPT=1: V8 prints each deoptimization meanwhile (the harness counts them).
    if (process.env.PROFILE_TRACE_DEOPT) setFlagsFromString('--trace-deopt');
    void post('Profiler.enable')
      .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
      .then(() => post('Profiler.start'))
      .then(() => console.log('profile started'));
    return;
  }
  void post('Profiler.stop').then((result) => {
    writeFileSync(process.env.PROFILE_FILE ?? 'server.cpuprofile', JSON.stringify((result as { profile: unknown }).profile));
    console.log(`profile written; gc ${JSON.stringify({ ...gc, ms: Math.round(gc.ms), heapMB: Math.round(process.memoryUsage().heapUsed / 1e6) })}`);
  });
});
const { telemetry } = await import('../app/telemetry/index.js');
let probed = false;
process.on('SIGUSR2', () => {
  if (probed || !process.env.PROFILE_SPAN_PROBE || !telemetry().enabled) return;
  probed = true;
  const t = telemetry();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < 20000; i++) {
    const s = t.startSpan('tools/call x', { kind: 'server', attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'x' } });
    s.setAttribute('jsonrpc.request.id', String(i));
    s.end();
  }
  const c = process.cpuUsage(c0);
  console.log(`probe spans: ${((c.user + c.system) / 20000).toFixed(2)} µs cpu, ${(((performance.now() - w0) * 1000) / 20000).toFixed(2)} µs wall per span`);
});
await import('../app/main.js');
