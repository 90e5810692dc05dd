// Test child: builds the production Key Vault source (azureSecretReader) from the environment and prints
// its events as JSON lines on stdout; logs go to stderr through pino. stdin: "refresh" or "close".
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { loadConfig } from '../../app/config.js';
import { azureSecretReader, RedisSecretSource, type RedisSecretSourceOptions } from '../../app/secrets.js';

const tuning = JSON.parse(process.argv[2] ?? '{}') as Partial<RedisSecretSourceOptions>;
const vault = loadConfig().keyVault;
if (!vault) throw new Error('KEY_VAULT_URL is not set: this child only runs the Key Vault path');

const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ at: Date.now(), ...event })}\n`);
const source = new RedisSecretSource({
  vaultUrl: vault.url,
  secretName: vault.secretName,
  clientId: vault.clientId,
  readerFactory: azureSecretReader,
  readTimeoutMs: vault.timeoutMs,
  refreshIntervalMs: vault.refreshIntervalMs,
  logger: pino({ level: 'info' }, pino.destination(2)),
  ...tuning,
});

// The source has no state-change event (the store polls it for /readyz), so the child samples it.
let last = '';
const sample = () => {
  const { status, ...rest } = source.state;
  const key = `${status}|${'reason' in rest ? rest.reason : ''}`;
  if (key !== last) emit({ event: 'state', status, ...('reason' in rest ? { reason: rest.reason } : {}) });
  last = key;
};
setInterval(sample, 20);
source.onValue((url) => emit({ event: 'value', url, version: source.state.status === 'have-secret' ? source.state.version : undefined }));
source.start();
sample();

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'refresh') void source.refresh().then(() => emit({ event: 'refreshed', state: source.state }));
  if (line === 'close') {
    source.close();
    process.exit(0);
  }
});
