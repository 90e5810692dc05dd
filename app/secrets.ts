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

  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      abort.abort();
      reject(new Error(`no answer within ${vault.timeoutMs} ms`));
    }, vault.timeoutMs);
  });
  try {
    const secret = await Promise.race([
      (async () => (await readerFactory(vault.url, vault.clientId)).getSecret(vault.secretName, { abortSignal: abort.signal }))(),
      timeout,
    ]);
    const value = secret.value?.trim();
    if (!value) return { mode: 'memory', reason: `Key Vault secret "${vault.secretName}" is empty`, warning: true };
    return { mode: 'redis', url: value, source: 'key-vault' };
  } catch (error) {
    // Azure SDK messages name the vault and the failure, never the secret's value (we do not have it).
    return { mode: 'memory', reason: `Key Vault secret "${vault.secretName}" could not be read from ${vault.url}: ${firstLine(error)}`, warning: true };
  } finally {
    clearTimeout(timer);
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.slice(0, 300) ?? 'unknown error';
}
