// What the fleet-wide limits cost per new session: initialize latency through the real app and session
// host on one Redis store, limits counted in Redis or on this replica, in alternating rounds.
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { AuthConfig } from '../app/config.js';
import { createApp } from '../app/http/app.js';
import { createAuthenticator } from '../app/http/auth.js';
import { RedisLimits } from '../app/sessions/redis-limits.js';
import { RedisSessionStore } from '../app/sessions/redis-store.js';
import { parseRedisUrl } from '../app/sessions/redis-url.js';
import { testHost } from '../test/support/host.js';
import type { TestRedis } from '../test/support/redis.js';
import { percentiles } from './workload.js';

const KEY = 'limits0123456789abcdef0123456789ab';
const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } });
/** High enough never to refuse: the cost of counting, not of refusing. */
const RATE = { tokens: 1_000_000, perMs: 1000 };

/**
 * `open`: no auth, no rate limit (the baseline). `fleetRate`: no auth, the rate per client address in
 * Redis (one script). `local`: key auth, rate and cap counted on this replica (before fleet-wide limits).
 * `fleet`: key auth, rate and cap in Redis (two scripts; the cap's overlaps building the session).
 */
const VARIANTS = ['open', 'fleetRate', 'local', 'fleet'] as const;
type Variant = (typeof VARIANTS)[number];
type P = { p50: number; p99: number };

export interface LimitsFigures {
  readonly samples: number;
  readonly initializeMs: Record<Variant, P>;
  /** Median over rounds of the p50 difference within a round (less exposed to drift than pooled figures). */
  readonly extraP50Ms: { readonly fleetRateOverOpen: number; readonly fleetOverLocal: number };
  /** Each limit's script alone, awaited one after another: one round trip. */
  readonly scriptMs: { readonly rate: P; readonly cap: P };
  /** Scripts per initialize (the store's create; then the limits'); no other command is sent. */
  readonly scriptsPerInitialize: Record<Variant, number>;
  /** Commands executed per initialize the way INFO commandstats counts them (inside scripts too). */
  readonly commandsExecuted: Record<Variant, number>;
}

async function commandCalls(client: Redis): Promise<{ scripts: number; executed: number }> {
  const info = await client.info('commandstats');
  const stats = new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1] as string, Number(m[2])]));
  stats.delete('info');
  return { scripts: (stats.get('evalsha') ?? 0) + (stats.get('eval') ?? 0), executed: [...stats.values()].reduce((a, b) => a + b, 0) };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const each = <T>(f: (v: Variant) => T) => Object.fromEntries(VARIANTS.map((v) => [v, f(v)])) as Record<Variant, T>;

export async function limitsCost(redis: TestRedis, probe: Redis, samples: number, rounds: number): Promise<LimitsFigures> {
  const logger = pino({ level: 'silent' });
  const store = new RedisSessionStore({ target: parseRedisUrl(redis.url), keyPrefix: 'bench-limits:', commandTimeoutMs: 2000 });
  if (!(await store.waitUntilReady(5000))) throw new Error('bench Redis not ready');
  const fleetLimits = new RedisLimits({ client: () => store.commandClient, keyPrefix: 'bench-limits:', rate: RATE, onStatus: () => {} });
  const build = (variant: Variant) => {
    const keyed = variant === 'local' || variant === 'fleet';
    const fleet = variant === 'fleetRate' || variant === 'fleet';
    const auth: AuthConfig = keyed ? { mode: 'key', keys: [{ id: 'bench', key: KEY }] } : { mode: 'none' };
    // The default live-session bound: the local cap scans this replica's live sessions.
    const host = testHost(store, logger, { maxLiveSessions: 2000, maxSessionsPerPrincipal: 1_000_000, ...(fleet ? { fleetLimits } : {}) });
    const app = createApp({ host, store, allowedHosts: ['127.0.0.1'], authenticator: createAuthenticator({ auth, publicUrl: undefined, logger }), logger, ...(variant === 'open' ? {} : { sessionCreateRate: RATE }), ...(fleet ? { fleetLimits } : {}) });
    return { host, app, keyed };
  };
  const built = each(build);
  const initialize = async (variant: Variant) => {
    const headers: Record<string, string> = { host: '127.0.0.1', accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
    if (built[variant].keyed) headers.authorization = `Bearer ${KEY}`;
    // A non-loopback address: without auth, loopback clients are exempt from the rate.
    const response = await built[variant].app.fetch(new Request('http://127.0.0.1/mcp', { method: 'POST', headers, body: INIT }), { clientAddress: '192.0.2.7' });
    if (response.status !== 200) throw new Error(`initialize (${variant}) answered ${response.status}`);
  };
  const times = each(() => [] as number[]);
  const roundP50 = each(() => [] as number[]);
  const scripts = each(() => 0);
  const executed = each(() => 0);
  const scriptMs = { rate: { p50: 0, p99: 0 }, cap: { p50: 0, p99: 0 } };
  try {
    for (const variant of VARIANTS) for (let i = 0; i < 100; i++) await initialize(variant); // warm-up, and the local cap has live sessions to scan
    for (let round = 0; round < rounds; round++) {
      // Turns alternate and the order rotates, so drift in the machine (and being first) hits every variant alike.
      for (const variant of [...VARIANTS.slice(round % VARIANTS.length), ...VARIANTS.slice(0, round % VARIANTS.length)]) {
        const from = times[variant].length;
        const before = await commandCalls(probe);
        for (let i = 0; i < samples; i++) {
          const started = performance.now();
          await initialize(variant);
          times[variant].push(performance.now() - started);
        }
        const after = await commandCalls(probe);
        scripts[variant] += after.scripts - before.scripts;
        executed[variant] += after.executed - before.executed;
        roundP50[variant][round] = (percentiles(times[variant].slice(from)).p50);
      }
    }
    const alone = { rate: () => fleetLimits.takeToken('key:bench'), cap: () => fleetLimits.admitSession('f'.repeat(32), `s${Math.random()}`, Date.now() + 60_000, 1_000_000) };
    for (const limit of ['rate', 'cap'] as const) {
      const ms: number[] = [];
      for (let i = 0; i < samples; i++) {
        const started = performance.now();
        await alone[limit]();
        ms.push(performance.now() - started);
      }
      scriptMs[limit] = percentiles(ms);
    }
  } finally {
    await Promise.all(VARIANTS.map((v) => built[v].host.close()));
    await store.close();
  }
  const n = samples * rounds;
  const diff = (a: Variant, b: Variant) => median(roundP50[a].map((p, i) => p - (roundP50[b][i] as number)));
  return {
    samples: n,
    initializeMs: each((v) => percentiles(times[v])),
    extraP50Ms: { fleetRateOverOpen: diff('fleetRate', 'open'), fleetOverLocal: diff('fleet', 'local') },
    scriptMs,
    scriptsPerInitialize: each((v) => scripts[v] / n),
    commandsExecuted: each((v) => executed[v] / n),
  };
}
