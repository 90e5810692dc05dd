// Decides where the Redis connection string comes from: REDIS_URL, else Key Vault (managed identity), else none.
import type { Config } from './config.js';

/** The one call we need from Key Vault; the production reader wraps `SecretClient`. */
export interface SecretReader {
  getSecret(name: string, options: { abortSignal: AbortSignal }): Promise<{ value?: string | undefined }>;
}

export type SecretReaderFactory = (vaultUrl: string, clientId: string | undefined) => SecretReader | Promise<SecretReader>;

export type RedisSource =
  | { readonly mode: 'redis'; readonly url: string; readonly source: 'REDIS_URL' | 'key-vault' }
  | { readonly mode: 'memory'; readonly reason: string; readonly warning: boolean };

/**
 * Production reader: a user-assigned managed identity when `AZURE_CLIENT_ID` is set (Container Apps),
 * otherwise the default chain (e.g. `az login` on a developer machine). Loaded lazily so memory mode
 * never pays for the Azure SDK.
 */
export const azureSecretReader: SecretReaderFactory = async (vaultUrl, clientId) => {
  const [{ SecretClient }, identity] = await Promise.all([import('@azure/keyvault-secrets'), import('@azure/identity')]);
  const credential = clientId ? new identity.ManagedIdentityCredential({ clientId }) : new identity.DefaultAzureCredential();
  return new SecretClient(vaultUrl, credential);
};

export async function resolveRedisSource(config: Pick<Config, 'redisUrl' | 'keyVault'>, readerFactory: SecretReaderFactory = azureSecretReader): Promise<RedisSource> {
  if (config.redisUrl) return { mode: 'redis', url: config.redisUrl, source: 'REDIS_URL' };
  const vault = config.keyVault;
  if (!vault) return { mode: 'memory', reason: 'neither REDIS_URL nor KEY_VAULT_URL is set', warning: false };

  // Retried until the deadline: on a first deploy the identity's role assignment can take a minute to
  // apply, and Key Vault answers 403 until it does. A missing secret (404) will not appear by waiting.
  const deadline = Date.now() + vault.timeoutMs;
  let lastError: unknown;
  let reader: Promise<SecretReader> | undefined;
  const getReader = () => (reader ??= Promise.resolve(readerFactory(vault.url, vault.clientId)));
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    try {
      const value = (await readWithin(getReader, vault, deadline - Date.now())).value?.trim();
      if (!value) return { mode: 'memory', reason: `Key Vault secret "${vault.secretName}" is empty`, warning: true };
      return { mode: 'redis', url: value, source: 'key-vault' };
    } catch (error) {
      lastError = error;
      if ((error as { statusCode?: number }).statusCode === 404) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 2000, Math.max(0, deadline - Date.now()))));
    }
  }
  // Azure SDK messages name the vault and the failure, never the secret's value (we do not have it).
  const why = lastError === undefined ? `no answer within ${vault.timeoutMs} ms` : firstLine(lastError);
  return { mode: 'memory', reason: `Key Vault secret "${vault.secretName}" could not be read from ${vault.url}: ${why}`, warning: true };
}

async function readWithin(getReader: () => Promise<SecretReader>, vault: NonNullable<Config['keyVault']>, ms: number): Promise<{ value?: string | undefined }> {
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`no answer within ${vault.timeoutMs} ms`));
    }, ms);
  });
  try {
    return await Promise.race([
      (async () => (await getReader()).getSecret(vault.secretName, { abortSignal: abort.signal }))(),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.slice(0, 300) ?? 'unknown error';
}
