// A session id of another principal is an unknown id to the caller, on every replica: same 404, same counters, same log lines.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPost } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

const ALICE = 'alice0123456789abcdef0123456789a';
const MALLORY = 'mallory0123456789abcdef012345678';

let redis: TestRedis;
let replicas: ServerProcess[] = [];
beforeAll(async () => {
  redis = await TestRedis.start();
  const env = { AUTH_MODE: 'key', MCP_API_KEYS: `alice:${ALICE},mallory:${MALLORY}`, REDIS_URL: redis.url, LOG_LEVEL: 'debug' };
  replicas = await Promise.all([ServerProcess.start({ env }), ServerProcess.start({ env })]);
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.kill()));
  await redis?.close();
});

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function counters(replica: ServerProcess): Promise<{ liveSessions: number; restores: number; restoreMisses: number }> {
  const body = (await (await fetch(`${replica.origin}/statusz`, { headers: bearer(MALLORY) })).json()) as Record<string, number>;
  return { liveSessions: body.liveSessions!, restores: body.restores!, restoreMisses: body.restoreMisses! };
}

/** What one request for `id` by mallory costs the replica: its status, the counters' change, its log lines (time and session tag left out). */
async function probe(replica: ServerProcess, id: string) {
  const before = await counters(replica);
  const from = replica.logs.length;
  const call = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'recall', arguments: { key: 'k' } } };
  const response = await rawPost(replica.url, call, { ...bearer(MALLORY), 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' });
  const body = await response.text();
  await sleep(200); // lets the child's log lines reach us
  const lines = replica.logs.slice(from).map((line) => line.replace(/"time":\d+,/, '').replace(/"session":"[^"]*"/, '"session":"…"'));
  const after = await counters(replica);
  return {
    status: response.status,
    body,
    lines,
    delta: { liveSessions: after.liveSessions - before.liveSessions, restores: after.restores - before.restores, restoreMisses: after.restoreMisses - before.restoreMisses },
  };
}

describe('a session of another principal', () => {
  it('security:binding:indistinguishable — costs what an unknown id costs on the replica that has it live and on one that has not: 404, no restore, the same counters and log lines', async () => {
    const client = new Client({ name: 'alice', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(replicas[0]!.url), { requestInit: { headers: bearer(ALICE) } });
    await client.connect(transport);
    await client.callTool({ name: 'remember', arguments: { key: 'k', value: 'secret' } });
    const id = transport.sessionId!;

    for (const replica of [replicas[1]!, replicas[0]!]) {
      const foreign = await probe(replica, id);
      const unknown = await probe(replica, randomUUID());
      expect(foreign.status).toBe(404);
      expect(foreign).toEqual(unknown);
      expect(foreign.delta.restores).toBe(0);
      expect(foreign.lines.join('\n')).not.toMatch(/"level":(40|50)/);
    }
    // Mallory's requests built nothing on the replica that never had the session; alice's are served there.
    expect((await counters(replicas[1]!)).liveSessions).toBe(0);
    const alice = await rawPost(replicas[1]!.url, { jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'recall', arguments: { key: 'k' } } }, { ...bearer(ALICE), 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' });
    expect(alice.status).toBe(200);
    expect(await alice.text()).toContain('secret');
    await client.close();
  });
});
