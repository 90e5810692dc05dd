// End to end: both protocol eras on one /mcp, two replicas on one redis-server, requests alternating between them.
// Real processes, real @modelcontextprotocol/client 2.4 clients (pinned to 2026-07-28, and `auto`), real SDK 1.32 legacy clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, roundRobinFetch } from '../support/clients.js';
import { connectModern } from '../support/modern-clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';

const KEY_1 = 'modern-era-key-one-0123456789';
const KEY_2 = 'modern-era-key-two-0123456789';
const auth = (key: string) => ({ authorization: `Bearer ${key}` });

let redis: TestRedis;
let a: ServerProcess;
let b: ServerProcess;

const env = () => ({ REDIS_URL: redis.url, AUTH_MODE: 'key', MCP_API_KEYS: `one:${KEY_1},two:${KEY_2}`, MCP_REQUEST_STATE_KEY: 'a-fleet-wide-request-state-key-of-32-bytes+' });

beforeAll(async () => {
  redis = await TestRedis.start();
  [a, b] = await Promise.all([ServerProcess.start({ env: env() }), ServerProcess.start({ env: env() })]);
});

afterAll(async () => {
  await Promise.all([a, b].map((s) => s?.kill()));
  await redis?.close();
});

/** Requests in turn to a and b, with every response's headers recorded. */
function alternating(seen: Array<{ method: string; sessionId: string | null }> = []): typeof fetch {
  const next = roundRobinFetch(() => [a.origin, b.origin]);
  return async (input, init) => {
    const response = await next(input, init);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { method?: string }) : {};
    seen.push({ method: body.method ?? init?.method ?? 'GET', sessionId: response.headers.get('mcp-session-id') });
    return response;
  };
}

/** A raw 2026-07-28 request, for what an SDK client would never send (headers as the spec wants them). */
function rawModern(url: string, key: string, method: string, params: Record<string, unknown>, name?: string): Promise<Response> {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } };
  return fetch(url, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...(name ? { 'mcp-name': name } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta } }),
  });
}

/** The legacy client with a bearer key on every request. */
const withKey = (key: string): typeof fetch => (input, init) => {
  const headers = new Headers(init?.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
};

/** Only to one replica. */
const only = (server: () => ServerProcess) => roundRobinFetch(() => [server().origin]);

async function eventually<T>(probe: () => T | undefined, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('not seen in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const handleOf = (result: { structuredContent?: Record<string, unknown> }) => String(result.structuredContent?.scratchpad);

describe('both protocol eras on one endpoint', () => {
  it('modern:discover — server/discover offers 2026-07-28 and the legacy versions; no modern response carries a session id', async () => {
    const response = await rawModern(a.url, KEY_1, 'server/discover', {});
    expect(response.status).toBe(200);
    expect(response.headers.get('mcp-session-id')).toBeNull();
    const body = (await response.json()) as { result: { supportedVersions: string[] } };
    expect(body.result.supportedVersions).toEqual(expect.arrayContaining(['2026-07-28', '2025-11-25', '2025-06-18', '2025-03-26']));

    const seen: Array<{ method: string; sessionId: string | null }> = [];
    const pinned = await connectModern(a.url, { negotiation: 'pin', headers: auth(KEY_1), fetch: alternating(seen) });
    expect(pinned.transport.protocolVersion).toBe('2026-07-28');
    await pinned.call('session_info');
    await pinned.close();
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.filter((s) => s.sessionId !== null)).toEqual([]);
  });

  it('modern:carried-session-id — a modern request that carries an Mcp-Session-Id is served statelessly and gets none back', async () => {
    const legacy = await connectLegacy(a.url, { fetch: withKey(KEY_1) });
    const client = await connectModern(b.url, { headers: { ...auth(KEY_1), 'mcp-session-id': legacy.sessionId } });
    const info = JSON.parse(await client.call('session_info')) as { sessionId: unknown; protocolVersion: string };
    expect(info).toMatchObject({ sessionId: null, protocolVersion: '2026-07-28' });
    await Promise.all([client.close(), legacy.close()]);
  });

  it('modern:tools — the modern tool list is the same for every caller and names every toolset tool; enable_toolset stays legacy-only', async () => {
    const one = await connectModern(a.url, { headers: auth(KEY_1), fetch: alternating() });
    const two = await connectModern(a.url, { negotiation: 'auto', headers: auth(KEY_2), fetch: alternating() });
    expect(two.transport.protocolVersion).toBe('2026-07-28');
    const names = async (c: { client: { listTools(): Promise<{ tools: Array<{ name: string }> }> } }) => (await c.client.listTools()).tools.map((t) => t.name).sort();
    const [listOne, listTwo] = await Promise.all([names(one), names(two)]);
    expect(listOne).toEqual(listTwo);
    expect(listOne).toEqual(expect.arrayContaining(['add', 'multiply', 'uppercase', 'reverse', 'scratchpad_open', 'remember', 'forget_all']));
    expect(listOne).not.toContain('enable_toolset');
    const legacy = await connectLegacy(b.url, { fetch: withKey(KEY_1) });
    const legacyNames = (await legacy.client.listTools()).tools.map((t) => t.name);
    expect(legacyNames).toContain('enable_toolset');
    expect(legacyNames).not.toContain('add');
    await Promise.all([one.close(), two.close(), legacy.close()]);
  });

  it('modern:handle — a scratchpad opened on one replica is used on the other, by a pinned client, an auto client and a legacy session', async () => {
    const onA = await connectModern(a.url, { headers: auth(KEY_1), fetch: only(() => a) });
    const onB = await connectModern(b.url, { negotiation: 'auto', headers: auth(KEY_1), fetch: only(() => b) });
    const handle = handleOf(await onA.callRaw('scratchpad_open'));
    expect(handle).toMatch(/^sp_[A-Za-z0-9_-]{32}$/);
    await onA.call('remember', { key: 'city', value: 'Lisbon', scratchpad: handle });
    expect(await onB.call('recall', { key: 'city', scratchpad: handle })).toBe('Lisbon');
    await onB.call('remember', { key: 'n', value: 3, scratchpad: handle });
    const legacy = await connectLegacy(a.url, { fetch: withKey(KEY_1) });
    expect(await legacy.call('recall', { key: 'n', scratchpad: handle })).toBe('3');
    // Without a handle a legacy session keeps its own scratchpad, as before.
    await expect(legacy.call('recall', { key: 'city' })).rejects.toThrow(/Nothing is remembered/);
    // The modern era has no session to fall back on: the handle is required.
    expect((await onA.callRaw('recall', { key: 'city' })).isError).toBe(true);
    const read = await onB.client.readResource({ uri: `scratchpad://${handle}` });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toEqual({ city: 'Lisbon', n: 3 });
    await Promise.all([onA.close(), onB.close(), legacy.close()]);
  });

  it("modern:principal — another principal's handle gets the same answer as an unknown one, for tools and resources/read", async () => {
    const mine = await connectModern(a.url, { headers: auth(KEY_1), fetch: alternating() });
    const theirs = await connectModern(a.url, { headers: auth(KEY_2), fetch: alternating() });
    const handle = handleOf(await mine.callRaw('scratchpad_open'));
    await mine.call('remember', { key: 'secret', value: 'mine', scratchpad: handle });
    const stolen = await theirs.callRaw('recall', { key: 'secret', scratchpad: handle });
    const unknown = await theirs.callRaw('recall', { key: 'secret', scratchpad: 'sp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(stolen).toEqual({ isError: true, text: 'Unknown or expired scratchpad: open a new one with scratchpad_open.' });
    expect(unknown).toEqual(stolen);
    expect((await theirs.callRaw('remember', { key: 'secret', value: 'theirs', scratchpad: handle })).isError).toBe(true);
    await expect(theirs.client.readResource({ uri: `scratchpad://${handle}` })).rejects.toThrow(/Unknown or expired scratchpad/);
    expect(await mine.call('recall', { key: 'secret', scratchpad: handle })).toBe('mine');
    await Promise.all([mine.close(), theirs.close()]);
  });

  it('modern:listen — a listener on one replica hears resources/updated for a change made on the other', async () => {
    const listener = await connectModern(a.url, { headers: auth(KEY_1), fetch: only(() => a) });
    const writer = await connectModern(b.url, { headers: auth(KEY_1), fetch: only(() => b) });
    const handle = handleOf(await writer.callRaw('scratchpad_open'));
    const heard: string[] = [];
    listener.client.setNotificationHandler('notifications/resources/updated', (n) => void heard.push(n.params.uri));
    const subscription = await listener.client.listen({ resourceSubscriptions: [`scratchpad://${handle}`] });
    expect(subscription.honoredFilter.resourceSubscriptions).toEqual([`scratchpad://${handle}`]);
    await writer.call('remember', { key: 'k', value: 'v', scratchpad: handle });
    await eventually(() => (heard.length > 0 ? true : undefined));
    expect(heard).toEqual([`scratchpad://${handle}`]);
    await subscription.close();
    await Promise.all([listener.close(), writer.close()]);
  });

  it('modern:input-required — forget_all asks with input_required on one replica; the answer, a retry, lands on the other', async () => {
    const retries: string[] = [];
    // First rounds to a, retries (they carry inputResponses) to b.
    const split: typeof fetch = (input, init) => {
      const retry = typeof init?.body === 'string' && init.body.includes('"inputResponses"');
      if (retry) retries.push(init.body as string);
      const url = new URL(input instanceof Request ? input.url : String(input));
      return fetch(new URL(url.pathname, retry ? b.origin : a.origin), init);
    };
    const asked: string[] = [];
    const client = await connectModern(a.url, {
      headers: auth(KEY_1),
      fetch: split,
      capabilities: { elicitation: { form: {} } },
      configure: (c) =>
        c.setRequestHandler('elicitation/create', async (request) => {
          asked.push(String(request.params.message));
          return { action: 'accept', content: { confirm: true } };
        }),
    });
    const handle = handleOf(await client.callRaw('scratchpad_open'));
    await client.call('remember', { key: 'a', value: 1, scratchpad: handle });
    await client.call('remember', { key: 'b', value: 2, scratchpad: handle });
    expect(await client.call('forget_all', { scratchpad: handle })).toBe('Cleared 2 keys.');
    expect(asked).toEqual(['Clear all 2 keys of the scratchpad?']);
    expect(retries).toHaveLength(1);
    expect(JSON.parse(retries[0] as string).params.requestState).toMatch(/^v1\./);
    expect((await client.callRaw('recall', { key: 'a', scratchpad: handle })).isError).toBe(true);
    await client.close();
  });

  it('modern:forged-answer — a retry that carries an answer but not the sealed state is asked again, not obeyed', async () => {
    const client = await connectModern(a.url, { headers: auth(KEY_1), fetch: alternating(), capabilities: { elicitation: { form: {} } }, configure: (c) => c.setRequestHandler('elicitation/create', async () => ({ action: 'decline' })) });
    const handle = handleOf(await client.callRaw('scratchpad_open'));
    await client.call('remember', { key: 'a', value: 1, scratchpad: handle });
    const forged = await rawModern(b.url, KEY_1, 'tools/call', { name: 'forget_all', arguments: { scratchpad: handle }, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } }, 'forget_all');
    const body = (await forged.json()) as { result: { resultType?: string } };
    expect(body.result.resultType).toBe('input_required');
    expect(await client.call('recall', { key: 'a', scratchpad: handle })).toBe('1');
    // The real client's user declines: nothing is cleared either.
    expect(await client.call('forget_all', { scratchpad: handle })).toBe('Kept everything.');
    await client.close();
  });

  it("modern:sampling — summarize asks the client's model with input_required and answers with its text on the retry", async () => {
    const prompts: string[] = [];
    const client = await connectModern(a.url, {
      headers: auth(KEY_1),
      fetch: alternating(),
      capabilities: { sampling: {} },
      configure: (c) =>
        c.setRequestHandler('sampling/createMessage', async (request) => {
          prompts.push(String((request.params.messages[0]?.content as { text?: string }).text));
          return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'One note about Lisbon.' } };
        }),
    });
    const handle = handleOf(await client.callRaw('scratchpad_open'));
    await client.call('remember', { key: 'city', value: 'Lisbon', scratchpad: handle });
    expect(await client.call('summarize', { scratchpad: handle })).toBe('One note about Lisbon.');
    expect(prompts).toEqual(['Summarize these notes in two sentences:\ncity: "Lisbon"']);
    await client.close();
  });

  it('modern:open-limit — SESSION_CREATE_RATE bounds new scratchpads per principal; another principal is not held back', async () => {
    const limited = await ServerProcess.start({ env: { AUTH_MODE: 'key', MCP_API_KEYS: `one:${KEY_1},two:${KEY_2}`, SESSION_CREATE_RATE: '2/m' } });
    try {
      const one = await connectModern(limited.url, { headers: auth(KEY_1) });
      const two = await connectModern(limited.url, { headers: auth(KEY_2) });
      await one.call('scratchpad_open');
      await one.call('scratchpad_open');
      const refused = await one.callRaw('scratchpad_open');
      expect(refused).toMatchObject({ isError: true, text: expect.stringMatching(/^Too many new scratchpads: retry after \d+ s/) });
      expect((await two.callRaw('scratchpad_open')).isError).toBeUndefined();
      await Promise.all([one.close(), two.close()]);
    } finally {
      await limited.kill();
    }
  });

  it('modern:restart — a handle still works after every replica was SIGKILLed and restarted', async () => {
    const client = await connectModern(a.url, { headers: auth(KEY_1), fetch: alternating() });
    const handle = handleOf(await client.callRaw('scratchpad_open'));
    await client.call('remember', { key: 'kept', value: true, scratchpad: handle });
    await client.close();
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL')]);
    await Promise.all([a.restart(), b.restart()]);
    const again = await connectModern(b.url, { headers: auth(KEY_1), fetch: alternating() });
    expect(await again.call('recall', { key: 'kept', scratchpad: handle })).toBe('true');
    await again.close();
  });

  it('modern:drain — a draining replica ends its listens at once (graceful) while a call in flight there finishes', async () => {
    const listener = await connectModern(a.url, { headers: auth(KEY_1), fetch: only(() => a) });
    const subscription = await listener.client.listen({ resourcesListChanged: true });
    const caller = await connectModern(a.url, { headers: auth(KEY_1), fetch: only(() => a) });
    const call = caller.call('countdown', { seconds: 3 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = a.kill('SIGTERM');
    const order: string[] = [];
    const closed = subscription.closed.then((how) => order.push(`listen ${how}`));
    const done = call.then((text) => order.push(`call ${text}`));
    await Promise.all([closed, done]);
    expect(order).toEqual(['listen graceful', 'call done']);
    await exited;
    await a.restart();
    await Promise.all([listener.close(), caller.close()]);
  });
});
