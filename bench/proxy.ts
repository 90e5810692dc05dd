// Test harness: a small round-robin HTTP proxy that streams bodies both ways (SSE and GET streams included).
import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyStats {
  forwarded: number;
  /** Requests answered 502 because the chosen upstream refused or dropped the connection. */
  badGateway: number;
}

export class RoundRobinProxy {
  readonly stats: ProxyStats = { forwarded: 0, badGateway: 0 };
  #next = 0;

  private constructor(
    readonly server: Server,
    /** Upstream ports on 127.0.0.1; the list may change while running. */
    public upstreams: number[],
  ) {}

  static async start(upstreams: number[]): Promise<RoundRobinProxy> {
    const server = createServer();
    const proxy = new RoundRobinProxy(server, upstreams);
    server.on('request', (req, res) => proxy.#forward(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/mcp`;
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const port = this.upstreams[this.#next++ % this.upstreams.length] as number;
    this.stats.forwarded++;
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers });
    const fail = () => {
      if (!res.headersSent) {
        this.stats.badGateway++;
        res.writeHead(502, { 'content-type': 'application/json', connection: 'close' }).end('{"error":"bad gateway"}');
      } else res.destroy();
    };
    upstream.on('error', fail);
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
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
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
