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
import { McpContainerApp, type AppAuth } from './constructs/container-app.js';
import { PrivateNetwork } from './constructs/network.js';
import { EntraApp } from './constructs/entra-app.js';
import { stableUuid } from './naming.js';
import { AppInsights } from './constructs/app-insights.js';
import { Alerts } from './constructs/alerts.js';
import { Workbook } from './constructs/workbook.js';

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
  readonly network: PrivateNetwork | undefined;
  readonly entraApp: EntraApp | undefined;
  readonly appInsights: AppInsights;
  readonly alerts: Alerts;

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
    this.appInsights = new AppInsights(this, 'app-insights', { ...common, name: `appi-${names.containerApp}`, workspaceId: monitoring.workspace.id });
    this.identity = new AppIdentity(this, 'identity', { ...common, name: names.identity });
    const principalId = this.identity.identity.principalId;
    const isPrivate = config.network === 'private';
    this.network = isPrivate
      ? new PrivateNetwork(this, 'network', { ...common, name: names.virtualNetwork, addresses: config.networkAddresses })
      : undefined;

    this.redis = new SessionRedis(this, 'redis', {
      ...common,
      flavour: config.redis,
      name: names.redis,
      cacheSku: config.redisCacheSku,
      managedSku: config.managedRedisSku,
      clustering: config.managedRedisClustering,
      publicNetworkAccess: !isPrivate,
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
      apiKeysSecretName: config.auth === 'key' ? config.apiKeysSecretName : undefined,
      network: config.network,
      operatorIpRanges: config.operatorIpRanges,
    });

    const dependsOn: ITerraformDependable[] = [this.vault.readerAssignment, this.vault.requestStateReaderAssignment];
    if (this.vault.apiKeysReaderAssignment) dependsOn.push(this.vault.apiKeysReaderAssignment);
    if (this.network) {
      this.network.connect('key-vault', 'keyVault', { name: names.keyVault, resourceId: this.vault.vault.id });
      this.network.connect('redis', config.redis === 'cache' ? 'redisCache' : 'managedRedis', { name: names.redis, resourceId: this.redis.resource.id });
      // The first revision reads Key Vault at start-up: its private endpoint and DNS record must exist by then.
      dependsOn.push(...this.network.endpoints);
    }

    this.entraApp = config.oauth
      ? new EntraApp(this, 'entra', {
          displayName: names.entraApp,
          customDomain: config.oauth.customDomain,
          scope: config.oauth.scope,
          scopeId: stableUuid(config.project, config.environment, config.nameSeed, 'scope', config.oauth.scope),
          preAuthorizedClientIds: config.oauth.preAuthorizedClientIds,
        })
      : undefined;
    const auth = this.appAuth();
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
      requestStateSecretId: this.vault.requestStateSecret.versionlessId,
      redisCluster: this.redis.clustered,
      keyPrefix: config.keyPrefix,
      port: config.appPort,
      cpu: config.cpu,
      memory: config.memory,
      minReplicas: config.minReplicas,
      maxReplicas: config.maxReplicas,
      concurrentRequests: config.concurrentRequests,
      auth,
      infrastructureSubnetId: this.network?.appsSubnet.id,
      ingressAllowedCidrs: config.ingressAllowedCidrs,
      telemetryConnectionString: this.appInsights.connectionString,
      dependsOn,
    });
    const alerting = { ...common, prefix: names.containerApp, appInsightsId: this.appInsights.component.id };
    this.alerts = new Alerts(this, 'alerts', { ...alerting, redisId: this.redis.resource.id, redisFlavour: config.redis, containerAppId: this.containerApp.app.id, email: config.alertEmail });
    new Workbook(this, 'workbook', { ...alerting, name: stableUuid(config.project, config.environment, config.nameSeed, 'workbook'), displayName: `${names.containerApp}: on call` });
    this.outputs();
  }

  /** What the server's auth needs, from the config and the resources made for it. */
  private appAuth(): AppAuth {
    if (this.config.auth === 'key') return { mode: 'key', apiKeysSecretId: this.vault.apiKeysSecretId! };
    if (this.config.auth === 'none') return { mode: 'none' };
    const entra = this.entraApp!;
    return {
      mode: 'oauth',
      issuer: entra.issuer,
      audience: entra.clientId,
      // The server checks the token's `scp`, which holds the bare scope value, not the full URI.
      // Clients copy the 401's scope into their token request, and Entra needs the full name of an API's
      // scope; the token's `scp` carries the short one, which the server accepts for it.
      requiredScopes: `https://${this.config.oauth!.customDomain}/${this.config.oauth!.scope}`,
      customDomain: this.config.oauth!.customDomain,
    };
  }

  /** Outputs hold names, URLs and ids only; every secret stays in Key Vault (test/infra/outputs.test.ts). */
  private outputs(): void {
    const { config, names } = this;
    const endpoint = config.oauth ? `https://${config.oauth.customDomain}/mcp` : `https://${this.containerApp.fqdn}/mcp`;

    new TerraformOutput(this, 'mcp_endpoint', { value: endpoint, description: 'MCP endpoint URL' });
    // `npm run deploy` polls /readyz on the revision it just rolled out, not on whichever revision the
    // public host still routes to.
    new TerraformOutput(this, 'latest_revision_fqdn', { value: this.containerApp.app.latestRevisionFqdn, description: 'Host name of the newest revision' });
    new TerraformOutput(this, 'latest_revision_name', { value: this.containerApp.app.latestRevisionName, description: 'Name of the newest revision' });
    new TerraformOutput(this, 'app_fqdn', { value: this.containerApp.fqdn, description: 'Azure host name of the app (CNAME target of a custom domain)' });
    new TerraformOutput(this, 'custom_domain_verification_id', {
      value: this.containerApp.environment.customDomainVerificationId,
      description: 'Value of the asuid.<host> TXT record that proves a custom domain is yours (public by design)',
    });
    if (config.auth === 'key') {
      new TerraformOutput(this, 'api_keys_show_command', {
        value: `az keyvault secret show --vault-name ${names.keyVault} --name ${config.apiKeysSecretName} --query value -o tsv`,
        description: 'Prints the API keys (id:key,...); the value itself is never a Terraform output',
      });
    }
    if (this.entraApp) {
      new TerraformOutput(this, 'oauth_client_id', { value: this.entraApp.clientId, description: 'Client id of the API app registration (token audience)' });
      new TerraformOutput(this, 'oauth_scope', { value: this.entraApp.fullScope, description: 'Scope a client requests from Entra ID' });
      new TerraformOutput(this, 'oauth_issuer', { value: this.entraApp.issuer, description: 'Token issuer' });
    }
    new TerraformOutput(this, 'key_vault_uri', { value: this.vault.uri, description: 'Key Vault holding the Redis URL' });
    new TerraformOutput(this, 'redis_host', { value: this.redis.host, description: 'Redis host name (TLS only)' });
    if (this.registry) {
      new TerraformOutput(this, 'registry_login_server', { value: this.registry.loginServer, description: 'Push the image here' });
    }
  }
}
