// The local Docker path: the unchanged Dockerfile and compose.yaml, built and run through the real `docker compose`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy, rawPost, type LegacyClient } from '../support/clients.js';
import { ComposeStack, dockerStatus, ROOT } from './stack.js';

// CI (.ci/run) sets CONTAINER_TESTS=required after scripts/docker-test-env.sh: there, no Docker is a failure.
const docker = dockerStatus();
const required = process.env.CONTAINER_TESTS === 'required';
if (!docker.ok && required) throw new Error(`container tests are required (CONTAINER_TESTS=required) but ${docker.reason}`);
if (!docker.ok) console.warn(`[test/container] skipped: ${docker.reason}`);

const MB = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
let stack: ComposeStack;
let session: LegacyClient;

beforeAll(async () => {
  if (!docker.ok) return;
  stack = await ComposeStack.create();
  const started = Date.now();
  // One build per suite run; later runs reuse Docker's layer cache.
  await stack.compose(['up', '-d', '--build']);
  const upMs = Date.now() - started;
  await stack.waitReady();
  console.log(`[test/container] ${stack.project}: up --build ${upMs} ms, /readyz 200 after ${Date.now() - started} ms, port ${stack.port}`);
}, 600_000);

afterAll(async () => {
  await session?.close();
  await stack?.down();
}, 120_000);

describe.skipIf(!docker.ok)('docker compose: the stack', () => {
  it('docker:up — the stack comes up on the chosen host port (MCP_PORT) and /readyz and /healthz answer 200', async () => {
    expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    const published = await stack.compose(['port', 'app', '3000']);
    expect(published.trim()).toBe(`127.0.0.1:${stack.port}`);
  });

  it('docker:origin — a browser page on the published port passes the Origin check; another origin does not', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'o', version: '1' } } };
    expect((await rawPost(`${stack.url}/mcp`, init, { origin: `http://localhost:${stack.port}` })).status).toBe(200);
    expect((await rawPost(`${stack.url}/mcp`, init, { origin: 'http://evil.example' })).status).toBe(403);
  });

  it('docker:user — the app runs as uid 1000 on a read-only root file system', async () => {
    expect((await stack.compose(['exec', '-T', 'app', 'node', '-p', 'process.getuid()'])).trim()).toBe('1000');
    expect(await stack.inspect('app', '.HostConfig.ReadonlyRootfs')).toBe(true);
    const write = "try { require('fs').writeFileSync('/app/probe', 'x'); console.log('written') } catch (e) { console.log(e.code) }";
    expect((await stack.compose(['exec', '-T', 'app', 'node', '-e', write])).trim()).toBe('EROFS');
  });

  it('docker:image — production dependencies only (no devDependency in node_modules, no sources); its size is reported', async () => {
    // Checked against the package.json inside the image, so a new devDependency is covered too.
    const probe = `
      const fs = require('fs'); const pkg = require('/app/package.json');
      const has = (n) => fs.existsSync('/app/node_modules/' + n + '/package.json');
      // A name among our devDependencies may still be installed because a production package needs it
      // (@types/node, through the Azure Monitor distro's instrumentations): that is not a dev install.
      const top = fs.readdirSync('/app/node_modules').flatMap((n) => n.startsWith('@') ? fs.readdirSync('/app/node_modules/' + n).map((m) => n + '/' + m) : [n]);
      const needed = new Set(top.filter(has).flatMap((n) => { const p = require('/app/node_modules/' + n + '/package.json'); return Object.keys({ ...p.dependencies, ...p.optionalDependencies, ...p.peerDependencies }); }));
      console.log(JSON.stringify({ dev: Object.keys(pkg.devDependencies).filter(has).filter((n) => !needed.has(n)), prod: Object.keys(pkg.dependencies).filter((n) => !has(n)),
        sources: fs.existsSync('/app/app'), main: fs.existsSync('/app/dist/app/main.js'), app: fs.readdirSync('/app').sort(), dist: fs.readdirSync('/app/dist') }));`;
    const found = JSON.parse(await stack.compose(['exec', '-T', 'app', 'node', '-e', probe])) as Record<string, unknown>;
    expect(found).toEqual({ dev: [], prod: [], sources: false, main: true, app: ['dist', 'node_modules', 'package-lock.json', 'package.json'], dist: ['app'] });
    const image = await stack.inspect<string>('app', '.Image');
    const size = Number(await stack.docker(['image', 'inspect', '-f', '{{.Size}}', image]));
    const base = /^FROM\s+(\S+)\s+AS\s+runtime/im.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1] ?? '';
    const baseSize = Number(await stack.docker(['image', 'inspect', '-f', '{{.Size}}', base]));
    console.log(`[test/container] image ${MB(size)}: ${base} ${MB(baseSize)} + the app's layers ${MB(size - baseSize)}`);
    expect(size).toBeGreaterThan(baseSize);
  });


  it("docker:health — the image's HEALTHCHECK turns the container healthy (on the read-only root, as uid 1000)", async () => {
    // The first check runs one interval (10 s) after the start; the earlier tests used part of that.
    await expect.poll(() => stack.inspect<{ Status: string }>('app', '.State.Health').then((h) => h.Status), { timeout: 40_000, interval: 500 }).toBe('healthy');
  }, 60_000);
});

describe.skipIf(!docker.ok)('docker compose: continuity', () => {
  it('docker:restart — a session (its id and scratchpad value) survives `docker compose restart app`', async () => {
    session = await connectLegacy(`${stack.url}/mcp`, { name: 'container-test' });
    expect(await session.call('remember', { key: 'colour', value: 'teal' })).toBe('Remembered "colour".');
    const before = await stack.state('app');
    await stack.compose(['restart', 'app']);
    await stack.waitReady();
    const after = await stack.state('app');
    expect(after.StartedAt).not.toBe(before.StartedAt);
    expect(await session.call('recall', { key: 'colour' })).toBe('teal');
    expect(session.transport.sessionId).toBe(session.sessionId);
  }, 120_000);

  it('docker:kill — the session survives `docker compose kill -s KILL app` and `up -d`', async () => {
    await stack.compose(['kill', '-s', 'KILL', 'app']);
    expect(await stack.state('app')).toMatchObject({ Running: false, ExitCode: 137 });
    await stack.compose(['up', '-d', 'app']);
    await stack.waitReady();
    expect(await session.call('recall', { key: 'colour' })).toBe('teal');
    expect(await session.call('remember', { key: 'shape', value: 'circle' })).toBe('Remembered "shape".');
    expect(session.transport.sessionId).toBe(session.sessionId);
  }, 120_000);

  it('docker:stop — `docker stop` with a countdown in flight drains it: the server stops taking connections, the call still answers "done", the container exits 0 within its grace period', async () => {
    const id = await stack.containerId('app');
    const seconds = 6;
    let stopped: Promise<string> | undefined;
    let answered = false;
    const progress: number[] = [];
    const call = session.client
      .callTool({ name: 'countdown', arguments: { seconds } }, undefined, {
        onprogress: (p) => {
          progress.push(p.progress);
          // `docker stop` without -t: the grace period comes from the container's own config (stop_grace_period).
          if (progress.length === 1) stopped = stack.docker(['stop', id]);
        },
        timeout: 45_000, // the grace period: a call cut by Docker's SIGKILL never answers
      })
      .finally(() => (answered = true));
    // The listener closes while the call runs (compose.yaml: no drain delay, nothing routes here but us).
    await expect.poll(() => stopped !== undefined, { timeout: 10_000 }).toBe(true);
    await expect.poll(() => fetch(`${stack.url}/readyz`).then((r) => r.status, () => 'refused'), { timeout: 10_000, interval: 100 }).not.toBe(200);
    expect(answered).toBe(false);
    const result = await call;
    expect((result.content as Array<{ text?: string }>)[0]?.text).toBe('done');
    expect(progress).toEqual(Array.from({ length: seconds }, (_, i) => i + 1));
    await stopped;
    // 137 here: Docker's SIGKILL at the end of the grace period cut the drain short.
    expect(await stack.state('app')).toMatchObject({ Running: false, ExitCode: 0, OOMKilled: false });
    // The drain's worst case (DRAIN_TIMEOUT 20 s) fits; unset, Docker's default is 10 s.
    expect((await stack.inspect<number | null>('app', '.Config.StopTimeout')) ?? 10).toBeGreaterThan(20);
  }, 120_000);
});

// Last: filling Redis to its cap makes the app refuse new sessions for a while (the store is nearly full).
describe.skipIf(!docker.ok)('docker compose: redis', () => {
  it('docker:redis — Redis evicts like the Azure cache: allkeys-lru under a memory cap, so a full cache drops old keys instead of refusing writes', async () => {
    const infra = readFileSync(join(ROOT, 'infra/constructs/redis.ts'), 'utf8');
    const azurePolicy = /maxmemoryPolicy:\s*'([^']+)'/.exec(infra)?.[1];
    expect(azurePolicy).toBe('allkeys-lru');
    const cli = (...args: string[]) => stack.compose(['exec', '-T', 'redis', 'redis-cli', ...args]);
    expect((await cli('CONFIG', 'GET', 'maxmemory-policy')).trim().split('\n')).toEqual(['maxmemory-policy', azurePolicy]);
    const cap = Number((await cli('CONFIG', 'GET', 'maxmemory')).trim().split('\n')[1]);
    expect(cap).toBeGreaterThan(0);
    // Write twice the cap in 1 MB values, one command each: with noeviction these would fail with OOM.
    const count = Math.ceil((2 * cap) / 2 ** 20);
    const commands = Array.from({ length: count }, (_, i) => `EVAL "return redis.call('SET', KEYS[1], string.rep('x', 1048576))" 1 container-test:fill:${i}\n`).join('');
    const replies = (await stack.compose(['exec', '-T', 'redis', 'redis-cli'], commands)).trim().split('\n');
    expect(replies.filter((r) => r !== 'OK')).toEqual([]);
    const stats = await cli('INFO', 'stats');
    expect(Number(/evicted_keys:(\d+)/.exec(stats)?.[1])).toBeGreaterThan(0);
    expect(Number((await cli('DBSIZE')).trim())).toBeLessThan(count);
    const memory = await cli('INFO', 'memory');
    expect(Number(/used_memory:(\d+)/.exec(memory)?.[1])).toBeLessThanOrEqual(cap + 2 ** 20);
    await cli('EVAL', "for _, k in ipairs(redis.call('KEYS', 'container-test:fill:*')) do redis.call('UNLINK', k) end", '0');
  });
});
