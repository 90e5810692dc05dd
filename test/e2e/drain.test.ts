// End to end: a real server process drained by SIGTERM while a real SDK 1.32 client has a call in flight.
import { request, Agent, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { connectLegacy, rawPost, type LegacyClient } from '../support/clients.js';
import { ServerProcess } from '../support/server-process.js';

const servers: ServerProcess[] = [];
const clients: LegacyClient[] = [];

async function server(env: Record<string, string>): Promise<ServerProcess> {
  const s = await ServerProcess.start({ env: { LOG_LEVEL: 'info', ...env } });
  servers.push(s);
  return s;
}

async function client(url: string): Promise<LegacyClient> {
  const c = await connectLegacy(url);
  clients.push(c);
  return c;
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(servers.map((s) => s.kill()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Calls countdown with a progress token; resolves its text and the progress values received. */
function countdown(c: LegacyClient, seconds: number, onFirstProgress?: () => void) {
  const progress: number[] = [];
  const result = c.client
    .callTool({ name: 'countdown', arguments: { seconds } }, undefined, {
      onprogress: (p) => {
        progress.push(p.progress);
        if (progress.length === 1) onFirstProgress?.();
      },
      timeout: 30_000,
    })
    .then((r) => ({ text: (r.content as Array<{ text?: string }>)[0]?.text, isError: r.isError === true, progress }));
  return result;
}

/** Whether a fresh TCP connection to the port is accepted. */
function accepts(port: number): Promise<boolean | string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

const running = (pid: number | undefined) => {
  try {
    process.kill(pid as number, 0);
    return true;
  } catch {
    return false;
  }
};

describe('graceful drain on SIGTERM', () => {
  it('hosting:drain:in-flight — a countdown in flight when its replica gets SIGTERM completes with "done" and every progress notification; then the process exits 0', async () => {
    const s = await server({ DRAIN_DELAY: '500ms', DRAIN_TIMEOUT: '10s' });
    const c = await client(s.url);
    let exited: Promise<number | null> | undefined;
    const started = Date.now();
    const call = countdown(c, 3, () => (exited = s.kill('SIGTERM')));
    const result = await call;
    const answeredAfter = Date.now() - started;
    expect(result).toEqual({ text: 'done', isError: false, progress: [1, 2, 3] });
    // SIGTERM arrived about a second in: the listener closed at ~1.5 s, the call still ran to the end.
    expect(answeredAfter).toBeGreaterThanOrEqual(2900);
    expect(exited).toBeDefined();
    expect(await exited).toBe(0);
    expect(s.output).toContain('draining: /readyz now fails');
    expect(s.output).toContain('no calls in flight');
  });

  it('hosting:drain:delay — right after SIGTERM /readyz answers 503 "draining" while /mcp still serves calls and new sessions; after the delay new connections are refused while a call still finishes', async () => {
    const s = await server({ DRAIN_DELAY: '2s', DRAIN_TIMEOUT: '10s' });
    const c = await client(s.url);
    expect((await fetch(`${s.origin}/readyz`)).status).toBe(200);
    let inFlight = false;
    const long = countdown(c, 5, () => (inFlight = true));
    while (!inFlight) await sleep(20);

    const pid = s.pid;
    const signalled = Date.now();
    const exited = s.kill('SIGTERM');
    let ready = await fetch(`${s.origin}/readyz`);
    while (ready.status === 200 && Date.now() - signalled < 1000) {
      await sleep(20);
      ready = await fetch(`${s.origin}/readyz`);
    }
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'draining' });
    expect(Date.now() - signalled).toBeLessThan(1000);

    // During the delay: the ingress may still route here, and every such request is served.
    expect(JSON.parse(await c.call('session_info')).sessionId).toBe(c.sessionId);
    const init = await rawPost(s.url, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'late', version: '1' } } });
    expect(init.status).toBe(200);
    await init.body?.cancel();
    expect(Date.now() - signalled).toBeLessThan(2000);

    await sleep(2300 - (Date.now() - signalled));
    expect(await accepts(s.port)).toBe('ECONNREFUSED');
    expect(running(pid), s.output).toBe(true);

    expect(await long).toEqual({ text: 'done', isError: false, progress: [1, 2, 3, 4, 5] });
    expect(await exited).toBe(0);
  });

  it('hosting:drain:keep-alive — a request on a kept-alive connection after the listener closed is served with Connection: close', async () => {
    const s = await server({ DRAIN_DELAY: '300ms', DRAIN_TIMEOUT: '10s' });
    const c = await client(s.url);
    // One socket: the second request waits for it and goes out on it once the first answer has ended.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, body?: unknown) =>
      new Promise<{ res: IncomingMessage; text: string; localPort: number | undefined }>((resolve, reject) => {
        const req = request(
          {
            host: '127.0.0.1',
            port: s.port,
            method,
            path,
            agent,
            headers: {
              accept: 'application/json, text/event-stream',
              'content-type': 'application/json',
              'mcp-session-id': c.sessionId,
              'mcp-protocol-version': c.transport.protocolVersion ?? '',
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (text += chunk));
            res.on('end', () => resolve({ res, text, localPort: req.socket?.localPort }));
          },
        );
        req.on('error', reject);
        req.end(body === undefined ? undefined : JSON.stringify(body));
      });
    // A longer call keeps the drain waiting, so the late request comes while the replica still serves.
    const holding = countdown(c, 3);
    const first = send('POST', '/mcp', { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'countdown', arguments: { seconds: 1 } } });
    await sleep(200);
    const exited = s.kill('SIGTERM');
    const second = send('GET', '/healthz');

    const call = await first;
    expect(call.res.statusCode).toBe(200);
    expect(call.text).toContain('"text":"done"');
    const late = await second;
    // The same connection (the listener was closed, so a new one could not have been opened).
    expect(late.localPort).toBe(call.localPort);
    expect(late.res.statusCode).toBe(200);
    expect(late.res.headers.connection).toBe('close');
    expect((await holding).text).toBe('done');
    expect(await exited).toBe(0);
    agent.destroy();
  });
});

describe('the countdown tool', () => {
  it('tools:countdown:cancel — a cancelled countdown sends no progress after the cancellation', async () => {
    const s = await server({});
    const c = await client(s.url);
    const headers = { 'mcp-session-id': c.sessionId, 'mcp-protocol-version': c.transport.protocolVersion ?? '' };
    const stop = new AbortController();
    const call = await fetch(s.url, {
      method: 'POST',
      signal: stop.signal,
      headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'cd-1', method: 'tools/call', params: { name: 'countdown', arguments: { seconds: 10 }, _meta: { progressToken: 'p1' } } }),
    });
    expect(call.headers.get('content-type')).toContain('text/event-stream');
    const progress: Array<{ value: number; at: number }> = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of call.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        for (const match of buffered.matchAll(/"progress":(\d+)/g)) progress.push({ value: Number(match[1]), at: Date.now() });
        buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
      }
    })().catch(() => undefined);
    while (progress.length === 0) await sleep(20);

    const cancelled = await rawPost(s.url, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'cd-1', reason: 'test' } }, headers);
    expect(cancelled.status).toBe(202);
    const cancelledAt = Date.now();
    await sleep(2500);
    stop.abort();
    await reading;
    expect(progress.filter((p) => p.at > cancelledAt)).toEqual([]);
    expect(progress.map((p) => p.value)).toEqual([1]);
  });
});
