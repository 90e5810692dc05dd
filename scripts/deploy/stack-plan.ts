// Reads a synthesized stack (cdktf.out/stacks/<env>/cdk.tf.json): the names the deploy needs and the base targets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Resources = Record<string, Record<string, { name?: string; scope?: string }>>;

export interface StackPlan {
  readonly dir: string;
  readonly resourceGroup: string;
  readonly registry: string;
  readonly keyVault: string;
  readonly containerApp: string;
  /** The image the Container App is synthesized with, as Terraform sees it (with the registry interpolation). */
  readonly image: string;
  /**
   * `-target` addresses of the base: resource group, identity, registry, Key Vault and the role
   * assignments on the registry and the vault. Terraform adds their dependencies; Redis (slow) and the
   * Container App (needs the image) are left for the full apply.
   */
  readonly baseTargets: readonly string[];
}

/** Reads the plan; throws with the missing piece named if the stack lacks the registry the deploy builds into. */
export function readStackPlan(dir: string): StackPlan {
  const json = JSON.parse(readFileSync(join(dir, 'cdk.tf.json'), 'utf8')) as { resource?: Resources };
  const resources = json.resource ?? {};
  const single = (type: string) => {
    const entries = Object.entries(resources[type] ?? {});
    if (entries.length !== 1) throw new Error(`expected one ${type} in ${dir}/cdk.tf.json, found ${entries.length}`);
    const [id, body] = entries[0]!;
    return { address: `${type}.${id}`, name: body.name ?? '', body };
  };
  const group = single('azurerm_resource_group');
  const identity = single('azurerm_user_assigned_identity');
  const registry = single('azurerm_container_registry');
  const vault = single('azurerm_key_vault');
  const app = single('azurerm_container_app');
  // Only assignments scoped to the whole registry or vault: one scoped to a secret needs that secret first.
  const wholeScopes = new Set([`\${${registry.address}.id}`, `\${${vault.address}.id}`]);
  const roles = Object.entries(resources.azurerm_role_assignment ?? {})
    .filter(([, body]) => body.scope !== undefined && wholeScopes.has(body.scope))
    .map(([id]) => `azurerm_role_assignment.${id}`);
  const container = (app.body as { template?: { container?: Array<{ image?: string }> } }).template?.container?.[0];
  return {
    dir,
    resourceGroup: group.name,
    registry: registry.name,
    keyVault: vault.name,
    containerApp: app.name,
    image: container?.image ?? '',
    baseTargets: [group.address, identity.address, registry.address, vault.address, ...roles],
  };
}
