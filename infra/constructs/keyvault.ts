// Key Vault (RBAC, soft delete, purge protection) holding the Redis URL, readable only by the app identity.
import { Construct } from 'constructs';
import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault/index.js';
import { KeyVaultSecret } from '@cdktf/provider-azurerm/lib/key-vault-secret/index.js';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment/index.js';

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
  readonly tags: Readonly<Record<string, string>>;
}

export class SecretVault extends Construct {
  readonly vault: KeyVault;
  readonly deployerAssignment: RoleAssignment;
  readonly secret: KeyVaultSecret;
  /** The app's read access; the Container App depends on it so the first revision can read the secret. */
  readonly readerAssignment: RoleAssignment;

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
  }

  get uri(): string {
    return this.vault.vaultUri;
  }
}
