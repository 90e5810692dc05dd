// A replica whose Redis connection string arrives late from Key Vault, then rotates: through the
// SecretReader boundary (the Azure SDK itself is covered by late-and-rotating-secret.test.ts), a real
// redis-server whose passwords change, and the real SDK client.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { startServer, type RunningServer } from '../../app/server.js';
import type { SecretReaderFactory } from '../../app/secrets.js';
import { connectLegacy, rawPost } from '../support/clients.js';
import { TestRedis } from '../support/redis.js';

const [P1, P2] = ['first-Secret-password-1', 'second-Secret-password-2'];

async function until(check: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

let redis: TestRedis | undefined;
let server: RunningServer | undefined;
afterAll(async () => {
  await server?.close();
  await redis?.close();
});

describe('Key Vault late and a rotated key', () => {
  it('keyvault:late-then-rotate — serves at once, 503s unknown sessions until the secret is readable, saves what it created, then survives a key rotation', async () => {
    redis = await TestRedis.start({ args: ['--requirepass', P1] });
    const port = redis.port;
    // The vault: 403 (role assignment not applied yet) until `secret` is set.
    let secret: string | undefined;
    let reads = 0;
    const vault: SecretReaderFactory = () => ({
      async getSecret() {
        reads++;
        if (secret === undefined) throw Object.assign(new Error('Forbidden: caller is not authorized'), { statusCode: 403 });
        return { value: secret, properties: { version: String(reads) } };
      },
    });
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const config = loadConfig({ PORT: '0', KEY_VAULT_URL: 'https://kv-test.vault.azure.net', REDIS_SECRET_NAME: 'redis', REDIS_COMMAND_TIMEOUT: '500ms', KEY_VAULT_REFRESH: '0' });
    server = await startServer(config, { logger, secretReader: vault });
    expect(server.mode).toBe('redis');
    const readyz = async () => (await (await fetch(server?.url.replace('/mcp', '/statusz') ?? '')).json()) as { status: string; store: { connected: boolean; waitingFor?: string } };

    // Waiting for Key Vault: new sessions are served, data is refused honestly, unknown sessions retry.
    const client = await connectLegacy(server.url);
    expect(JSON.parse(await client.call('session_info')).sessionId).toBe(client.sessionId);
    await expect(client.call('remember', { key: 'k', value: 'v' })).rejects.toThrow('Not saved: session store unavailable, retry.');
    expect((await readyz()).store.waitingFor).toMatch(/^key-vault: 403/);
    const unknown = await rawPost(server.url, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': randomUUID(), 'mcp-protocol-version': '2025-11-25' });
    expect(unknown.status).toBe(503);
    expect(unknown.headers.get('retry-after')).toBe('1');

    // The role assignment applies: the replica connects and saves the session it created meanwhile.
    secret = `redis://:${P1}@127.0.0.1:${port}`;
    const admin = redis.client({ password: P1 });
    await until(async () => (await admin.exists(`mcp-continuity:session:{${client.sessionId}}`)) === 1, 10_000, 'session saved after the secret arrived');
    expect((await readyz()).store).toMatchObject({ connected: true });
    expect((await readyz()).store.waitingFor).toBeUndefined();
    await client.call('remember', { key: 'k', value: 'kept' });

    // Rotation: a second key is valid too, the secret points at it, the first key is regenerated (gone).
    await admin.call('ACL', 'SETUSER', 'default', 'on', `>${P2}`);
    secret = `redis://:${P2}@127.0.0.1:${port}`;
    await admin.call('ACL', 'SETUSER', 'default', `<${P1}`);
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    // Redis now refuses the old key (WRONGPASS): the replica re-reads the secret and reconnects.
    let value: string | undefined;
    await until(async () => (value = await client.call('recall', { key: 'k' }).catch(() => undefined)) !== undefined, 15_000, 'recall after rotation');
    expect(value).toBe('kept');
    await client.call('remember', { key: 'after', value: 'rotation' });
    expect(await client.call('recall', { key: 'after' })).toBe('rotation');
    admin.disconnect();

    const logs = lines.join('');
    expect(logs).toContain('Redis connection string read from Key Vault');
    expect(logs).toContain('Redis connection string changed in Key Vault');
    expect(logs).not.toContain(P1);
    expect(logs).not.toContain(P2);
    await client.close();
  }, 60_000);
});
