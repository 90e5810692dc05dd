// Container Apps environment and the MCP server app: identity, env, auth settings, HTTPS ingress, probes, scaling.
import { Construct } from 'constructs';
import type { ITerraformDependable } from 'cdktf';
import { ContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/container-app-environment/index.js';
import { ContainerApp, type ContainerAppTemplateContainerEnv } from '@cdktf/provider-azurerm/lib/container-app/index.js';
import { ContainerAppCustomDomain } from '@cdktf/provider-azurerm/lib/container-app-custom-domain/index.js';
import { ENV } from '../../app/config.js';

/** What the server's auth needs from the platform, per `AUTH_MODE`. */
export type AppAuth =
  | {
      readonly mode: 'key';
      /** Versionless Key Vault secret URL holding `id:key[,id:key]`; read by the platform with the app identity. */
      readonly apiKeysSecretId: string;
    }
  | {
      readonly mode: 'oauth';
      readonly issuer: string;
      readonly audience: string;
      /** Scopes the token's `scp` must hold, space-separated. */
      readonly requiredScopes: string;
      /** Host name bound to the app (managed certificate); the public URL is `https://<customDomain>/mcp`. */
      readonly customDomain: string;
    }
  | { readonly mode: 'none' };

/** Name of the Container App secret that carries the API keys; the env var refers to it by this name. */
export const API_KEYS_APP_SECRET = 'mcp-api-keys';
/** Name of the Container App secret that carries the fleet's requestState key (MCP_REQUEST_STATE_KEY). */
export const REQUEST_STATE_APP_SECRET = 'mcp-request-state-key';

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
  /** Versionless Key Vault secret URL of the requestState key every replica shares (input_required rounds on any replica). */
  readonly requestStateSecretId: string;
  /** The Redis endpoint is an OSS-protocol cluster node: the app gets `REDIS_CLUSTER=true`. */
  readonly redisCluster: boolean;
  readonly keyPrefix: string;
  readonly port: number;
  readonly cpu: number;
  readonly memory: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly concurrentRequests: number;
  readonly auth: AppAuth;
  /**
   * Subnet of a VNet-integrated environment (`network: 'private'`), so the app reaches Redis and Key Vault
   * through their private endpoints; undefined for the platform-managed network.
   */
  readonly infrastructureSubnetId: string | undefined;
  /** If non-empty, ingress admits only these IPv4 CIDR ranges. */
  readonly ingressAllowedCidrs: readonly string[];
  /** Application Insights connection string: passed as a Container App secret, never a plain env value. */
  readonly telemetryConnectionString?: string | undefined;
  /** Role assignments that must exist before the first revision starts. */
  readonly dependsOn: ITerraformDependable[];
  readonly tags: Readonly<Record<string, string>>;
}

export class McpContainerApp extends Construct {
  readonly environment: ContainerAppEnvironment;
  readonly app: ContainerApp;
  /** Public host name of the app. */
  readonly fqdn: string;
  /** The OAuth custom domain binding, with an Azure-managed certificate. */
  readonly customDomain: ContainerAppCustomDomain | undefined;

  constructor(scope: Construct, id: string, props: McpContainerAppProps) {
    super(scope, id);
    this.environment = new ContainerAppEnvironment(this, 'environment', {
      name: props.environmentName,
      location: props.location,
      resourceGroupName: props.resourceGroupName,
      logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
      ...(props.infrastructureSubnetId
        ? {
            infrastructureSubnetId: props.infrastructureSubnetId,
            // A workload-profiles environment: it takes a /27 subnet (consumption-only needs a /23) and its
            // Consumption profile bills like the consumption-only plan.
            workloadProfile: [{ name: CONSUMPTION, workloadProfileType: CONSUMPTION }],
          }
        : {}),
      tags: { ...props.tags },
    });
    // The app cannot reference its own ingress FQDN (a cycle), but Azure builds it from the app name
    // and the environment's default domain, which is known before the app exists.
    const publicHost = `${props.appName}.${this.environment.defaultDomain}`;
    const probe = { transport: 'HTTP', port: props.port };
    const auth = authSettings(props.auth, props.identityId);
    const telemetry = telemetrySettings(props.telemetryConnectionString);
    // A Key Vault reference like the API keys: the value never appears in the app's configuration.
    auth.secrets.push({ name: REQUEST_STATE_APP_SECRET, keyVaultSecretId: props.requestStateSecretId, identity: props.identityId });
    auth.env.push({ name: ENV.requestStateKey, secretName: REQUEST_STATE_APP_SECRET });
    const allowedHosts = props.auth.mode === 'oauth' ? `${publicHost},${props.auth.customDomain}` : publicHost;
    this.app = new ContainerApp(this, 'app', {
      name: props.appName,
      resourceGroupName: props.resourceGroupName,
      containerAppEnvironmentId: this.environment.id,
      // One active revision: a deploy replaces replicas, and the sessions move over through Redis.
      revisionMode: 'Single',
      identity: { type: 'UserAssigned', identityIds: [props.identityId] },
      registry: props.registryServer ? [{ server: props.registryServer, identity: props.identityId }] : undefined,
      workloadProfileName: props.infrastructureSubnetId ? CONSUMPTION : undefined,
      secret: auth.secrets.length + telemetry.secrets.length > 0 ? [...auth.secrets, ...telemetry.secrets] : undefined,
      ingress: {
        externalEnabled: true,
        allowInsecureConnections: false,
        targetPort: props.port,
        transport: 'http',
        trafficWeight: [{ latestRevision: true, percentage: 100 }],
        // Allow rules only: Container Apps then denies every other address.
        ipSecurityRestriction:
          props.ingressAllowedCidrs.length > 0
            ? props.ingressAllowedCidrs.map((range, i) => ({ name: `allow-${i + 1}`, action: 'Allow', ipAddressRange: range }))
            : undefined,
      },
      template: {
        // Set, not left to the platform default (30 s): the server's drain (DRAIN_DELAY 15 s, then up to
        // DRAIN_TIMEOUT 20 s for calls in flight, then closing) must end before SIGKILL.
        terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
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
              // The client follows the database's clustering policy (a plain client on OSSCluster gets MOVED).
              ...(props.redisCluster ? [{ name: ENV.redisCluster, value: 'true' }] : []),
              // DefaultAzureCredential picks the user-assigned identity by this client id.
              { name: ENV.azureClientId, value: props.identityClientId },
              { name: ENV.keyPrefix, value: props.keyPrefix },
              { name: ENV.allowedHosts, value: allowedHosts },
              { name: ENV.host, value: '0.0.0.0' },
              { name: ENV.port, value: String(props.port) },
              // The ingress is the one proxy in front: the client address is the last X-Forwarded-For hop.
              { name: ENV.trustProxy, value: 'true' },
              // V8 sizes its heap from what it can see and collects lazily below that: hold it to the replica.
              { name: NODE_OPTIONS, value: `--max-old-space-size=${heapCapMiB(props.memory)}` },
              ...auth.env,
              ...telemetry.env,
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
    this.customDomain =
      props.auth.mode === 'oauth'
        ? new ContainerAppCustomDomain(this, 'custom-domain', {
            name: props.auth.customDomain,
            containerAppId: this.app.id,
            // No certificate id: Azure issues and renews a managed certificate once the DNS records verify.
            // It binds it asynchronously, so these two change outside Terraform (the provider's documented pattern).
            lifecycle: { ignoreChanges: ['certificate_binding_type', 'container_app_environment_certificate_id'] },
          })
        : undefined;
  }
}

const CONSUMPTION = 'Consumption';

/** Read by node itself, not by the server: flags for every `node` the container starts. */
export const NODE_OPTIONS = 'NODE_OPTIONS';

/**
 * V8's old-space cap for a replica of `memory` (`0.5Gi`, `1Gi`, `512Mi`): 60% of it, the rest for
 * buffers, sockets, code and the young generation (10,000 live sessions need ~200 MB of heap).
 */
export function heapCapMiB(memory: string): number {
  const match = /^(\d+(?:\.\d+)?)(Gi|Mi)$/.exec(memory);
  if (!match) throw new Error(`Container memory "${memory}" is not a size like 0.5Gi or 512Mi: set it in infra/config.ts.`);
  const mib = Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
  return Math.floor(mib * 0.6);
}

/** Seconds between SIGTERM and SIGKILL for a stopping replica; longer than the server's default drain. */
export const TERMINATION_GRACE_SECONDS = 45;

/** Secrets and env of the chosen auth mode. Key mode holds only a Key Vault reference, never a key. */
function authSettings(auth: AppAuth, identityId: string) {
  const env: ContainerAppTemplateContainerEnv[] = [{ name: ENV.authMode, value: auth.mode }];
  const secrets: { name: string; keyVaultSecretId: string; identity: string }[] = [];
  if (auth.mode === 'key') {
    secrets.push({ name: API_KEYS_APP_SECRET, keyVaultSecretId: auth.apiKeysSecretId, identity: identityId });
    env.push({ name: ENV.apiKeys, secretName: API_KEYS_APP_SECRET });
  } else if (auth.mode === 'oauth') {
    env.push(
      { name: ENV.oauthIssuer, value: auth.issuer },
      { name: ENV.oauthAudience, value: auth.audience },
      { name: ENV.oauthRequiredScopes, value: auth.requiredScopes },
      { name: ENV.publicUrl, value: `https://${auth.customDomain}/mcp` },
    );
  }
  return { env, secrets };
}

/** Name of the Container App secret that carries the Application Insights connection string. */
export const TELEMETRY_APP_SECRET = 'appinsights-connection-string';

/** The app exports to Azure Monitor when the connection string is set; it stays out of the plain env. */
function telemetrySettings(connectionString: string | undefined) {
  if (!connectionString) return { env: [], secrets: [] };
  return {
    env: [{ name: ENV.appInsightsConnectionString, secretName: TELEMETRY_APP_SECRET }],
    secrets: [{ name: TELEMETRY_APP_SECRET, value: connectionString }],
  };
}
