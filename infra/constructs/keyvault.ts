// Key Vault (RBAC, soft delete, purge protection, firewall) holding the Redis URL and API keys, read by the app identity only.
import { Construct } from 'constructs';
import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault/index.js';
import { KeyVaultSecret } from '@cdktf/provider-azurerm/lib/key-vault-secret/index.js';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment/index.js';
import type { NetworkMode } from '../security-config.js';

export interface SecretVaultProps {
  readonly name: string;
  readonly location: string;
  readonly resourceGroupName: string;
  readonly tenantId: string;
  /** object_id of whoever runs `cdktf deploy`; it needs to write the secret. */
  readonly deployerObjectId: string;
  /** principal_id of the app's managed identity; it may read the one secret. */
  readonly readerPrincipalId: string;
  readonly secretName: string;
  /** Secret value (the Redis URL); it is also kept in Terraform state, so protect the state. */
  readonly secretValue: string;
  readonly softDeleteRetentionDays: number;
  /**
   * Name of the API-keys secret the app reads in key mode, or undefined when auth is not `key`. Its value
   * is set outside Terraform (`az keyvault secret set`), so no key is ever in Terraform config or state.
   */
  readonly apiKeysSecretName: string | undefined;
  /**
   * `private`: the firewall denies by default and admits only `operatorIpRanges` (or, when that is empty,
   * the public endpoint is off); the app reaches the vault through its private endpoint.
   */
  readonly network: NetworkMode;
  readonly operatorIpRanges: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

export class SecretVault extends Construct {
  readonly vault: KeyVault;
  readonly deployerAssignment: RoleAssignment;
  readonly secret: KeyVaultSecret;
  /** The app's read access; the Container App depends on it so the first revision can read the secret. */
  readonly readerAssignment: RoleAssignment;
  /** The app's read access to the API-keys secret (key mode only). */
  readonly apiKeysReaderAssignment: RoleAssignment | undefined;
  /** Versionless URL of the API-keys secret, the form a Container App Key Vault reference takes (key mode only). */
  readonly apiKeysSecretId: string | undefined;

  constructor(scope: Construct, id: string, props: SecretVaultProps) {
    super(scope, id);
    this.vault = new KeyVault(this, 'vault', {
      name: props.name,
      location: props.location,
      resourceGroupName: props.resourceGroupName,
      tenantId: props.tenantId,
      skuName: 'standard',
      // Azure RBAC instead of access policies: role assignments can be scoped to a single secret.
      // `rbac_authorization_enabled` replaces the deprecated `enable_rbac_authorization` in azurerm 4.x.
      rbacAuthorizationEnabled: true,
      // Soft delete is always on in Azure now; retention and purge protection make a deletion recoverable.
      softDeleteRetentionDays: props.softDeleteRetentionDays,
      purgeProtectionEnabled: true,
      ...vaultNetwork(props.network, props.operatorIpRanges),
      tags: { ...props.tags },
    });
    this.deployerAssignment = new RoleAssignment(this, 'deployer-secrets-officer', {
      scope: this.vault.id,
      roleDefinitionName: 'Key Vault Secrets Officer',
      principalId: props.deployerObjectId,
    });
    this.secret = new KeyVaultSecret(this, 'redis-url', {
      name: props.secretName,
      keyVaultId: this.vault.id,
      value: props.secretValue,
      contentType: 'text/uri-list',
      // With RBAC the data-plane write is refused until the deployer's role exists.
      dependsOn: [this.deployerAssignment],
    });
    this.readerAssignment = new RoleAssignment(this, 'app-secrets-user', {
      // The versionless secret id is the narrowest scope Azure RBAC accepts, and survives secret rotation.
      scope: this.secret.resourceVersionlessId,
      roleDefinitionName: 'Key Vault Secrets User',
      principalId: props.readerPrincipalId,
      principalType: 'ServicePrincipal',
      skipServicePrincipalAadCheck: true,
    });
    if (props.apiKeysSecretName === undefined) {
      this.apiKeysReaderAssignment = undefined;
      this.apiKeysSecretId = undefined;
    } else {
      // The secret is not a Terraform resource, so its scope is spelled out. Azure needs the secret to exist
      // before this assignment and the Container App are created: `npm run deploy` creates it after the base.
      this.apiKeysReaderAssignment = new RoleAssignment(this, 'app-api-keys-user', {
        scope: `${this.vault.id}/secrets/${props.apiKeysSecretName}`,
        roleDefinitionName: 'Key Vault Secrets User',
        principalId: props.readerPrincipalId,
        principalType: 'ServicePrincipal',
        skipServicePrincipalAadCheck: true,
      });
      // vault_uri ends with "/". No version segment: the app picks up a new secret version (a rotated key).
      this.apiKeysSecretId = `${this.vault.vaultUri}secrets/${props.apiKeysSecretName}`;
    }
  }

  get uri(): string {
    return this.vault.vaultUri;
  }
}

/** Key Vault firewall settings per network mode. */
function vaultNetwork(mode: NetworkMode, operatorIpRanges: readonly string[]) {
  if (mode === 'public') {
    return { publicNetworkAccessEnabled: true, networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' } };
  }
  return {
    // Without operator ranges nobody outside the VNet needs the public endpoint, so it is off altogether.
    publicNetworkAccessEnabled: operatorIpRanges.length > 0,
    networkAcls: { defaultAction: 'Deny', bypass: 'AzureServices', ipRules: [...operatorIpRanges] },
  };
}
