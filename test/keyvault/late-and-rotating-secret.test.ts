// Key Vault arriving late and rotating, through the real @azure/identity + @azure/keyvault-secrets clients
// in a child process (loopback-only network namespace where available) against a loopback TLS fake.
import { spawnSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AzureChild, networkNamespaceAvailable } from '../support/azure-child.js';
import { FakeAzure } from '../support/fake-azure.js';

const SECRET = 'redis-connection-string';
const CHILD = 'test/support/keyvault-child.ts';
// Fast enough for a test, same shape as production (500 ms doubling to 30 s).
const TUNING = JSON.stringify({ backoff: { initialMs: 100, maxMs: 400 }, minRefreshIntervalMs: 200 });
const connection = (password: string) => `rediss://:${password}@cache.redis.cache.windows.net:6380`;

let fake: FakeAzure;
const children: AzureChild[] = [];
// Each test uses its own secret name on the shared fake, so counts and scripts never cross.
let name = SECRET;
let seq = 0;

function startChild(env: Record<string, string> = {}): AzureChild {
  const child = new AzureChild(fake, CHILD, [TUNING], { REDIS_SECRET_NAME: name, KEY_VAULT_REFRESH: 'off', AZURE_LOG_LEVEL: 'info', ...env });
  children.push(child);
  return child;
}

/** Every line the child logged (ours through pino, the Azure SDK's own): none may hold a password. */
function expectNoSecretInLogs(child: AzureChild, ...passwords: string[]): void {
  expect(child.stderr.length).toBeGreaterThan(0);
  for (const password of passwords) expect(child.stderr.filter((line) => line.includes(password))).toEqual([]);
}

beforeAll(async () => {
  fake = await FakeAzure.start({ vaultName: 'kv-continuity-test' });
});
afterAll(() => fake.close());
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  fake.allow();
  name = `${SECRET}-${++seq}`;
});

describe('keyvault: a secret that arrives late', () => {
  it('keeps retrying while Key Vault answers 403, reports waiting, then delivers the value exactly once', async () => {
    fake.setSecret(name, connection('late-p4ss'));
    fake.deny();
    const child = startChild();
    // The 2 s of 403s count from the first one served: a loaded machine may take longer than that to start the child.
    const forbiddenSoFar = () => fake.vaultRequests.filter((r) => r.outcome === 'forbidden' && r.path === `/secrets/${name}/`).length;
    await expect.poll(forbiddenSoFar, { timeout: 20_000, interval: 10 }).toBeGreaterThan(0);
    const started = Date.now();
    setTimeout(() => fake.allow(), 2000);

    const waiting = await child.waitFor((e) => e.event === 'state' && String(e.reason).startsWith('403'));
    expect(waiting.status).toBe('waiting-for-key-vault');
    const value = await child.waitFor((e) => e.event === 'value');
    expect(value.url).toBe(connection('late-p4ss'));
    expect(value.at - started).toBeGreaterThanOrEqual(2000);
    await new Promise((resolve) => setTimeout(resolve, 600));

    expect(child.of('value')).toHaveLength(1);
    expect(child.of('state').at(-1)).toMatchObject({ status: 'have-secret' });
    // Retried with backoff (100 ms doubling to 400 ms) for two seconds: several 403s, not a storm.
    const forbidden = fake.vaultRequests.filter((r) => r.outcome === 'forbidden' && r.path === `/secrets/${name}/`).length;
    expect(forbidden).toBeGreaterThanOrEqual(4);
    expect(forbidden).toBeLessThanOrEqual(12);
    // One warning for the whole 403 episode, then one line when the secret is read.
    const ours = child.stderr.filter((line) => line.includes('"secret":'));
    expect(ours.filter((line) => line.includes('not readable yet'))).toHaveLength(1);
    expect(ours.filter((line) => line.includes('secret read'))).toHaveLength(1);
    expectNoSecretInLogs(child, 'late-p4ss');
  });

  it('waits for a secret that does not exist yet (404) and picks it up once it is created', async () => {
    const child = startChild();
    await child.waitFor((e) => e.event === 'state' && String(e.reason).startsWith('404'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(child.of('value')).toEqual([]);
    const readsWhileMissing = fake.reads(name);
    expect(readsWhileMissing).toBeGreaterThanOrEqual(2);

    const version = fake.setSecret(name, connection('created-later'));
    const value = await child.waitFor((e) => e.event === 'value');
    expect(value).toMatchObject({ url: connection('created-later'), version });
    expectNoSecretInLogs(child, 'created-later');
  });

  it('asks the Container Apps identity endpoint for a Key Vault token with its client id and header, once', async () => {
    const tokensBefore = fake.tokenRequests.length;
    fake.setSecret(name, connection('token-check'));
    fake.deny(3);
    const child = startChild();
    await child.waitFor((e) => e.event === 'value');
    child.send('refresh');
    await child.waitFor((e) => e.event === 'refreshed');

    expect(fake.reads(name)).toBe(5);
    // One client per process: the challenge round trip (401 + WWW-Authenticate) happens once, not per read.
    expect(fake.vaultRequests.filter((r) => r.outcome === 'challenge' && r.path === `/secrets/${name}/`)).toHaveLength(1);
    const tokens = fake.tokenRequests.slice(tokensBefore);
    // The bearer token is cached across every read of this process (MSAL's managed-identity cache): one request.
    expect(tokens).toEqual([
      { query: { 'api-version': '2019-08-01', resource: 'https://vault.azure.net', client_id: fake.clientId }, identityHeader: fake.identityHeader, status: 200 },
    ]);
    expectNoSecretInLogs(child, 'token-check', fake.identityHeader);
  });
});

describe('keyvault: rotation', () => {
  it('refresh() picks up a new version, shares one read among concurrent calls, and emits nothing when unchanged', async () => {
    fake.setSecret(name, connection('primary-key'));
    const child = startChild({ AZURE_LOG_LEVEL: 'verbose' });
    await child.waitFor((e) => e.event === 'value');

    const rotated = fake.setSecret(name, connection('secondary-key'));
    const from = child.events.length;
    child.send('refresh');
    const changed = await child.waitFor((e) => e.event === 'value', 10_000, from);
    expect(changed).toMatchObject({ url: connection('secondary-key'), version: rotated });

    await child.waitFor((e) => e.event === 'refreshed', 10_000, from);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const readsBefore = fake.reads(name);
    const burst = child.events.length;
    for (let i = 0; i < 5; i++) child.send('refresh');
    await child.waitFor((e) => e.event === 'refreshed' && child.of('refreshed').length >= 6, 10_000, burst);
    expect(fake.reads(name) - readsBefore).toBe(1);
    expect(child.of('value')).toHaveLength(2);
    expectNoSecretInLogs(child, 'primary-key', 'secondary-key');
  });

  it('notices a new version on its own with KEY_VAULT_REFRESH, without being asked', async () => {
    fake.setSecret(name, connection('before-rotation'));
    const child = startChild({ KEY_VAULT_REFRESH: '1s' });
    const first = await child.waitFor((e) => e.event === 'value');
    const rotatedAt = Date.now();
    fake.setSecret(name, connection('after-rotation'));
    const second = await child.waitFor((e) => e.event === 'value' && e.url === connection('after-rotation'));
    expect(second.at - rotatedAt).toBeLessThan(2500);
    expect(first.at).toBeLessThan(second.at);
    expect(child.of('value')).toHaveLength(2);
    expectNoSecretInLogs(child, 'before-rotation', 'after-rotation');
  });
});

describe.runIf(networkNamespaceAvailable())('keyvault: isolation', () => {
  it('a child in the test network namespace cannot reach the host loopback, only the forwarded fake', () => {
    const probe = `require('net').connect(${fake.vault.port}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', (e) => { console.log(e.code); process.exit(3); })`;
    const isolated = spawnSync('unshare', ['-rn', 'sh', '-c', 'PATH="$PATH:/usr/sbin:/sbin" ip link set lo up && exec "$@"', 'sh', process.execPath, '-e', probe], { encoding: 'utf8', timeout: 5000 });
    expect([isolated.status, isolated.stdout.trim()]).toEqual([3, 'ECONNREFUSED']);
    const host = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', timeout: 5000 });
    expect(host.status).toBe(0);
  });
});
