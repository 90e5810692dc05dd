// `npm ci && npm start` on a fresh clone: prestart compiles, start execs node, so a SIGTERM to npm stops the server.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start', () => {
  it('builds, then runs the server as the one process under npm, which a SIGTERM sent to npm stops with exit 0', async () => {
    const port = await freePort();
    const npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', DRAIN_DELAY: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(npm, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      await expect.poll(() => output, { timeout: 60_000, interval: 50 }).toContain('mcp-continuity listening on');
      const pid = Number(/"pid":(\d+)/.exec(output)?.[1]);
      // No sh in between: the server's parent is npm itself (sh exec'd node).
      expect(parentOf(pid)).toBe(npm.pid);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      npm.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
      expect(alive(pid)).toBe(false);
      expect(output).toContain('"signal":"SIGTERM"');
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
    }
  }, 90_000);
});
