// `npm start` as a user runs it: as a process group (Ctrl-C, systemd, `kill -<pgid>`), and twice at once in one checkout.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, type LegacyClient } from '../support/clients.js';
import { freePort } from '../support/redis.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A checkout with no dist/ yet: what `npm start` sees on a fresh clone (node_modules shared). */
let checkout: string;

beforeAll(() => {
  checkout = mkdtempSync(join(tmpdir(), 'mcp-continuity-checkout-'));
  for (const path of ['app', 'scripts', 'package.json', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(ROOT, path), join(checkout, path), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
});

afterAll(() => rmSync(checkout, { recursive: true, force: true }));

interface NpmStart {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  output(): string;
}

/** `npm start` in its own process group (detached), as a terminal or systemd would run it. */
async function npmStart(env: Record<string, string> = {}): Promise<NpmStart> {
  const port = await freePort();
  const child = spawn('npm', ['start'], {
    cwd: checkout,
    detached: true,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', DRAIN_DELAY: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, port, exited, output: () => output };
}

const listening = (s: NpmStart) => expect.poll(() => s.output(), { timeout: 40_000, interval: 50 }).toContain('mcp-continuity listening on');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const count = (text: string, needle: string) => text.split(needle).length - 1;
const killGroup = (s: NpmStart, signal: NodeJS.Signals) => process.kill(-s.child.pid!, signal);
const stopAll = (all: NpmStart[]) => {
  for (const s of all) if (s.child.exitCode === null && s.child.signalCode === null) process.kill(-s.child.pid!, 'SIGKILL');
};

describe('npm start', () => {
  it('hosting:build:concurrent — three `npm start` at once in a checkout without dist/ all build, listen and answer /healthz', async () => {
    rmSync(join(checkout, 'dist'), { recursive: true, force: true });
    // A few hundred ms apart, so one loads dist/ while another is still compiling: the in-place build's crash.
    const all: NpmStart[] = [];
    for (let i = 0; i < 3; i++) {
      all.push(await npmStart());
      await sleep(300);
    }
    try {
      await Promise.all(all.map(listening));
      for (const s of all) expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);
      for (const s of all) killGroup(s, 'SIGTERM');
      for (const s of all) expect((await s.exited)[0]).toBe(0);
    } finally {
      stopAll(all);
    }
  }, 90_000);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`hosting:drain:process-group — ${signal} to the group of \`npm start\`, twice: a countdown in flight answers "done", "stopping" is logged once and every repeat "ignored", exit 0`, async () => {
      const s = await npmStart({ DRAIN_TIMEOUT: '20s' });
      let c: LegacyClient | undefined;
      try {
        await listening(s);
        c = await connectLegacy(`http://127.0.0.1:${s.port}/mcp`);
        let signalled = false;
        const call = c.client.callTool({ name: 'countdown', arguments: { seconds: 3 } }, undefined, {
          onprogress: () => {
            if (!signalled) killGroup(s, signal);
            signalled = true;
          },
          timeout: 30_000,
        });
        // The group's signal reaches node once or twice (npm forwards its own; the kernel may merge them):
        // a second one, a press later, makes the repeat certain.
        await expect.poll(() => s.output(), { timeout: 10_000, interval: 20 }).toContain('stopping: draining');
        await sleep(300);
        killGroup(s, signal);
        await expect.poll(() => s.output(), { timeout: 10_000, interval: 20 }).toContain('signal ignored: already draining');
        const result = await call;
        expect(signalled).toBe(true);
        expect((result.content as Array<{ text?: string }>)[0]?.text).toBe('done');
        const [code] = await s.exited;
        expect(code).toBe(0);
        const log = s.output();
        expect(count(log, 'stopping: draining')).toBe(1);
        expect(log).toContain(`"signal":"${signal}","delayMs":0,"msg":"stopping`);
        expect(log).toContain('"msg":"stopped"');
      } finally {
        await c?.close();
        stopAll([s]);
      }
    }, 60_000);
  }

  it('hosting:drain:force — Ctrl-C pressed three times within 2 s (SIGINT to the group) exits 1 without waiting for the call in flight', async () => {
    const s = await npmStart({ DRAIN_TIMEOUT: '30s' });
    let c: LegacyClient | undefined;
    try {
      await listening(s);
      c = await connectLegacy(`http://127.0.0.1:${s.port}/mcp`);
      let signalled = false;
      // Not awaited: the client would wait for its timeout after the forced exit.
      c.client
        .callTool({ name: 'countdown', arguments: { seconds: 20 } }, undefined, {
          onprogress: () => {
            if (!signalled) killGroup(s, 'SIGINT');
            signalled = true;
          },
          timeout: 30_000,
        })
        .catch(() => undefined);
      await expect.poll(() => s.output(), { timeout: 10_000, interval: 20 }).toContain('stopping: draining');
      for (let press = 2; press <= 3; press++) {
        await sleep(300);
        killGroup(s, 'SIGINT');
      }
      const [code] = await s.exited;
      expect(code).toBe(1);
      expect(s.output()).toContain('Ctrl-C pressed 3 times: exiting without finishing the drain');
      // The countdown was still running: the drain did not finish.
      expect(s.output()).not.toContain('"msg":"stopped"');
    } finally {
      await c?.close();
      stopAll([s]);
    }
  }, 60_000);
});
