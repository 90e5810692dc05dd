// Starts a private redis-server on a free port so tests can stop and restart it. No mocks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function assertInstalled(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('redis-server is not installed or not on PATH. Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and run the tests again.');
  }
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. ['--requirepass', 'secret']. */
  readonly args?: readonly string[];
}

export class TestRedis {
  #child: ChildProcess | undefined;
  readonly #dir = mkdtempSync(join(tmpdir(), 'mcp-continuity-redis-'));

  private constructor(readonly port: number, readonly args: readonly string[]) {}

  static async start(options: RedisServerOptions = {}): Promise<TestRedis> {
    assertInstalled();
    const redis = new TestRedis(await freePort(), options.args ?? []);
    await redis.resume();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A plain client for planting and inspecting keys. Caller quits it. */
  client(options: { password?: string } = {}): Redis {
    return new Redis({ host: '127.0.0.1', port: this.port, password: options.password, maxRetriesPerRequest: 1, lazyConnect: false });
  }

  /** (Re)starts the server on the same port. Data does not survive: it keeps nothing on disk. */
  async resume(): Promise<void> {
    if (this.#child) return;
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir, ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${this.port}:\n${output}`)), 10_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
    child.removeAllListeners('exit');
  }

  /** Stops the server after writing its data to disk: the next `resume()` starts with it (a restart or failover that keeps data). */
  async stopKeepingData(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    const exited = once(child, 'exit');
    const admin = this.client();
    admin.on('error', () => {}); // it loses its server on purpose
    await admin.call('SHUTDOWN', 'SAVE').catch(() => undefined);
    admin.disconnect();
    await exited;
  }

  /** Stops the server (SIGKILL: an outage, not a shutdown). */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
