// One environment of mcp-continuity on Azure: the constructs wired together, with the state backend and outputs.
import type { Construct } from 'constructs';
import { AzurermBackend, LocalBackend, TerraformOutput, TerraformStack, type ITerraformDependable } from 'cdktf';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider/index.js';
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config/index.js';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group/index.js';
import { requireImage, type StackConfig } from './config.js';
import { resourceNames, type ResourceNames } from './naming.js';
import { Monitoring } from './constructs/monitoring.js';
import { AppIdentity } from './constructs/identity.js';
import { SessionRedis } from './constructs/redis.js';
import { SecretVault } from './constructs/keyvault.js';
import { Registry } from './constructs/registry.js';
import { McpContainerApp } from './constructs/container-app.js';

/** A bare `name:tag` has no registry host: no `/`, or a first segment without `.`, `:` or `localhost`. */
function hasRegistryHost(image: string): boolean {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
}

export class McpContinuityStack extends TerraformStack {
  readonly config: StackConfig;
  readonly names: ResourceNames;
  readonly redis: SessionRedis;
  readonly vault: SecretVault;
  readonly identity: AppIdentity;
  readonly registry: Registry | undefined;
  readonly containerApp: McpContainerApp;

  constructor(scope: Construct, config: StackConfig) {
    super(scope, config.environment);
    this.config = config;
    const names = (this.names = resourceNames(config));
    const tags = config.tags;

    if (config.backend.kind === 'azurerm') {
      new AzurermBackend(this, {
        resourceGroupName: config.backend.resourceGroupName,
        storageAccountName: config.backend.storageAccountName,
        containerName: config.backend.containerName,
        key: `${config.project}/${config.environment}.tfstate`,
        useAzureadAuth: true,
      });
    } else {
      // cdktf's default local path is absolute (process.cwd()); a relative one keeps synth output
      // machine-independent. Terraform runs in cdktf.out/stacks/<env>, so this lands in the repo root.
      new LocalBackend(this, { path: `../../../terraform.${config.environment}.tfstate` });
    }

    new AzurermProvider(this, 'azurerm', {
      // Keep a deleted vault recoverable (purge protection forbids purging anyway) and recover it on redeploy.
      features: [{ keyVault: [{ purgeSoftDeleteOnDestroy: false, recoverSoftDeletedKeyVaults: true }] }],
    });
    const client = new DataAzurermClientConfig(this, 'client');
    const group = new ResourceGroup(this, 'resource-group', { name: names.resourceGroup, location: config.location, tags: { ...tags } });
    const common = { location: group.location, resourceGroupName: group.name, tags };

    const monitoring = new Monitoring(this, 'monitoring', { ...common, name: names.logAnalytics, retentionInDays: config.logRetentionDays });
    this.identity = new AppIdentity(this, 'identity', { ...common, name: names.identity });
    const principalId = this.identity.identity.principalId;

    this.redis = new SessionRedis(this, 'redis', {
      ...common,
      flavour: config.redis,
      name: names.redis,
      cacheSku: config.redisCacheSku,
      managedSku: config.managedRedisSku,
    });
    this.vault = new SecretVault(this, 'key-vault', {
      ...common,
      name: names.keyVault,
      tenantId: client.tenantId,
      deployerObjectId: client.objectId,
      readerPrincipalId: principalId,
      secretName: config.redisSecretName,
      secretValue: this.redis.connectionUrl,
      softDeleteRetentionDays: config.keyVaultRetentionDays,
    });

    const dependsOn: ITerraformDependable[] = [this.vault.readerAssignment];
    let image = requireImage(config);
    if (config.registry) {
      this.registry = new Registry(this, 'registry', { ...common, name: names.registry, pullPrincipalId: principalId });
      dependsOn.push(this.registry.pullAssignment);
      if (!hasRegistryHost(image)) image = `${this.registry.loginServer}/${image}`;
    }

    this.containerApp = new McpContainerApp(this, 'app', {
      ...common,
      environmentName: names.containerAppsEnvironment,
      appName: names.containerApp,
      logAnalyticsWorkspaceId: monitoring.workspace.id,
      image,
      registryServer: this.registry?.loginServer,
      identityId: this.identity.identity.id,
      identityClientId: this.identity.identity.clientId,
      keyVaultUri: this.vault.uri,
      redisSecretName: config.redisSecretName,
      keyPrefix: config.keyPrefix,
      port: config.appPort,
      cpu: config.cpu,
      memory: config.memory,
      minReplicas: config.minReplicas,
      maxReplicas: config.maxReplicas,
      concurrentRequests: config.concurrentRequests,
      dependsOn,
    });

    new TerraformOutput(this, 'mcp_endpoint', { value: `https://${this.containerApp.fqdn}/mcp`, description: 'MCP endpoint URL' });
    // `npm run deploy` polls /readyz on the revision it just rolled out, not on whichever revision the
    // public host still routes to.
    new TerraformOutput(this, 'latest_revision_fqdn', { value: this.containerApp.app.latestRevisionFqdn, description: 'Host name of the newest revision' });
    new TerraformOutput(this, 'latest_revision_name', { value: this.containerApp.app.latestRevisionName, description: 'Name of the newest revision' });
    new TerraformOutput(this, 'key_vault_uri', { value: this.vault.uri, description: 'Key Vault holding the Redis URL' });
    new TerraformOutput(this, 'redis_host', { value: this.redis.host, description: 'Redis host name (TLS only)' });
    if (this.registry) {
      new TerraformOutput(this, 'registry_login_server', { value: this.registry.loginServer, description: 'Push the image here' });
    }
  }
}
