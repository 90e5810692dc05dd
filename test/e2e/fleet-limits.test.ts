// End to end: the new-session rate and the per-principal cap hold for the fleet, counted in Redis (one
// node and a 3-master cluster), and each replica falls back to its own limits while Redis is away.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { rawPost } from '../support/clients.js';
import { ServerProcess } from '../support/server-process.js';
import { TOPOLOGIES, useTopology } from '../support/topologies.js';

const KEY = 'fleet0123456789abcdef0123456789ab';
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
const AUTH = { authorization: `Bearer ${KEY}` };

const servers: ServerProcess[] = [];

async function replicas(n: number, env: Record<string, string>): Promise<ServerProcess[]> {
  const started = await Promise.all(Array.from({ length: n }, () => ServerProcess.start({ env: { AUTH_MODE: 'key', MCP_API_KEYS: `fleet:${KEY}`, ...env } })));
  servers.push(...started);
  return started;
}

/** `count` initializes of one principal, spread over `fleet` in turn; the statuses in order. */
async function initializes(fleet: readonly ServerProcess[], count: number): Promise<Response[]> {
  const answers: Response[] = [];
  for (let i = 0; i < count; i++) answers.push(await rawPost((fleet[i % fleet.length] as ServerProcess).url, INIT, AUTH));
  return answers;
}

const ok = (answers: readonly Response[]) => answers.filter((r) => r.status === 200).length;

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await sleep(50);
  }
}

describe.each(TOPOLOGIES)('fleet-wide limits (%s)', (topology) => {
  const redis = useTopology(topology);
  // Registered after the topology's hooks, so it runs first: the servers stop before their Redis does.
  afterAll(async () => void (await Promise.all(servers.splice(0).map((s) => s.kill()))));
  const store = () => redis.env();

  it('limits:fleet-rate — 4 new sessions a minute hold across three replicas: 4 of 12 accepted, not 12', async () => {
    const fleet = await replicas(3, { ...store(), SESSION_CREATE_RATE: '4/m', SESSION_KEY_PREFIX: `rate${Date.now()}:` });
    const answers = await initializes(fleet, 12);
    expect(ok(answers)).toBe(4);
    const refused = answers.filter((r) => r.status === 429);
    expect(refused).toHaveLength(8);
    expect(Number(refused[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const status = (await (await fetch(`${(fleet[0] as ServerProcess).origin}/statusz`, { headers: AUTH })).json()) as { sessionCreateLimit: { mode: string } };
    expect(status.sessionCreateLimit.mode).toBe('fleet');
  });

  it('limits:fleet-cap — a principal holds at most 3 sessions across two replicas, and a DELETE frees one', async () => {
    const fleet = await replicas(2, { ...store(), SESSION_CREATE_RATE: 'off', MAX_SESSIONS_PER_PRINCIPAL: '3', SESSION_KEY_PREFIX: `cap${Date.now()}:` });
    const answers = await initializes(fleet, 6);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429, 429, 429]);
    expect(await answers[3]?.json()).toMatchObject({ error: { message: expect.stringMatching(/Too many live sessions for this caller \(3\)/) } });
    const first = answers[0]?.headers.get('mcp-session-id') as string;
    // Ended on the other replica than the one that created it.
    const ended = await fetch((fleet[1] as ServerProcess).url, { method: 'DELETE', headers: { ...AUTH, 'mcp-session-id': first, 'mcp-protocol-version': '2025-06-18' } });
    expect(ended.status).toBe(200);
    expect((await initializes(fleet, 2)).map((r) => r.status)).toEqual([200, 429]);
  });
  it('limits:fallback — with Redis stopped each replica limits on its own and says so once; back in Redis when it returns', async () => {
    const fleet = await replicas(2, { ...store(), SESSION_CREATE_RATE: '2/m', SESSION_KEY_PREFIX: `away${Date.now()}:` });
    // Every master of a cluster: the whole store is away, not one shard.
    const bringBack = await redis.stopKeepingData();
    const answers = await initializes(fleet, 8);
    // Local buckets: 2 per replica. Not unlimited, and not refused outright.
    expect(ok(answers)).toBe(4);
    for (const s of fleet) expect(s.output.match(/fleet-wide session limits unavailable/g)).toHaveLength(1);
    const status = (await (await fetch(`${(fleet[0] as ServerProcess).origin}/statusz`, { headers: AUTH })).json()) as { sessionCreateLimit: { mode: string; fallbacks: number } };
    // Four rate checks on this replica, and a cap check for each of the two it admitted.
    expect(status.sessionCreateLimit).toMatchObject({ mode: 'local', fallbacks: 6 });

    await bringBack();
    await until(() => fleet.every((s) => /redis ready/.test(s.output.slice(s.output.lastIndexOf('fleet-wide session limits unavailable')))));
    await initializes(fleet, 2);
    for (const s of fleet) expect(s.output).toContain('fleet-wide session limits counted in Redis again');
  });
});
