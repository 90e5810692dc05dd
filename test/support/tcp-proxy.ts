// A TCP proxy in front of redis-server that can freeze connections without closing them: what an
// idle-flow timeout in a cloud network does (packets vanish, no FIN, no RST).
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Sent SUBSCRIBE: the invalidation channel's connection. */
  subscriber: boolean;
  frozen: boolean;
  /** Held: traffic both ways waits here (in order) until `release()`, as on a congested or stalled link. */
  held: Array<{ to: Socket; chunk: Buffer }> | undefined;
}

export class FreezingProxy {
  readonly #pairs = new Set<Pair>();
  #holding = false;
  #server: Server | undefined;
  port = 0;

  private constructor(readonly upstreamPort: number) {}

  static async start(upstreamPort: number): Promise<FreezingProxy> {
    const proxy = new FreezingProxy(upstreamPort);
    proxy.#server = createServer((client) => proxy.#accept(client));
    proxy.#server.listen(0, '127.0.0.1');
    await once(proxy.#server, 'listening');
    proxy.port = (proxy.#server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Silently drops everything on the connections that subscribed so far; new connections pass. */
  freezeSubscribers(): number {
    let frozen = 0;
    for (const pair of this.#pairs) {
      if (pair.subscriber && !pair.frozen) {
        pair.frozen = true;
        frozen++;
      }
    }
    return frozen;
  }

  /** Delays everything on every connection (none dropped, order kept) until `release()`; new connections are held too. */
  hold(): void {
    this.#holding = true;
    for (const pair of this.#pairs) pair.held ??= [];
  }

  /** Delivers what `hold()` kept back, then lets traffic pass again. */
  release(): void {
    this.#holding = false;
    for (const pair of this.#pairs) {
      const held = pair.held ?? [];
      pair.held = undefined;
      for (const { to, chunk } of held) to.write(chunk);
    }
  }

  /** Subscriber connections currently passing traffic. */
  get liveSubscribers(): number {
    return [...this.#pairs].filter((p) => p.subscriber && !p.frozen && !p.client.destroyed).length;
  }

  #accept(client: Socket): void {
    const upstream = createConnection({ host: '127.0.0.1', port: this.upstreamPort });
    const pair: Pair = { client, upstream, subscriber: false, frozen: false, held: this.#holding ? [] : undefined };
    const pass = (to: Socket, chunk: Buffer) => {
      if (pair.frozen) return;
      if (pair.held) pair.held.push({ to, chunk });
      else to.write(chunk);
    };
    this.#pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      if (!pair.subscriber && /subscribe/i.test(chunk.toString('latin1'))) pair.subscriber = true;
      pass(upstream, chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      pass(client, chunk);
    });
    const end = () => {
      // A frozen flow never tells the other side anything.
      if (pair.frozen) return;
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => {});
    upstream.on('error', () => {});
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}
