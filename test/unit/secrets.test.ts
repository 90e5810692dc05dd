// The Redis connection source at the SecretReader boundary: precedence, backoff, single-flight refresh, logs.
import { afterEach, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  RedisSecretSource,
  redisConnectionSource,
  type RedisSecretSourceOptions,
  type SecretReaderFactory,
} from '../../app/secrets.js';

const vault = { url: 'https://kv-demo.vault.azure.net/', secretName: 'redis-connection-string', clientId: '00000000-0000-0000-0000-000000000001', timeoutMs: 300, refreshIntervalMs: undefined };
const statusError = (statusCode: number, message: string) => Object.assign(new Error(message), { statusCode });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A vault at the Azure SDK boundary: answers with the current script, counts and records reads. */
function scriptedVault(answer: (read: number) => Promise<{ value?: string; properties?: { version?: string } }>) {
  const calls: Array<{ vaultUrl: string; clientId: string | undefined; name: string }> = [];
  const factory: SecretReaderFactory = (vaultUrl, clientId) => ({
    getSecret: (name) => {
      calls.push({ vaultUrl, clientId, name });
      return answer(calls.length - 1);
    },
  });
  return { factory, calls };
}

function recordingLogger() {
  const lines: Array<{ level: string; message: string; fields: Record<string, unknown> }> = [];
  return {
    lines,
    info: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'info', message, fields }),
    warn: (fields: Record<string, unknown>, message: string) => lines.push({ level: 'warn', message, fields }),
  };
}

const sources: RedisSecretSource[] = [];
function source(options: Partial<RedisSecretSourceOptions> & Pick<RedisSecretSourceOptions, 'readerFactory'>): RedisSecretSource {
  const created = new RedisSecretSource({ vaultUrl: vault.url, secretName: vault.secretName, clientId: vault.clientId, backoff: { initialMs: 20, maxMs: 80 }, minRefreshIntervalMs: 0, ...options });
  sources.push(created);
  return created;
}
afterEach(() => sources.splice(0).forEach((s) => s.close()));

async function until(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, never below half of each step', () => {
    for (const [failures, ceiling] of [[0, 500], [1, 1000], [2, 2000], [5, 16_000], [6, 30_000], [60, 30_000]] as const) {
      expect(backoffDelay(failures, () => 0)).toBe(ceiling / 2);
      expect(backoffDelay(failures, () => 0.999_999)).toBe(ceiling);
    }
  });
});

describe('redisConnectionSource', () => {
  it('uses REDIS_URL when set and never asks Key Vault', async () => {
    const kv = scriptedVault(async () => ({ value: 'rediss://:k@kv-host:6380' }));
    expect(redisConnectionSource({ redisUrl: 'redis://127.0.0.1:6379', keyVault: vault }, { readerFactory: kv.factory })).toEqual({ mode: 'redis', source: 'REDIS_URL', url: 'redis://127.0.0.1:6379' });
    await sleep(20);
    expect(kv.calls).toEqual([]);
  });

  it('is memory mode only when neither REDIS_URL nor KEY_VAULT_URL is set', () => {
    expect(redisConnectionSource({ redisUrl: undefined, keyVault: undefined })).toMatchObject({ mode: 'memory' });
  });

  it('is a Redis replica waiting for Key Vault from its first second, with the managed identity client id', async () => {
    const kv = scriptedVault(() => new Promise(() => {}));
    const chosen = redisConnectionSource({ redisUrl: undefined, keyVault: vault }, { readerFactory: kv.factory });
    expect(chosen).toMatchObject({ mode: 'redis', source: 'key-vault' });
    if (chosen.mode !== 'redis' || chosen.source !== 'key-vault') return;
    sources.push(chosen.secrets);
    expect(chosen.secrets.state).toMatchObject({ status: 'waiting-for-key-vault' });
    await until(() => kv.calls.length === 1);
    expect(kv.calls[0]).toEqual({ vaultUrl: vault.url, clientId: vault.clientId, name: 'redis-connection-string' });
  });
});

describe('RedisSecretSource', () => {
  it('keeps retrying through 403 and 404 without a deadline, then emits the trimmed value once', async () => {
    const kv = scriptedVault(async (read) => {
      if (read < 3) throw statusError(403, 'Forbidden');
      if (read < 6) throw statusError(404, 'SecretNotFound');
      return { value: ' redis://h:6379 \n', properties: { version: 'v1' } };
    });
    const values: string[] = [];
    const s = source({ readerFactory: kv.factory });
    s.onValue((url) => values.push(url));
    s.start();
    await until(() => kv.calls.length >= 2);
    expect(s.state).toMatchObject({ status: 'waiting-for-key-vault', reason: expect.stringContaining('403') });
    await until(() => values.length > 0);
    await sleep(50);
    expect(values).toEqual(['redis://h:6379']);
    expect(kv.calls.length).toBe(7);
    expect(s.state).toMatchObject({ status: 'have-secret', version: 'v1', lastError: undefined });
  });

  it('logs a failure once per distinct reason, never the value, and reports the wait when it ends', async () => {
    const kv = scriptedVault(async (read) => {
      if (read < 4) throw statusError(403, 'Forbidden');
      if (read < 8) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      return { value: 'rediss://:p4ss-w0rd@cache:6380' };
    });
    const log = recordingLogger();
    const s = source({ readerFactory: kv.factory, logger: log }).start();
    await until(() => s.state.status === 'have-secret');
    expect(log.lines.map((l) => [l.level, l.fields.reason ?? l.message])).toEqual([
      ['warn', expect.stringContaining('403')],
      ['warn', 'network: ECONNREFUSED'],
      ['info', 'Key Vault secret read: the Redis connection string is available'],
    ]);
    expect(log.lines[2]?.fields).toMatchObject({ attempts: 9 });
    expect(JSON.stringify(log.lines)).not.toContain('p4ss-w0rd');
  });

  it('repeats a failure that persists at most once per repeatLogMs', async () => {
    const kv = scriptedVault(async () => {
      throw statusError(403, 'Forbidden');
    });
    const log = recordingLogger();
    const s = source({ readerFactory: kv.factory, logger: log, backoff: { initialMs: 10, maxMs: 10 }, repeatLogMs: 200 }).start();
    await sleep(500);
    s.close();
    expect(kv.calls.length).toBeGreaterThanOrEqual(20);
    expect(log.lines.length).toBeGreaterThanOrEqual(2);
    expect(log.lines.length).toBeLessThanOrEqual(3);
  });

  it('treats an empty secret as not there yet and keeps waiting', async () => {
    const kv = scriptedVault(async (read) => (read < 2 ? { value: '  ' } : { value: 'redis://h:1' }));
    const s = source({ readerFactory: kv.factory }).start();
    await until(() => kv.calls.length >= 1 && s.state.status === 'waiting-for-key-vault' && s.state.attempts >= 1);
    expect(s.state).toMatchObject({ reason: expect.stringContaining('empty') });
    await until(() => s.state.status === 'have-secret');
  });

  it('aborts a read that hangs past its timeout and tries again', async () => {
    let aborted = 0;
    const factory: SecretReaderFactory = () => ({
      getSecret: (_name, { abortSignal }) =>
        aborted > 0 ? Promise.resolve({ value: 'redis://h:1' }) : new Promise((_, reject) => abortSignal.addEventListener('abort', () => (aborted++, reject(new Error('aborted'))))),
    });
    const s = source({ readerFactory: factory, readTimeoutMs: 50 }).start();
    await until(() => s.state.status === 'have-secret');
    expect(aborted).toBe(1);
  });

  it('shares one read among concurrent refresh() calls and spaces reads by the minimum interval', async () => {
    let version = 1;
    const kv = scriptedVault(async () => {
      await sleep(30);
      return { value: `redis://:k${version}@h:1`, properties: { version: `v${version}` } };
    });
    const values: string[] = [];
    const s = source({ readerFactory: kv.factory, minRefreshIntervalMs: 300 }).start();
    s.onValue((url) => values.push(url));
    await until(() => values.length === 1);
    version = 2;
    const started = Date.now();
    await Promise.all([s.refresh(), s.refresh(), s.refresh()]);
    expect(kv.calls.length).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(values).toEqual(['redis://:k1@h:1', 'redis://:k2@h:1']);
    await s.refresh();
    expect(values.length).toBe(2);
  });

  it('re-reads on its own at the refresh interval and keeps the old value while Key Vault fails', async () => {
    let answer: () => Promise<{ value: string }> = async () => ({ value: 'redis://:old@h:1' });
    const kv = scriptedVault(() => answer());
    const values: string[] = [];
    const s = source({ readerFactory: kv.factory, refreshIntervalMs: 60 }).start();
    s.onValue((url) => values.push(url));
    await until(() => values.length === 1);
    answer = async () => {
      throw statusError(403, 'Forbidden');
    };
    await until(() => s.state.status === 'have-secret' && s.state.lastError !== undefined);
    answer = async () => ({ value: 'redis://:new@h:1' });
    await until(() => values.length === 2);
    expect(values).toEqual(['redis://:old@h:1', 'redis://:new@h:1']);
    expect(s.state).toMatchObject({ status: 'have-secret', lastError: undefined });
  });

  it('releases a caller waiting on a deferred refresh() when the source is closed', async () => {
    const kv = scriptedVault(async () => ({ value: 'redis://h:1' }));
    const s = source({ readerFactory: kv.factory, minRefreshIntervalMs: 60_000 }).start();
    await until(() => s.state.status === 'have-secret');
    const pending = s.refresh();
    s.close();
    await expect(Promise.race([pending.then(() => 'released'), sleep(500).then(() => 'hung')])).resolves.toBe('released');
    expect(kv.calls.length).toBe(1);
  });

  it('gives a late subscriber the current value', async () => {
    const kv = scriptedVault(async () => ({ value: 'redis://h:1' }));
    const s = source({ readerFactory: kv.factory }).start();
    await until(() => s.state.status === 'have-secret');
    const late: string[] = [];
    s.onValue((url) => late.push(url));
    await sleep(5);
    expect(late).toEqual(['redis://h:1']);
  });
});
