// A fresh clone in a temp dir with fake az/terraform on PATH and an HTTPS /readyz, to run scripts/deploy.ts for real.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What a clone needs to deploy: the image inputs, the infra, the script. node_modules is linked, not copied. */
const CLONE = ['Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'cdktf.json', 'app', 'infra', 'scripts'];

export interface Failure {
  /** Start of `<tool> <argv…>` to fail, e.g. `az acr build`. */
  readonly prefix: string;
  /** Match the whole line, not just its start. */
  readonly exact?: boolean;
  readonly code: number;
  readonly stderr: string;
  /** Fail only this many times, then behave; default: always. */
  readonly times?: number;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Every az/terraform argv of this run, in order, tool name first. */
  readonly calls: string[][];
}

interface FakeState {
  tags: string[];
  secret?: string;
  baseApplied?: boolean;
  appliedImage?: string;
  revision: number;
  readyHost: string;
  failures: Failure[];
}

export class DeployWorld {
  /** Answers of /readyz in turn; the last one repeats. */
  readyAnswers: number[] = [200];
  readyHits = 0;

  private constructor(
    readonly dir: string,
    private readonly server: Server,
    private readonly caFile: string,
  ) {}

  static async create(): Promise<DeployWorld> {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-continuity-deploy-'));
    const clone = join(dir, 'clone');
    for (const entry of CLONE) cpSync(join(ROOT, entry), join(clone, entry), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['az', 'terraform']) {
      writeFileSync(join(bin, tool), `#!${process.execPath}\nrequire(${JSON.stringify(join(import.meta.dirname, 'fake-cli.cjs'))})(${JSON.stringify(tool)});\n`);
      chmodSync(join(bin, tool), 0o755);
    }
    // A real TLS endpoint: the script fetches https://<revision fqdn>/readyz, trusting this CA via NODE_EXTRA_CA_CERTS.
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    let world: DeployWorld | undefined;
    const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
      const answers = world!.readyAnswers;
      const status = req.url === '/readyz' ? (answers[Math.min(world!.readyHits++, answers.length - 1)] ?? 200) : 404;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status: status === 200 ? 'ready' : 'starting' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    world = new DeployWorld(dir, server, cert);
    world.writeState({ tags: [], revision: 0, readyHost: `127.0.0.1:${(server.address() as AddressInfo).port}`, failures: [] });
    return world;
  }

  get clone(): string {
    return join(this.dir, 'clone');
  }

  state(): FakeState {
    return JSON.parse(readFileSync(join(this.dir, 'state.json'), 'utf8')) as FakeState;
  }

  private writeState(state: FakeState): void {
    writeFileSync(join(this.dir, 'state.json'), JSON.stringify(state));
  }

  /** Makes matching az/terraform calls fail from now on (cleared by `heal`). */
  fail(failure: Failure): void {
    const state = this.state();
    this.writeState({ ...state, failures: [...state.failures, failure] });
  }

  heal(): void {
    this.writeState({ ...this.state(), failures: [] });
  }

  /** Runs `scripts/deploy.ts <args>` in the clone as `npm run deploy` would, with only the fakes on PATH. */
  async run(args: string[], options: { env?: Record<string, string>; tools?: ('az' | 'terraform')[] } = {}): Promise<RunResult> {
    const tools = options.tools ?? ['az', 'terraform'];
    const bin = join(this.dir, tools.length === 2 ? 'bin' : `bin-${tools.join('-') || 'none'}`);
    if (tools.length !== 2) {
      // PATH holds nothing but the chosen fakes: a real az/terraform on a CI runner must not be found.
      mkdirSync(bin, { recursive: true });
      for (const tool of tools) cpSync(join(this.dir, 'bin', tool), join(bin, tool));
    }
    rmSync(join(this.dir, 'calls.jsonl'), { force: true });
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/deploy.ts', ...args], {
      cwd: this.clone,
      env: {
        PATH: bin,
        HOME: this.dir,
        FAKE_CLI_DIR: this.dir,
        NODE_EXTRA_CA_CERTS: this.caFile,
        DEPLOY_READY_INTERVAL: '0.05',
        DEPLOY_READY_TIMEOUT: '5',
        DEPLOY_SECRET_INTERVAL: '0.05',
        DEPLOY_SECRET_TIMEOUT: '1',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    let calls: string[][] = [];
    try {
      calls = readFileSync(join(this.dir, 'calls.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as string[]);
    } catch {
      // no call was made
    }
    return { code, stdout, stderr, calls };
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A call as one line, for `toContain`-style checks: `az acr build --registry …`. */
export const line = (call: string[]) => call.join(' ');
