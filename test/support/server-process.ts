// Runs the real server as a child process (tsx app/main.ts) and captures its log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from './redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcessOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Fixed port (to restart "the same" server); default a free one. */
  readonly port?: number;
  /** Script to run instead of app/main.ts (the benchmark's reference server); it must log the same "listening" line. */
  readonly entry?: string;
}

export class ServerProcess {
  readonly logs: string[] = [];
  #child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly env: Readonly<Record<string, string>>,
    readonly entry = 'app/main.ts',
  ) {}

  static async start(options: ServerProcessOptions = {}): Promise<ServerProcess> {
    const server = new ServerProcess(options.port ?? (await freePort()), options.env ?? {}, options.entry);
    await server.restart();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/mcp`;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** All captured output as one string (stdout and stderr). */
  get output(): string {
    return this.logs.join('\n');
  }

  /** Starts the process (again) and waits for its "listening" line. */
  async restart(): Promise<void> {
    if (this.#child) throw new Error('server is already running');
    const child = spawn(process.execPath, ['--import', 'tsx', this.entry], {
      cwd: ROOT,
      // No ingress to wait for here: a SIGTERM drains without the delay unless a test sets DRAIN_DELAY.
      env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(this.port), LOG_LEVEL: 'debug', DRAIN_DELAY: '0', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    const from = this.logs.length;
    const collect = (chunk: Buffer) => this.logs.push(...chunk.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start within 20 s:\n${this.output}`)), 20_000);
      const check = () => {
        if (this.logs.slice(from).some((line) => line.includes('mcp-continuity listening on'))) {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          resolve();
        }
      };
      child.stdout?.on('data', check);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} before listening:\n${this.output}`));
      });
    });
    child.removeAllListeners('exit');
  }

  /** Sends a signal and waits for the process to exit; returns its exit code. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.#child;
    if (!child) return null;
    this.#child = undefined;
    if (child.exitCode !== null) return child.exitCode;
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    child.kill(signal);
    const [code] = await exited;
    return code;
  }
}
