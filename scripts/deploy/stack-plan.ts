// Reads a synthesized stack (cdktf.out/stacks/<env>/cdk.tf.json): the names the deploy needs and the base targets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Resources = Record<string, Record<string, { name?: string; scope?: string }>>;

interface AppBody {
  template?: { container?: Array<{ image?: string; env?: Array<{ name: string; value?: string; secret_name?: string }> }> };
  secret?: Array<{ name: string; key_vault_secret_id?: string }>;
}

export interface StackPlan {
  readonly dir: string;
  readonly resourceGroup: string;
  readonly registry: string;
  readonly keyVault: string;
  readonly containerApp: string;
  /** The image the Container App is synthesized with, as Terraform sees it (with the registry interpolation). */
  readonly image: string;
  /** The app's `AUTH_MODE` (`none` when the stack sets none). */
  readonly authMode: string;
  /** Key mode: the vault secret the app's `MCP_API_KEYS` references, which must exist before the app. */
  readonly apiKeysSecret: string | undefined;
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
  const body = app.body as AppBody;
  const container = body.template?.container?.[0];
  const env = (name: string) => container?.env?.find((e) => e.name === name);
  // MCP_API_KEYS -> the app secret it names -> the Key Vault secret that one references.
  const keysRef = body.secret?.find((secret) => secret.name === env('MCP_API_KEYS')?.secret_name)?.key_vault_secret_id;
  return {
    dir,
    resourceGroup: group.name,
    registry: registry.name,
    keyVault: vault.name,
    containerApp: app.name,
    image: container?.image ?? '',
    authMode: env('AUTH_MODE')?.value ?? 'none',
    apiKeysSecret: keysRef ? /secrets\/([^/]+)\/?$/.exec(keysRef)?.[1] : undefined,
    baseTargets: [group.address, identity.address, registry.address, vault.address, ...roles],
  };
}
