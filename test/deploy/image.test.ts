// The image's file set, installed the way the Dockerfile installs it, runs a real session against Redis and stops on SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy } from '../support/clients.js';
import { freePort, TestRedis } from '../support/redis.js';
import { cmdOf, envOf, instruction, linkNodeModules, readDockerfile, replay } from './dockerfile.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const stages = readDockerfile(ROOT);
const runtime = stages.at(-1)!;
const work = mkdtempSync(join(tmpdir(), 'mcp-continuity-image-'));
// The unprivileged user must be able to reach the files, as the image's "node" user reads root-owned files.
chmodSync(work, 0o755);
let redis: TestRedis;
let appDir: string;

beforeAll(async () => {
  redis = await TestRedis.start();
  const dirs = replay(stages, {
    context: ROOT,
    root: work,
    rewrite: (stage, command) => {
      if (/^npm ci\b/.test(command) && stage !== runtime) {
        linkNodeModules(ROOT, join(work, stage.name)); // the build stage's full install: the repo's node_modules, same lockfile
        return undefined;
      }
      if (/^npm cache clean\b/.test(command)) return undefined; // would wipe the developer's npm cache
      // The runtime install runs for real: a runtime dependency missing from "dependencies" fails here or at start.
      return /^npm ci\b/.test(command) ? `${command} --prefer-offline` : command;
    },
  });
  appDir = dirs.get(runtime.name)!;
}, 90_000);

afterAll(async () => {
  await redis?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('the image file set', () => {
  it('holds production dependencies only: no TypeScript, no tsx, no sources', () => {
    expect(existsSync(join(appDir, 'node_modules', 'ioredis'))).toBe(true);
    for (const dev of ['typescript', 'tsx', 'vitest', 'cdktf']) expect(existsSync(join(appDir, 'node_modules', dev)), dev).toBe(false);
    expect(existsSync(join(appDir, 'app'))).toBe(false);
    expect(existsSync(join(appDir, cmdOf(runtime)[1]!))).toBe(true);
  });

  it("starts with the image's command and env, serves a session from Redis, and exits 0 on SIGTERM", async () => {
    const [command, ...args] = cmdOf(runtime);
    expect(command).toBe('node');
    const port = await freePort();
    // No drain delay: nothing routes to this process, so SIGTERM may stop it at once.
    const env = { ...envOf(runtime), PORT: String(port), REDIS_URL: redis.url, PATH: process.env.PATH ?? '', DRAIN_DELAY: '0' };
    expect(env).toMatchObject({ HOST: '0.0.0.0', NODE_ENV: 'production' });
    expect(instruction(runtime, 'USER')).toBe('node');
    // Root here runs it as "nobody": the image runs as the unprivileged "node" user.
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const child: ChildProcess = spawn(process.execPath, args, { cwd: appDir, env, stdio: ['ignore', 'pipe', 'pipe'], ...asUser });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      await expect.poll(() => output, { timeout: 15_000, interval: 50 }).toMatch(/listening on .* in redis mode/);
      const session = await connectLegacy(`http://127.0.0.1:${port}/mcp`);
      expect(await session.call('remember', { key: 'colour', value: 'teal' })).toBe('Remembered "colour".');
      expect(await session.call('recall', { key: 'colour' })).toBe('teal');
      const probe = redis.client();
      expect(await probe.keys('mcp-continuity:*')).not.toHaveLength(0);
      probe.disconnect();
      await session.close();
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
