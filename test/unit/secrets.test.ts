// Start-up decision: REDIS_URL, else Key Vault through the SecretReader boundary, else memory.
import { describe, expect, it } from 'vitest';
import { resolveRedisSource, type SecretReader, type SecretReaderFactory } from '../../app/secrets.js';

const vault = { url: 'https://kv-demo.vault.azure.net/', secretName: 'redis-connection-string', clientId: '00000000-0000-0000-0000-000000000001', timeoutMs: 300 };

/** A fake at the Azure SDK boundary: records what was asked and answers as told. */
function fakeVault(answer: (attempt: number, signal: AbortSignal) => Promise<{ value?: string }>) {
  const calls: Array<{ vaultUrl: string; clientId: string | undefined; name: string }> = [];
  let attempt = 0;
  const factory: SecretReaderFactory = (vaultUrl, clientId): SecretReader => ({
    getSecret: (name, { abortSignal }) => {
      calls.push({ vaultUrl, clientId, name });
      return answer(attempt++, abortSignal);
    },
  });
  return { factory, calls };
}

const statusError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });

describe('resolveRedisSource', () => {
  it('uses REDIS_URL when set and never asks Key Vault', async () => {
    const kv = fakeVault(async () => ({ value: 'rediss://:k@kv-host:6380' }));
    const source = await resolveRedisSource({ redisUrl: 'redis://127.0.0.1:6379', keyVault: vault }, kv.factory);
    expect(source).toEqual({ mode: 'redis', url: 'redis://127.0.0.1:6379', source: 'REDIS_URL' });
    expect(kv.calls).toEqual([]);
  });

  it('runs in memory, without a warning, when nothing is configured', async () => {
    expect(await resolveRedisSource({ redisUrl: undefined, keyVault: undefined })).toMatchObject({ mode: 'memory', warning: false });
  });

  it('reads the named secret with the managed identity client id', async () => {
    const kv = fakeVault(async () => ({ value: ' rediss://:key@cache.redis.cache.windows.net:6380 \n' }));
    const source = await resolveRedisSource({ redisUrl: undefined, keyVault: vault }, kv.factory);
    expect(source).toEqual({ mode: 'redis', url: 'rediss://:key@cache.redis.cache.windows.net:6380', source: 'key-vault' });
    expect(kv.calls).toEqual([{ vaultUrl: vault.url, clientId: vault.clientId, name: 'redis-connection-string' }]);
  });

  it('retries a 403 while the role assignment propagates, then succeeds', async () => {
    const kv = fakeVault(async (attempt) => {
      if (attempt < 1) throw statusError(403, 'Forbidden: caller is not authorized');
      return { value: 'redis://h:6379' };
    });
    const source = await resolveRedisSource({ redisUrl: undefined, keyVault: { ...vault, timeoutMs: 2000 } }, kv.factory);
    expect(source).toMatchObject({ mode: 'redis', source: 'key-vault' });
    expect(kv.calls.length).toBe(2);
  });

  it('falls back to memory with a warning when the secret does not exist, without retrying', async () => {
    const kv = fakeVault(async () => {
      throw statusError(404, 'SecretNotFound: A secret with (name/id) redis-connection-string was not found in this key vault.');
    });
    const source = await resolveRedisSource({ redisUrl: undefined, keyVault: { ...vault, timeoutMs: 5000 } }, kv.factory);
    expect(source).toMatchObject({ mode: 'memory', warning: true });
    expect(source.mode === 'memory' && source.reason).toContain('SecretNotFound');
    expect(kv.calls.length).toBe(1);
  });

  it('gives up within the bound when Key Vault never answers, and aborts the call', async () => {
    let aborted = false;
    const kv = fakeVault(
      (_attempt, signal) =>
        new Promise(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
    );
    const started = Date.now();
    const source = await resolveRedisSource({ redisUrl: undefined, keyVault: vault }, kv.factory);
    expect(source).toMatchObject({ mode: 'memory', warning: true });
    expect(source.mode === 'memory' && source.reason).toContain('no answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(aborted).toBe(true);
  });

  it('treats an empty secret as not configured', async () => {
    const kv = fakeVault(async () => ({ value: '   ' }));
    expect(await resolveRedisSource({ redisUrl: undefined, keyVault: vault }, kv.factory)).toMatchObject({ mode: 'memory', warning: true, reason: expect.stringContaining('empty') });
  });
});
