// Guarantees of the Key Vault: RBAC, recoverability, a secret built from Redis, least-privilege reads.
import { describe, expect, it } from 'vitest';
import { findBy, only, ref, synth, variant, where } from './helpers.js';

const json = synth(variant('dev'));
const vault = only(json, 'azurerm_key_vault');
const secret = only(json, 'azurerm_key_vault_secret');
const identity = only(json, 'azurerm_user_assigned_identity');

describe('Key Vault', () => {
  it('authorizes with Azure RBAC rather than access policies', () => {
    expect(vault.body.rbac_authorization_enabled).toBe(true);
    expect(vault.body.access_policy).toBeUndefined();
  });

  it('has purge protection and a soft-delete retention', () => {
    expect(vault.body.purge_protection_enabled).toBe(true);
    expect(vault.body.soft_delete_retention_days).toBeGreaterThanOrEqual(7);
  });
});

describe('the Redis secret', () => {
  it('is a rediss:// URL built from the cache key, host and TLS port', () => {
    const redis = only(json, 'azurerm_redis_cache').address;
    expect(secret.body.value).toBe(
      `rediss://:\${urlencode(${redis}.primary_access_key)}@${ref(redis, 'hostname')}:\${tostring(${redis}.ssl_port)}`,
    );
  });

  it('is built from the Managed Redis default database when that flavour is chosen', () => {
    const managedJson = synth(variant('dev', { redis: 'managed' }));
    const redis = only(managedJson, 'azurerm_managed_redis').address;
    expect(only(managedJson, 'azurerm_key_vault_secret').body.value).toBe(
      `rediss://:\${urlencode(${redis}.default_database[0].primary_access_key)}@${ref(redis, 'hostname')}:\${tostring(${redis}.default_database[0].port)}`,
    );
  });

  it('is written only after the deploying principal holds Key Vault Secrets Officer on the vault', () => {
    const officer = findBy(json, 'azurerm_role_assignment', 'role_definition_name', 'Key Vault Secrets Officer');
    expect(officer.body.principal_id).toBe('${data.azurerm_client_config.client.object_id}');
    expect(officer.body.scope).toBe(ref(vault.address, 'id'));
    expect(secret.body.depends_on).toContain(officer.address);
  });
});

describe('the app identity role assignments', () => {
  const [reader] = where(json, 'azurerm_role_assignment', (b) => b.scope === ref(secret.address, 'resource_versionless_id'));

  it('give the app identity Key Vault Secrets User on the Redis secret', () => {
    expect(reader!.body.role_definition_name).toBe('Key Vault Secrets User');
    expect(reader!.body.principal_id).toBe(ref(identity.address, 'principal_id'));
  });

  it('are scoped to the two secrets it reads, never to the whole vault', () => {
    const appRoles = where(json, 'azurerm_role_assignment', (b) => b.principal_id === ref(identity.address, 'principal_id'));
    expect(appRoles.map((r) => r.body.scope).sort()).toEqual(
      [ref(secret.address, 'resource_versionless_id'), `${ref(vault.address, 'id')}/secrets/mcp-api-keys`].sort(),
    );
  });
});
