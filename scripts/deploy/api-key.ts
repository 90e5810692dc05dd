// Makes sure the vault holds the API-keys secret (`mcp-api-keys`) the app's key auth reads; creates one key if absent.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstLines, run, StepError } from './run.js';

/** Id of the key this script creates; the app's principal for it is `key:<id>`. */
export const FIRST_KEY_ID = 'deploy';

export interface EnsureApiKeyOptions {
  readonly vault: string;
  /** The secret's name in the vault, as the stack references it. */
  readonly secret: string;
  /** How long to retry a 403: the Secrets Officer role just granted by the base apply may still be propagating. */
  readonly forbiddenRetryMs: number;
  readonly retryIntervalMs: number;
  readonly log: (line: string) => void;
}

const FORBIDDEN = /forbidden|\b403\b|not authorized|does not have secrets (get|set) permission/i;
const NOT_FOUND = /SecretNotFound|was not found|\(NotFound\)/i;

/** The `az` command that shows the keys; printed instead of the value, which never reaches the terminal. */
export function showKeyCommand(vault: string, secret: string): string {
  return `az keyvault secret show --vault-name ${vault} --name ${secret} --query value -o tsv`;
}

/** Returns whether a secret was created. Leaves an existing secret (and rotated keys) alone. */
export async function ensureApiKey(options: EnsureApiKeyOptions): Promise<boolean> {
  const step = 'API key secret';
  const deadline = Date.now() + options.forbiddenRetryMs;
  const show = ['keyvault', 'secret', 'show', '--vault-name', options.vault, '--name', options.secret, '--query', 'id', '-o', 'tsv'];
  for (;;) {
    const shown = await run('az', show);
    if (shown.code === 0) return false;
    if (NOT_FOUND.test(shown.stderr)) break;
    if (!FORBIDDEN.test(shown.stderr) || Date.now() >= deadline) throw secretError(step, options, shown.stderr);
    options.log(`  Key Vault ${options.vault} refused access (role assignment still propagating?); retrying`);
    await new Promise((resolve) => setTimeout(resolve, options.retryIntervalMs));
  }
  // The value goes through a 0600 file, never through argv, where any local user could read it in `ps`.
  const dir = mkdtempSync(join(tmpdir(), 'mcp-continuity-key-'));
  const file = join(dir, 'value');
  try {
    writeFileSync(file, `${FIRST_KEY_ID}:${randomBytes(32).toString('base64url')}`, { mode: 0o600 });
    const set = ['keyvault', 'secret', 'set', '--vault-name', options.vault, '--name', options.secret, '--file', file, '--encoding', 'utf-8', '--output', 'none'];
    for (;;) {
      const created = await run('az', set);
      if (created.code === 0) return true;
      if (!FORBIDDEN.test(created.stderr) || Date.now() >= deadline) throw secretError(step, options, created.stderr);
      options.log(`  Key Vault ${options.vault} refused the write (role assignment still propagating?); retrying`);
      await new Promise((resolve) => setTimeout(resolve, options.retryIntervalMs));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function secretError(step: string, { vault, secret }: EnsureApiKeyOptions, stderr: string): StepError {
  return new StepError(
    step,
    `could not read or create secret ${secret} in Key Vault ${vault}: ${firstLines(stderr)}`,
    `If it says Forbidden, your "Key Vault Secrets Officer" role may still be propagating: wait a few minutes and run ` +
      `the deploy again. If the vault refuses your network (a private vault), set INFRA_OPERATOR_IPS=<your public IP> ` +
      `and run again. Or create the secret yourself (value "id:key"): ` +
      `az keyvault secret set --vault-name ${vault} --name ${secret} --file <file> --encoding utf-8`,
  );
}
