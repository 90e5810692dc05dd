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

let installed = false;

function assertInstalled(): void {
  if (installed) return;
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error('redis-server is not installed or not on PATH. Install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) and run the tests again.');
  }
  installed = true;
}

/**
 * Starts `redis-server` on `port` (loopback, no snapshots or AOF of its own, files in `dir`) with
 * `args` added, and resolves once it accepts connections. Shared by the single node and the cluster.
 */
export async function startRedisProcess(port: number, dir: string, args: readonly string[]): Promise<ChildProcess> {
  assertInstalled();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left running when no caller will ever hold it
      reject(new Error(`redis-server did not start on port ${port}:\n${output}`));
    }, 10_000);
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
  return child;
}

/**
 * Stops a server started by `startRedisProcess` and waits for it to exit: `save` writes its data to
 * disk first (SHUTDOWN SAVE: a restart or failover that keeps data), `kill` is SIGKILL (an outage).
 */
export async function stopRedisProcess(child: ChildProcess, port: number, how: 'save' | 'kill'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  if (how === 'kill') {
    child.kill('SIGKILL');
  } else {
    const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
    admin.on('error', () => {}); // it loses its server on purpose
    await admin.call('SHUTDOWN', 'SAVE').catch(() => undefined);
    admin.disconnect();
  }
  await exited;
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
    this.#child = await startRedisProcess(this.port, this.#dir, this.args);
  }

  /** Stops the server after writing its data to disk: the next `resume()` starts with it (a restart or failover that keeps data). */
  async stopKeepingData(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child) await stopRedisProcess(child, this.port, 'save');
  }

  /** Stops the server (SIGKILL: an outage, not a shutdown). */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child) await stopRedisProcess(child, this.port, 'kill');
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
