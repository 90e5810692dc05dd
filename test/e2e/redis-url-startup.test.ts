// Start-up with a REDIS_URL that cannot be parsed: exit 2 with a message naming the variable, never a stack or the password.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PASSWORD = 'hunter2-s3cret';

async function start(redisUrl: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'app/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'debug', REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code] = await exited;
  clearTimeout(timer);
  return { code, stderr, stdout };
}

const MALFORMED = [
  'redis://%zz@cache.example.net:6379',
  `redis://app:${PASSWORD}%@cache.example.net:6379`,
  `rediss://:${PASSWORD}%E0%A4%A@cache.example.net:6380`,
  `redis://:${PASSWORD}@cache.example.net:99999`,
  `redis://:${PASSWORD}@cache.example.net/not-a-db`,
  `:6380,password=${PASSWORD},ssl=True`,
];

describe('a malformed REDIS_URL', () => {
  it.each(MALFORMED)('config:redis-url:malformed — %s stops start-up with exit 2, names REDIS_URL, and shows no stack or password', async (url) => {
    const { code, stderr, stdout } = await start(url);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^mcp-continuity: configuration error: REDIS_URL: /);
    expect(stderr).not.toMatch(/URIError|\n\s+at /);
    expect(stderr + stdout).not.toContain(PASSWORD);
    expect(stdout).not.toContain('listening');
  });
});
