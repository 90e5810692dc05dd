// Test harness: an ingress stand-in that routes round robin to replicas whose /readyz last answered 200, streaming bodies both ways.
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyStats {
  forwarded: number;
  /** Requests answered 502 because the chosen upstream refused or dropped the connection. */
  badGateway: number;
  /** Requests answered 503 because no upstream was ready. */
  noUpstream: number;
}

export interface ProxyOptions {
  /** How often each upstream's /readyz is polled, as Container Apps probes readiness. Default 500 ms. */
  readonly pollMs?: number;
  /** A poll unanswered this long counts as a failure (the Container Apps probe timeout defaults to 1 s). Default 1 s. */
  readonly pollTimeoutMs?: number;
}

/**
 * Like the Container Apps ingress: it routes only to replicas whose last readiness poll answered 200,
 * and never retries a request (a failure reaches the client as 502). A stopping replica leaves the
 * rotation within one poll interval of failing /readyz.
 */
export class RoundRobinProxy {
  readonly stats: ProxyStats = { forwarded: 0, badGateway: 0, noUpstream: 0 };
  /** Where each request carrying an `x-chaos-call` header was sent (the chaos drill names its calls so). */
  readonly routes = new Map<string, { port: number; at: number }>();
  readonly #ready = new Set<number>();
  readonly #pollMs: number;
  readonly #pollTimeoutMs: number;
  #next = 0;
  #poller: NodeJS.Timeout | undefined;

  private constructor(
    readonly server: Server,
    /** Upstream ports on 127.0.0.1; the list may change while running. */
    public upstreams: number[],
    options: ProxyOptions,
  ) {
    this.#pollMs = options.pollMs ?? 500;
    this.#pollTimeoutMs = options.pollTimeoutMs ?? 1000;
  }

  static async start(upstreams: number[], options: ProxyOptions = {}): Promise<RoundRobinProxy> {
    const server = createServer();
    const proxy = new RoundRobinProxy(server, upstreams, options);
    server.on('request', (req, res) => proxy.#forward(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    await proxy.#pollAll();
    const tick = () => {
      proxy.#poller = setTimeout(() => void proxy.#pollAll().finally(() => proxy.#poller && tick()), proxy.#pollMs);
    };
    tick();
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/mcp`;
  }

  /** Whether the last readiness poll of `port` answered 200. */
  isReady(port: number): boolean {
    return this.#ready.has(port);
  }

  /** Resolves once the proxy routes to `port` again (its /readyz answered 200 to a poll). */
  async waitUntilReady(port: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#ready.has(port)) {
      if (Date.now() > deadline) throw new Error(`upstream ${port} was not ready within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async #pollAll(): Promise<void> {
    await Promise.all(
      this.upstreams.map(async (port) => {
        if (await this.#poll(port)) this.#ready.add(port);
        else this.#ready.delete(port);
      }),
    );
  }

  /** One readiness probe on a fresh connection, bounded by the poll timeout. */
  #poll(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const probe = httpRequest({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: this.#pollTimeoutMs }, (answer) => {
        answer.resume();
        resolve(answer.statusCode === 200);
      });
      probe.on('timeout', () => probe.destroy());
      probe.on('error', () => resolve(false));
      probe.end();
    });
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const ready = this.upstreams.filter((p) => this.#ready.has(p));
    if (ready.length === 0) {
      this.stats.noUpstream++;
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":"no upstream is ready"}');
      return;
    }
    const port = ready[this.#next++ % ready.length] as number;
    this.stats.forwarded++;
    const call = req.headers['x-chaos-call'];
    if (typeof call === 'string') this.routes.set(call, { port, at: performance.now() });
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers });
    const fail = () => {
      if (!res.headersSent) {
        this.stats.badGateway++;
        res.writeHead(502, { 'content-type': 'application/json', connection: 'close', 'x-upstream-port': String(port) }).end('{"error":"bad gateway"}');
      } else res.destroy();
    };
    upstream.on('error', fail);
    upstream.on('response', (answer) => {
      // x-upstream-port names the replica that answered (the chaos drill reports where each call ran).
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'x-upstream-port': String(port) });
      // flushHeaders so an SSE stream's headers reach the client before its first event.
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => res.destroy());
      answer.on('aborted', () => res.destroy());
    });
    // The client hanging up (e.g. closing its GET stream) ends the upstream request too.
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    clearTimeout(this.#poller);
    this.#poller = undefined;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
