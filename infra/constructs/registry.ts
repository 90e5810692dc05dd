// Optional Azure Container Registry the app pulls from with its managed identity (no admin user, no passwords).
import { Construct } from 'constructs';
import { ContainerRegistry } from '@cdktf/provider-azurerm/lib/container-registry/index.js';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment/index.js';

export interface RegistryProps {
  readonly name: string;
  readonly location: string;
  readonly resourceGroupName: string;
  /** principal_id of the identity that pulls images. */
  readonly pullPrincipalId: string;
  readonly tags: Readonly<Record<string, string>>;
}

export class Registry extends Construct {
  readonly registry: ContainerRegistry;
  /** AcrPull for the app identity; the Container App depends on it so the first pull is authorized. */
  readonly pullAssignment: RoleAssignment;

  constructor(scope: Construct, id: string, props: RegistryProps) {
    super(scope, id);
    this.registry = new ContainerRegistry(this, 'registry', {
      name: props.name,
      location: props.location,
      resourceGroupName: props.resourceGroupName,
      sku: 'Basic',
      adminEnabled: false,
      tags: { ...props.tags },
    });
    this.pullAssignment = new RoleAssignment(this, 'acr-pull', {
      scope: this.registry.id,
      roleDefinitionName: 'AcrPull',
      principalId: props.pullPrincipalId,
      // A just-created managed identity may not have replicated in Entra ID yet; the type skips the lookup.
      principalType: 'ServicePrincipal',
      skipServicePrincipalAadCheck: true,
    });
  }

  get loginServer(): string {
    return this.registry.loginServer;
  }
}
