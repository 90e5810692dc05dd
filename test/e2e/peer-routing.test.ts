// End to end: server→client requests and cancellations whose answer lands on another replica than the
// one that sent or runs them. Real processes sharing one redis-server, real SDK 1.32 clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectAsking, routeByKind } from '../support/asking-client.js';
import { rawPost } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';
import { ServerProcess } from '../support/server-process.js';
import { FreezingProxy } from '../support/tcp-proxy.js';

let redis: TestRedis;
let a: ServerProcess;
let b: ServerProcess;
let c: ServerProcess;

beforeAll(async () => {
  redis = await TestRedis.start();
  const start = () => ServerProcess.start({ env: { REDIS_URL: redis.url } });
  [a, b, c] = await Promise.all([start(), start(), start()]);
});

afterAll(async () => {
  await Promise.all([a, b, c].map((s) => s?.kill()));
  await redis?.close();
});

/** Waits until `probe` finds something, or fails after `ms`. */
async function eventually<T>(probe: () => T | undefined, ms = 8000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error('not seen in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The late answer a client reports after it cancelled a call: the server's final message on that call's stream. */
const lateAnswer = (errors: readonly string[]) => errors.find((e) => e.startsWith('Received a response for an unknown message ID'));

describe('server→client requests answered on any replica', () => {
  it('routing:elicit — the user confirms forget_all on another replica than the one running it, and the tool finishes with that answer', async () => {
    // Every request to a, every answer to b: the ingress without affinity, at its worst.
    const client = await connectAsking(a.url, { fetch: routeByKind((kind) => (kind === 'response' ? b.origin : a.origin)) });
    await client.call('remember', { key: 'city', value: 'Lisbon' });
    await client.call('remember', { key: 'day', value: 'Tuesday' });
    const answered = await client.client.callTool({ name: 'forget_all', arguments: {} }, undefined, { timeout: 15_000 });
    expect(answered.content).toEqual([{ type: 'text', text: 'Cleared 2 keys.' }]);
    expect(client.asked).toEqual([{ method: 'elicitation/create', id: expect.stringMatching(/^s1\./) }]);
    await expect(client.call('recall', { key: 'city' })).rejects.toThrow(/Nothing is remembered/);
    await client.close();
  });

  it('routing:elicit-third — an answer on a third replica reaches the one that asked; "no" keeps everything', async () => {
    const client = await connectAsking(a.url, { fetch: routeByKind((kind) => (kind === 'response' ? c.origin : a.origin)), answer: { action: 'accept', content: { confirm: false } } });
    await client.call('remember', { key: 'city', value: 'Lisbon' });
    const answered = await client.client.callTool({ name: 'forget_all', arguments: {} }, undefined, { timeout: 15_000 });
    expect(answered.content).toEqual([{ type: 'text', text: 'Kept everything.' }]);
    expect(await client.call('recall', { key: 'city' })).toBe('Lisbon');
    await client.close();
  });

  it('routing:sample — summarize returns what the client\'s model wrote, answered on another replica', async () => {
    const client = await connectAsking(a.url, { fetch: routeByKind((kind) => (kind === 'response' ? b.origin : a.origin)), sample: 'You are in Lisbon on a Tuesday.' });
    await client.call('remember', { key: 'city', value: 'Lisbon' });
    const answered = await client.client.callTool({ name: 'summarize', arguments: {} }, undefined, { timeout: 15_000 });
    expect(answered.content).toEqual([{ type: 'text', text: 'You are in Lisbon on a Tuesday.' }]);
    expect(client.asked.map((q) => q.method)).toEqual(['sampling/createMessage']);
    await client.close();
  });

  it('routing:missed-publish — an answer published while the asking replica\'s subscriber is silently dead still reaches it once the channel is re-established', async () => {
    const freezer = await FreezingProxy.start(redis.port);
    const d = await ServerProcess.start({ env: { REDIS_URL: freezer.url } });
    try {
      const client = await connectAsking(d.url, { fetch: routeByKind((kind) => (kind === 'response' ? b.origin : d.origin)) });
      await client.call('remember', { key: 'city', value: 'Lisbon' });
      expect(freezer.freezeSubscribers()).toBe(1); // packets vanish, no FIN: the PUBLISH to d is lost
      const answered = await client.client.callTool({ name: 'forget_all', arguments: {} }, undefined, { timeout: 15_000 });
      expect(answered.content).toEqual([{ type: 'text', text: 'Cleared 1 key.' }]);
      await client.close();
    } finally {
      await d.kill();
      await freezer.close();
    }
  });

  it('routing:no-elicitation — a client that cannot ask gets a tool error saying so, and nothing is cleared', async () => {
    const client = await connectAsking(a.url, { capable: false });
    await client.call('remember', { key: 'city', value: 'Lisbon' });
    await expect(client.call('forget_all')).rejects.toThrow(/declared no elicitation capability/);
    await expect(client.call('summarize')).rejects.toThrow(/declared no sampling capability/);
    expect(await client.call('recall', { key: 'city' })).toBe('Lisbon');
    await client.close();
  });
});

const VERSION = '2025-11-25';

/** A session opened with raw JSON-RPC (so a test decides every answer); resolves its id. */
async function rawSession(url: string, capabilities: Record<string, unknown>): Promise<string> {
  const init = await rawPost(url, { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: VERSION, capabilities, clientInfo: { name: 'raw', version: '1' } } });
  const id = init.headers.get('mcp-session-id') as string;
  await init.text();
  await (await rawPost(url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { 'mcp-session-id': id, 'mcp-protocol-version': VERSION })).text();
  return id;
}

/** Reads an SSE body until a data line matching `pattern`; resolves that message. */
async function nextMessage(reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp, seen: { text: string }): Promise<Record<string, unknown>> {
  const decoder = new TextDecoder();
  for (;;) {
    const line = seen.text.split('\n').find((l) => l.startsWith('data: ') && pattern.test(l));
    if (line) {
      seen.text = seen.text.slice(seen.text.indexOf(line) + line.length);
      return JSON.parse(line.slice('data: '.length)) as Record<string, unknown>;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before ${pattern}`);
    seen.text += decoder.decode(value, { stream: true });
  }
}

describe('answers belong to their session', () => {
  it('routing:foreign-answer — an answer posted under another session (on another replica) does not resolve the question; the real answer does', async () => {
    const asker = await rawSession(a.url, { elicitation: { form: {} } });
    const headers = (session: string) => ({ 'mcp-session-id': session, 'mcp-protocol-version': VERSION });
    await (await rawPost(a.url, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'remember', arguments: { key: 'k', value: 'v' } } }, headers(asker))).text();
    const call = await rawPost(a.url, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'forget_all', arguments: {} } }, headers(asker));
    const reader = (call.body as ReadableStream<Uint8Array>).getReader();
    const seen = { text: '' };
    const question = await nextMessage(reader, /elicitation\/create/, seen);
    expect(question.id).toMatch(/^s1\./);

    const other = await rawSession(b.url, { elicitation: { form: {} } });
    const spoof = await rawPost(b.url, { jsonrpc: '2.0', id: question.id, result: { action: 'accept', content: { confirm: true } } }, headers(other));
    expect(spoof.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 500)); // time for a wrongly routed answer to land
    const real = await rawPost(b.url, { jsonrpc: '2.0', id: question.id, result: { action: 'accept', content: { confirm: false } } }, headers(asker));
    expect(real.status).toBe(202);
    const result = await nextMessage(reader, /"id":2/, seen);
    expect(JSON.stringify(result)).toContain('Kept everything.');
    await reader.cancel();
  });
});

describe('cancellations', () => {
  /** Starts countdown on a, cancels it once it has reported progress, and returns the call's final message. */
  async function cancelCountdown(cancelTo: string): Promise<string> {
    const client = await connectAsking(a.url, { fetch: routeByKind((kind) => (kind === 'notification' ? cancelTo : a.origin)) });
    const abort = new AbortController();
    let progressed = false;
    const call = client.client.callTool({ name: 'countdown', arguments: { seconds: 8 } }, undefined, { signal: abort.signal, onprogress: () => (progressed = true), timeout: 30_000 });
    const settled = call.then(
      () => 'answered',
      (error: Error) => error.message,
    );
    await eventually(() => (progressed ? true : undefined));
    abort.abort('the user stopped it');
    expect(await settled).toMatch(/the user stopped it/);
    // The server's last word on that call's stream: the cancellation, never "done".
    const last = await eventually(() => lateAnswer(client.errors), 15_000);
    await client.close();
    return last;
  }

  it('routing:cancel-other — a cancellation posted to another replica aborts the call where it runs (no "done")', async () => {
    const last = await cancelCountdown(b.origin);
    expect(last).toContain('Request cancelled');
    expect(last).not.toContain('done');
  });

  it('routing:cancel-local — a call cancelled on its own replica ends its stream with the cancellation, not an open stream', async () => {
    const last = await cancelCountdown(a.origin);
    expect(last).toContain('Request cancelled');
    expect(last).not.toContain('done');
  });
});
