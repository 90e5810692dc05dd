// A session whose Redis record vanished (LRU eviction, a FLUSHALL, an operator's DEL) while its replica holds it live:
// a data call gets an answer that tells the client to start over, in both response modes, never an empty 200 or a hang.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, rawPost, rpcMessage } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

let redis: TestRedis;
const servers: ServerProcess[] = [];
beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await redis?.close();
});

/** Deletes every key of the session with a raw client, as an eviction or an operator would. */
async function vanish(sessionId: string): Promise<number> {
  const raw = redis.client();
  try {
    const keys = await raw.keys(`*{${sessionId}}*`);
    return keys.length === 0 ? 0 : await raw.del(...keys);
  } finally {
    raw.quit();
  }
}

type Answer = { status: number; message?: { result?: { isError?: boolean; content?: Array<{ text?: string }> }; error?: { code: number; message: string } }; body: string };

async function dataCall(url: string, sessionId: string, name: string, args: Record<string, unknown>, id: number): Promise<Answer> {
  // A hang shows as this timeout, an empty stream as a body without a message.
  const answered = rawPost(url, { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }, { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }).then(async (r) => ({ status: r.status, body: await r.text() }));
  const { status, body } = await Promise.race([answered, new Promise<{ status: number; body: string }>((resolve) => setTimeout(() => resolve({ status: 0, body: '<no answer within 10 s>' }), 10_000))]);
  let message: Answer['message'];
  try {
    message = rpcMessage(body);
  } catch {
    message = undefined;
  }
  return { status, message, body };
}

/** A proper answer: 404 (start over), or a JSON-RPC answer saying the session ended. */
function startsOver(answer: Answer): boolean {
  if (answer.status === 404) return answer.message?.error?.code === -32001;
  const text = answer.message?.result?.content?.[0]?.text ?? answer.message?.error?.message ?? '';
  return answer.status === 200 && /ended or expired|Session not found/.test(text);
}

describe('a session whose record vanished', () => {
  for (const mode of ['sse', 'json'] as const) {
    it(`store:vanished:${mode} — remember and recall answer "start over" (a tool error, then 404), and the SDK client gets it too`, async () => {
      const s = await ServerProcess.start({ env: { REDIS_URL: redis.url, MCP_RESPONSE_MODE: mode, LOG_LEVEL: 'info' } });
      servers.push(s);
      const client = await connectLegacy(s.url);
      await client.call('remember', { key: 'k', value: 'v' });
      expect(await vanish(client.sessionId)).toBeGreaterThan(0);

      const first = await dataCall(s.url, client.sessionId, 'recall', { key: 'k' }, 11);
      expect(first, first.body).toSatisfy(startsOver);
      const second = await dataCall(s.url, client.sessionId, 'remember', { key: 'k', value: 'w' }, 12);
      expect(second, second.body).toSatisfy(startsOver);
      expect(second.status).toBe(404);

      const other = await connectLegacy(s.url);
      await other.call('remember', { key: 'k', value: 'v' });
      await vanish(other.sessionId);
      await expect(other.call('remember', { key: 'k', value: 'w' })).rejects.toThrow(/ended or expired|404|Session not found/);
      await Promise.all([client.close(), other.close()]);
    }, 60_000);
  }
});
