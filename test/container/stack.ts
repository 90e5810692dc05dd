// The project's compose.yaml run through the real `docker compose`, under a unique project name and a free host port.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/redis.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SETUP = 'bash scripts/docker-test-env.sh';

/** Whether a Docker engine and `docker compose` answer here; otherwise why not and what to run. */
export function dockerStatus(): { ok: true } | { ok: false; reason: string } {
  for (const args of [['info'], ['compose', 'version']]) {
    try {
      execFileSync('docker', args, { stdio: 'pipe', timeout: 20_000 });
    } catch (error) {
      const detail = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim().split('\n')[0];
      return { ok: false, reason: `\`docker ${args.join(' ')}\` failed (${detail}); run \`${SETUP}\` to install and start Docker and the base images` };
    }
  }
  return { ok: true };
}

/** Runs a command, resolving its stdout; rejects with its output when it exits non-zero. */
export function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { cwd: ROOT, env: options.env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      // The tail only: a failed `up --build` prints the whole build log.
      if (error) reject(new Error(`${command} ${args.join(' ')} failed (exit ${String(error.code)}):\n${`${stdout}\n${stderr}`.trim().slice(-4000)}`));
      else resolve(stdout);
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

export interface ContainerState {
  readonly Status: string;
  readonly Running: boolean;
  readonly ExitCode: number;
  readonly OOMKilled: boolean;
  readonly StartedAt: string;
}

/** One compose project of this repository's compose.yaml. */
export class ComposeStack {
  private constructor(
    readonly project: string,
    /** The host port the app is published on (MCP_PORT). */
    readonly port: number,
  ) {}

  static async create(): Promise<ComposeStack> {
    return new ComposeStack(`mcpct${randomBytes(4).toString('hex')}`, await freePort());
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `docker compose -p <project> <args>` with MCP_PORT set to this stack's port. */
  compose(args: readonly string[], input?: string): Promise<string> {
    return run('docker', ['compose', '-p', this.project, ...args], { env: { ...process.env, MCP_PORT: String(this.port) }, input });
  }

  docker(args: readonly string[]): Promise<string> {
    return run('docker', args);
  }

  /** The container id of a service (empty when it has none). */
  async containerId(service: string): Promise<string> {
    return (await this.compose(['ps', '-q', service])).trim();
  }

  async inspect<T>(service: string, format: string): Promise<T> {
    return JSON.parse(await this.docker(['inspect', '-f', `{{json ${format}}}`, await this.containerId(service)])) as T;
  }

  state(service: string): Promise<ContainerState> {
    return this.inspect<ContainerState>(service, '.State');
  }

  /** Resolves once /readyz answers 200 (the app connected to Redis and is not draining). */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const logs = await this.compose(['logs', '--no-color', '--tail', '40', 'app']).catch((e: Error) => e.message);
    throw new Error(`${this.url}/readyz did not answer 200 within ${timeoutMs} ms (last: ${last}); app logs:\n${logs}`);
  }

  /**
   * Removes containers, network and volumes. The built image is kept under one shared tag so the next
   * run's build finds its layers in the cache, and the project's own tag is dropped.
   */
  async down(): Promise<void> {
    const image = await this.inspect<string>('app', '.Image').catch(() => undefined);
    await this.compose(['down', '-v', '--remove-orphans']);
    if (image) {
      await this.docker(['tag', image, 'mcp-continuity-test:build-cache']);
      const tags = JSON.parse(await this.docker(['image', 'inspect', '-f', '{{json .RepoTags}}', image])) as string[];
      for (const tag of tags.filter((t) => t.startsWith(this.project))) await this.docker(['rmi', tag]);
    }
  }
}
