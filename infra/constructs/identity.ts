// The app's user-assigned managed identity: it reads the Redis secret and pulls the image, nothing else.
import { Construct } from 'constructs';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity/index.js';

export interface AppIdentityProps {
  readonly name: string;
  readonly location: string;
  readonly resourceGroupName: string;
  readonly tags: Readonly<Record<string, string>>;
}

export class AppIdentity extends Construct {
  /**
   * User-assigned rather than system-assigned: it exists before the Container App, so its role
   * assignments can be in place before the first revision starts and asks Key Vault for the secret.
   */
  readonly identity: UserAssignedIdentity;

  constructor(scope: Construct, id: string, props: AppIdentityProps) {
    super(scope, id);
    this.identity = new UserAssignedIdentity(this, 'identity', {
      name: props.name,
      location: props.location,
      resourceGroupName: props.resourceGroupName,
      tags: { ...props.tags },
    });
  }
}
