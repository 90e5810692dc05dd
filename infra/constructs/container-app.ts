// Container Apps environment and the MCP server app: identity, env, HTTPS ingress, probes, scaling.
import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { ContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/container-app-environment/index.js';
import { ContainerApp } from '@cdktf/provider-azurerm/lib/container-app/index.js';
import { ENV } from '../../app/config.js';

export interface McpContainerAppProps {
  readonly environmentName: string;
  readonly appName: string;
  readonly location: string;
  readonly resourceGroupName: string;
  readonly logAnalyticsWorkspaceId: string;
  readonly image: string;
  /** Login server to pull from with the identity; absent for a public image. */
  readonly registryServer: string | undefined;
  readonly identityId: string;
  readonly identityClientId: string;
  readonly keyVaultUri: string;
  readonly redisSecretName: string;
  readonly keyPrefix: string;
  readonly port: number;
  readonly cpu: number;
  readonly memory: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly concurrentRequests: number;
  /** Role assignments that must exist before the first revision starts. */
  readonly dependsOn: ITerraformDependable[];
  readonly tags: Readonly<Record<string, string>>;
}

export class McpContainerApp extends Construct {
  readonly environment: ContainerAppEnvironment;
  readonly app: ContainerApp;
  /** Public host name of the app. */
  readonly fqdn: string;

  constructor(scope: Construct, id: string, props: McpContainerAppProps) {
    super(scope, id);
    this.environment = new ContainerAppEnvironment(this, 'environment', {
      name: props.environmentName,
      location: props.location,
      resourceGroupName: props.resourceGroupName,
      logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
      tags: { ...props.tags },
    });
    // The app cannot reference its own ingress FQDN (a cycle), but Azure builds it from the app name
    // and the environment's default domain, which is known before the app exists.
    const publicHost = `${props.appName}.${this.environment.defaultDomain}`;
    const probe = { transport: 'HTTP', port: props.port };
    this.app = new ContainerApp(this, 'app', {
      name: props.appName,
      resourceGroupName: props.resourceGroupName,
      containerAppEnvironmentId: this.environment.id,
      // One active revision: a deploy replaces replicas, and the sessions move over through Redis.
      revisionMode: 'Single',
      identity: { type: 'UserAssigned', identityIds: [props.identityId] },
      registry: props.registryServer ? [{ server: props.registryServer, identity: props.identityId }] : undefined,
      ingress: {
        externalEnabled: true,
        allowInsecureConnections: false,
        targetPort: props.port,
        transport: 'http',
        trafficWeight: [{ latestRevision: true, percentage: 100 }],
      },
      template: {
        minReplicas: props.minReplicas,
        maxReplicas: props.maxReplicas,
        httpScaleRule: [{ name: 'http-concurrency', concurrentRequests: String(props.concurrentRequests) }],
        container: [
          {
            name: 'mcp',
            image: props.image,
            cpu: props.cpu,
            memory: props.memory,
            env: [
              { name: ENV.keyVaultUrl, value: props.keyVaultUri },
              { name: ENV.redisSecretName, value: props.redisSecretName },
              // DefaultAzureCredential picks the user-assigned identity by this client id.
              { name: ENV.azureClientId, value: props.identityClientId },
              { name: ENV.keyPrefix, value: props.keyPrefix },
              { name: ENV.allowedHosts, value: publicHost },
              { name: ENV.host, value: '0.0.0.0' },
              { name: ENV.port, value: String(props.port) },
            ],
            livenessProbe: [{ ...probe, path: '/healthz' }],
            readinessProbe: [{ ...probe, path: '/readyz' }],
          },
        ],
      },
      dependsOn: props.dependsOn,
      tags: { ...props.tags },
    });
    this.fqdn = this.app.ingress.fqdn;
  }
}
