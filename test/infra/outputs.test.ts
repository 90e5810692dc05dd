// Terraform outputs carry names, URLs and ids only: no secret reaches `cdktf output` or a CI log.
import { describe, expect, it } from 'vitest';
import { oauthSettings } from '../../infra/security-config.js';
import { synth, variant, type Json } from './helpers.js';

/** Attributes that hold secrets in the azurerm/azuread resources this stack uses, plus whole secret resources. */
const SECRET_REFERENCE = /access_key|connection_string|password|client_secret|\.value\b|azurerm_key_vault_secret\.|azuread_application_password/;

/** Every `${…}` expression in an output value that reads a secret. */
function secretReferences(value: unknown): string[] {
  const text = JSON.stringify(value);
  return [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!).filter((expr) => SECRET_REFERENCE.test(expr));
}

const variants = {
  'dev (key, public)': variant('dev'),
  'prod (key, private, managed Redis, registry)': variant('prod', { redis: 'managed', registry: true, image: 'mcp-continuity:0.1.0' }),
  'prod (oauth)': variant('prod', { auth: 'oauth', oauth: oauthSettings('mcp.contoso.com') }),
};

describe('Terraform outputs', () => {
  for (const [name, config] of Object.entries(variants)) {
    const outputs = Object.entries(synth(config).output as Record<string, Json>);

    it(`read no secret attribute in ${name}`, () => {
      const offenders = outputs.filter(([, output]) => secretReferences(output.value).length > 0).map(([key]) => key);
      expect(offenders).toEqual([]);
    });

    it(`hold no literal key or password in ${name}`, () => {
      for (const [, output] of outputs) expect(JSON.stringify(output.value)).not.toMatch(/password=|rediss?:\/\/:/);
    });
  }

  it('tell how to read the API keys instead of printing them', () => {
    const output = synth(variant('prod')).output.api_keys_show_command.value as string;
    expect(output).toMatch(/^az keyvault secret show --vault-name kv-mcpc-prod-[0-9a-f]{6} --name mcp-api-keys --query value -o tsv$/);
  });

  it('would catch an output that reads the Redis key or the Redis secret', () => {
    expect(secretReferences('rediss://:${urlencode(azurerm_redis_cache.redis.primary_access_key)}@host')).toHaveLength(1);
    expect(secretReferences('${azurerm_key_vault_secret.key-vault_redis-url.value}')).toHaveLength(1);
    expect(secretReferences('${azurerm_key_vault.key-vault.vault_uri}')).toEqual([]);
  });
});
