// `npm run chaos`: the rollout and failure drill in Redis mode (one node, or with --cluster a local
// 3-master cluster) and in memory mode; exits 1 if Redis mode lost anything or failed a call in a rolling restart.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { runDrill, type DrillOptions, type DrillResult } from './chaos-drill.js';

const HELP = `usage: npm run chaos -- [--replicas 3] [--clients 50] [--settle 3s] [--rounds 3] [--kills 3]
                        [--outage 20s] [--frozen 10s] [--think 50ms] [--call-timeout 10s] [--drain-delay 1s]
                        [--elicit-share 0.2] [--mode both|redis|memory] [--cluster] [--out bench/results/chaos-latest.json]
--cluster: Redis mode on a local 3-master Redis Cluster (redis-server --cluster-enabled ×3): the slots of the
live sessions move to other masters mid-run, and the outage is a restart (data kept) of the master holding most
of them. Each flag also reads an env var: CHAOS_REPLICAS, CHAOS_CLIENTS, CHAOS_SETTLE, CHAOS_ROUNDS, CHAOS_KILLS,
CHAOS_OUTAGE, CHAOS_FROZEN, CHAOS_THINK, CHAOS_CALL_TIMEOUT, CHAOS_DRAIN_DELAY, CHAOS_ELICIT_SHARE, CHAOS_MODE,
CHAOS_CLUSTER (true), CHAOS_OUT.`;

function ms(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(raw.trim());
  if (!match) throw new Error(`"${raw}" is not a duration (e.g. 500ms, 20s)`);
  return Math.round(Number(match[1]) * (match[2] === 'ms' ? 1 : 1000));
}

export function parseChaosArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): { modes: Array<'redis' | 'memory'>; out: string; drill: Omit<DrillOptions, 'mode'> } {
  const { values } = parseArgs({
    args: argv,
    options: {
      replicas: { type: 'string' },
      clients: { type: 'string' },
      settle: { type: 'string' },
      rounds: { type: 'string' },
      kills: { type: 'string' },
      outage: { type: 'string' },
      frozen: { type: 'string' },
      think: { type: 'string' },
      'call-timeout': { type: 'string' },
      'drain-delay': { type: 'string' },
      'elicit-share': { type: 'string' },
      mode: { type: 'string' },
      cluster: { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const pick = (flag: Exclude<keyof typeof values, 'cluster' | 'help'>, name: string, fallback: string) => String(values[flag] ?? env[`CHAOS_${name}`] ?? fallback);
  const mode = pick('mode', 'MODE', 'both');
  if (!['both', 'redis', 'memory'].includes(mode)) throw new Error(`--mode must be both, redis or memory, got ${mode}`);
  return {
    modes: mode === 'both' ? ['redis', 'memory'] : [mode as 'redis' | 'memory'],
    out: pick('out', 'OUT', 'bench/results/chaos-latest.json'),
    drill: {
      topology: values.cluster || env.CHAOS_CLUSTER === 'true' ? 'cluster' : 'one node',
      replicas: Number(pick('replicas', 'REPLICAS', '3')),
      clients: Number(pick('clients', 'CLIENTS', '50')),
      settleMs: ms(pick('settle', 'SETTLE', '3s')),
      rollingRounds: Number(pick('rounds', 'ROUNDS', '3')),
      kills: Number(pick('kills', 'KILLS', '3')),
      outageMs: ms(pick('outage', 'OUTAGE', '20s')),
      frozenMs: ms(pick('frozen', 'FROZEN', '10s')),
      thinkMs: ms(pick('think', 'THINK', '50ms')),
      callTimeoutMs: ms(pick('call-timeout', 'CALL_TIMEOUT', '10s')),
      drainDelayMs: ms(pick('drain-delay', 'DRAIN_DELAY', '1s')),
      elicitShare: Number(pick('elicit-share', 'ELICIT_SHARE', '0.2')),
    },
  };
}

const COLUMN = 64;

export function summaryTable(results: readonly DrillResult[]): string {
  const rows: Array<[string, (r: DrillResult) => string]> = [
    ['sessions lost', (r) => `${r.lost}/${r.sessions}`],
    ['  by 404', (r) => String(r.lostBy['404'] ?? 0)],
    ['  by wrong state', (r) => String(r.lostBy['wrong state'] ?? 0)],
    ['  never connected', (r) => String(r.lostBy['never connected'] ?? 0)],
    ['tool calls', (r) => String(r.calls)],
    ['calls failed (retried)', (r) => `${r.failed} (${Object.entries(r.failures).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none'})`],
    ['  by phase', (r) => Object.entries(r.failuresByPhase).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none'],
    ['confirmed writes lost', (r) => String(r.confirmedWritesLost)],
    ['  writes shown late, delivered after a client timeout (harness)', (r) => String(r.lateDeliveries.length)],
    ['writes refused ("Not saved", retried)', (r) => String(r.refused)],
    ['eliciting clients, forget_all calls (answered)', (r) => `${r.elicitations.clients}, ${r.elicitations.calls} (${r.elicitations.answered})`],
    ['  lost outside SIGKILL, Redis down (target 0)', (r) => String(elicitationsLostOutsideFaults(r))],
    ['  elicitations lost by phase they ended in', (r) => Object.entries(r.elicitations.lostByPhase).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none'],
    ['  elicitations lost by fault charged', (r) => Object.entries(r.elicitations.lostByFault).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none'],
    ['SIGKILL: calls in flight on the killed replica', (r) => String(r.orphans.inFlight)],
    ['  failed fast (-32003), time from the kill', (r) => orphanTimes(r)],
    ['  timed out by the client (target 0)', (r) => String(r.orphans.timeouts)],
    ['  timed out, killed before its events were stored', (r) => String(r.orphans.unresumable)],
    ['  timed out, Redis down before it could fail fast', (r) => String(r.orphans.inOutage ?? 0)],
    ['  other ends', (r) => Object.entries(r.orphans.other).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none'],
    ['proxy 502s', (r) => String(r.proxy502)],
    ['proxy 503s (no replica ready)', (r) => String(r.proxyNoUpstream)],
    ['rolling restarts (exit codes)', (r) => `${r.restarts} (${r.drainExitCodes.join(', ') || '-'})`],
    ['SIGKILLs', (r) => String(r.kills)],
    ['sessions whose slot moved mid-run', (r) => (r.topology === 'cluster' ? String(r.slotsMoved) : '-')],
    ['frozen subscriber (replica 0)', (r) => (r.frozenMs ? `${r.frozenMs / 1000} s` : '-')],
    ['Redis outage (cluster: one master restarting)', (r) => (r.outageMs ? `${r.outageMs / 1000} s` : '-')],
    ['duration', (r) => `${r.seconds} s`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const header = ''.padEnd(width) + results.map((r) => `${modeName(r)}  `.padEnd(COLUMN)).join('');
  return [header, ...rows.map(([label, cell]) => label.padEnd(width) + results.map((r) => `${cell(r)}  `.padEnd(COLUMN)).join(''))].join('\n');
}

/**
 * Eliciting calls that did not end with the user's answer and that no fault explains (`faultOf`): not
 * run on or answered to a replica killed meanwhile (a question dies with its replica, an answer sent to
 * a dead one is never retried), not overlapping the Redis outage (an answer cannot be handed over then).
 */
export function elicitationsLostOutsideFaults(r: DrillResult): number {
  return r.elicitations.lostByFault.none ?? 0;
}

/** "n (p50 … ms, max … ms)": orphaned calls answered -32003, timed from their replica's SIGKILL. */
export function orphanTimes(r: DrillResult): string {
  const ms = r.orphans.failedFastMs;
  return `${r.orphans.failedFast}${ms ? ` (p50 ${ms.p50} ms, max ${ms.max} ms)` : ''}`;
}

/** "redis mode", "redis mode (3-master cluster)" or "memory mode". */
export function modeName(r: Pick<DrillResult, 'mode' | 'topology'>): string {
  return `${r.mode} mode${r.mode === 'redis' && r.topology === 'cluster' ? ' (3-master cluster)' : ''}`;
}

export function finalLine(results: readonly DrillResult[]): string {
  const parts = results.map((r) =>
    r.mode === 'redis'
      ? `${modeName(r)} sessions lost ${r.lost}/${r.sessions}, ${r.topology === 'cluster' ? `slots moved mid-run ${r.slotsMoved}, ` : ''}confirmed writes lost ${r.confirmedWritesLost}, elicitations lost outside SIGKILL and the Redis outage ${elicitationsLostOutsideFaults(r)}/${r.elicitations.calls}, orphans on killed replicas failed fast ${orphanTimes(r)}/${r.orphans.inFlight} and timed out ${r.orphans.timeouts} (+${r.orphans.unresumable} killed before their first event was stored, +${r.orphans.inOutage ?? 0} with Redis down before they could fail fast), calls failed ${r.failed}/${r.calls} (${r.failuresByPhase['rolling restart'] ?? 0} in rolling restarts; the rest in flight on killed replicas, or refused during the Redis outage)`
      : `memory mode sessions lost ${r.lost}/${r.sessions}`,
  );
  return `chaos: ${parts.join('; ')}`;
}

async function main(): Promise<void> {
  const { modes, out, drill } = parseChaosArgs(process.argv.slice(2));
  const results: DrillResult[] = [];
  for (const mode of modes) {
    console.log(`chaos: ${modeName({ mode, topology: drill.topology ?? 'one node' })}, ${drill.replicas} replicas, ${drill.clients} clients`);
    results.push(await runDrill({ ...drill, mode, log: (line) => console.log(`  ${line}`) }));
  }
  console.log(`\n${summaryTable(results)}\n`);
  for (const r of results.filter((x) => x.mode === 'redis')) {
    for (const detail of r.lostDetails) console.log(`  lost: ${detail}`);
    for (const history of r.lateDeliveries) console.log(`  write delivered after its client timed out (the drill's proxy forwarded it late), the key's history:\n${history.map((line) => `    ${line}`).join('\n')}`);
    for (const history of r.lossHistories) console.log(`  confirmed write lost, the key's history:\n${history.map((line) => `    ${line}`).join('\n')}`);
    for (const detail of r.elicitations.lost) console.log(`  elicitation lost: ${detail}`);
    for (const detail of r.orphans.details) console.log(`  orphan not failed fast: ${detail}`);
  }
  console.log(finalLine(results));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ when: new Date().toISOString(), settings: drill, results, final: finalLine(results) }, null, 2)}\n`);
  const redis = results.find((r) => r.mode === 'redis');
  const rollingFailures = redis?.failuresByPhase['rolling restart'] ?? 0;
  process.exit(redis && (redis.lost > 0 || redis.confirmedWritesLost > 0 || rollingFailures > 0) ? 1 : 0);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/.*\/bench\//, '/bench/'))) void main();
