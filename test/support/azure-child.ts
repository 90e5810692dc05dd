// Runs a test child against FakeAzure: the dns preload, the fake's CA, and (where the kernel allows it) a
// loopback-only network namespace so nothing can reach a real Azure endpoint.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FakeAzure } from './fake-azure.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let namespaces: boolean | undefined;

/** True when `unshare -rn` works for this user (root-less user + network namespace with `lo` up). TEST_NO_NETNS=1 opts out. */
export function networkNamespaceAvailable(): boolean {
  namespaces ??= process.env.TEST_NO_NETNS !== '1' && spawnSync('unshare', ['-rn', 'sh', '-c', 'PATH="$PATH:/usr/sbin:/sbin" ip link set lo up'], { stdio: 'ignore' }).status === 0;
  return namespaces;
}

export interface ChildEvent {
  readonly event: string;
  readonly at: number;
  readonly [field: string]: unknown;
}

export class AzureChild {
  readonly events: ChildEvent[] = [];
  readonly stderr: string[] = [];
  readonly isolated: boolean;
  readonly #child: ChildProcess;
  #exited = false;

  constructor(fake: FakeAzure, script: string, args: readonly string[], env: Readonly<Record<string, string>> = {}) {
    this.isolated = networkNamespaceAvailable();
    const node = [process.execPath, '--import', 'tsx', '--import', './test/support/loopback-dns.ts', script, ...args];
    const [command, ...argv] = this.isolated ? ['unshare', '-rn', 'sh', '-c', 'PATH="$PATH:/usr/sbin:/sbin" ip link set lo up && exec "$@"', 'sh', ...node] : node;
    this.#child = spawn(command as string, argv, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...fake.childEnv(), ...(this.isolated ? fake.forwardEnv() : {}), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let pending = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) this.events.push(JSON.parse(line) as ChildEvent);
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(...chunk.toString().split('\n').filter(Boolean)));
    this.#child.once('exit', () => (this.#exited = true));
  }

  of(event: string): ChildEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  send(command: 'refresh' | 'close'): void {
    this.#child.stdin?.write(`${command}\n`);
  }

  /** Resolves with the first event (from index `from`) that matches; fails with what the child said. */
  async waitFor(predicate: (event: ChildEvent) => boolean, timeoutMs = 10_000, from = 0): Promise<ChildEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(predicate);
      if (found) return found;
      if (this.#exited || Date.now() > deadline) {
        throw new Error(`child ${this.#exited ? 'exited' : 'timed out'} before the expected event.\nevents: ${JSON.stringify(this.events)}\nstderr: ${this.stderr.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.send('close');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
