// Typed configuration of one deployment environment: defaults in one place, dev/prod values, env overrides.
import { SECURITY_DEFAULTS, securityOverrides, validateSecurity, type SecuritySettings } from './security-config.js';

/** Which Redis product holds the session records. Mutually exclusive, so a union, not two flags. */
export type RedisFlavour = 'cache' | 'managed';

/**
 * Azure Managed Redis clustering policy. `EnterpriseCluster`: one proxied endpoint, any client.
 * `OSSCluster`: the cluster topology is exposed and the app connects cluster-aware (`REDIS_CLUSTER=true`).
 * Changing it recreates the database (sessions are lost once).
 */
export type ManagedRedisClustering = 'EnterpriseCluster' | 'OSSCluster';

/** Where Terraform keeps state. */
export type BackendKind = 'local' | 'azurerm';

export type BackendConfig =
  | {
      readonly kind: 'local';
    }
  | {
      readonly kind: 'azurerm';
      /** Resource group of the storage account that holds state (created beforehand, not by this stack). */
      readonly resourceGroupName: string;
      readonly storageAccountName: string;
      readonly containerName: string;
    };

/** Azure Cache for Redis SKU: Basic C0 is the smallest (single node, no SLA). */
export interface RedisCacheSku {
  readonly name: 'Basic' | 'Standard' | 'Premium';
  readonly family: 'C' | 'P';
  readonly capacity: number;
}

/** Auth and network settings are documented in `security-config.ts`. */
export interface StackConfig extends SecuritySettings {
  /** Environment name; also the cdktf stack name (`cdktf deploy <environment>`). */
  readonly environment: string;
  /** Project name used in resource names that allow hyphens and length. */
  readonly project: string;
  /** Short project name for resources with tight name limits (Key Vault: 24 chars, ACR: alphanumerics). */
  readonly shortName: string;
  /** Azure region. */
  readonly location: string;
  /**
   * Extra input to the hash that makes globally unique names (Key Vault, Redis, ACR). Two people who
   * deploy this kit with the same project/environment/location would collide without it: set your own.
   */
  readonly nameSeed: string;
  /**
   * Container image; no default, because nothing is published under a default name. `npm run deploy`
   * builds one in the stack's own registry and sets it; `npx cdktf deploy` needs `INFRA_IMAGE`. A bare
   * `name:tag` (no registry host) is pulled from the stack's own ACR when `registry` is on.
   */
  readonly image?: string;
  /** Create an Azure Container Registry (admin user off) that the app pulls from with its identity. */
  readonly registry: boolean;
  /** vCPU per replica (Container Apps consumption allows 0.25 steps with a matching memory). */
  readonly cpu: number;
  /** Memory per replica, e.g. `0.5Gi`; must pair with `cpu` as Azure allows (0.25 → 0.5Gi, 0.5 → 1Gi, ...). */
  readonly memory: string;
  /** Port the server listens on inside the container (the `PORT` it is given). */
  readonly appPort: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Concurrent HTTP requests per replica before the HTTP scale rule adds one. */
  readonly concurrentRequests: number;
  readonly redis: RedisFlavour;
  readonly redisCacheSku: RedisCacheSku;
  /** Azure Managed Redis SKU, e.g. `Balanced_B0` (the smallest). */
  readonly managedRedisSku: string;
  /** Clustering policy of Managed Redis (`redis: 'managed'` only). Default `EnterpriseCluster`. */
  readonly managedRedisClustering: ManagedRedisClustering;
  /** `SESSION_KEY_PREFIX` of the app, so several deployments can share one Redis. */
  readonly keyPrefix: string;
  /** Name of the Key Vault secret holding the Redis URL (the app's `REDIS_SECRET_NAME`). */
  readonly redisSecretName: string;
  /** Log Analytics retention; 30 days is included in the ingestion price. */
  readonly logRetentionDays: number;
  /** Key Vault soft-delete retention (7–90 days); with purge protection a vault name stays taken that long. */
  readonly keyVaultRetentionDays: number;
  readonly backend: BackendConfig;
  /** Address the alerts notify (an action group); undefined: the alerts exist and notify nobody. */
  readonly alertEmail?: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** Values shared by every environment; an environment overrides what differs. */
export const DEFAULTS: Omit<StackConfig, 'environment'> = {
  project: 'mcp-continuity',
  shortName: 'mcpc',
  location: 'westeurope',
  nameSeed: '',
  registry: false,
  cpu: 0.25,
  memory: '0.5Gi',
  appPort: 3000,
  minReplicas: 1,
  maxReplicas: 3,
  concurrentRequests: 50,
  redis: 'cache',
  redisCacheSku: { name: 'Basic', family: 'C', capacity: 0 },
  managedRedisSku: 'Balanced_B0',
  managedRedisClustering: 'EnterpriseCluster',
  keyPrefix: 'mcp-continuity:',
  redisSecretName: 'redis-connection-string',
  logRetentionDays: 30,
  keyVaultRetentionDays: 7,
  backend: { kind: 'local' },
  tags: { project: 'mcp-continuity' },
  ...SECURITY_DEFAULTS,
};

/** Builds one environment's config from the defaults plus what differs. */
export function defineEnvironment(environment: string, overrides: Partial<Omit<StackConfig, 'environment'>> = {}): StackConfig {
  const config: StackConfig = { ...DEFAULTS, ...overrides, environment, tags: { ...DEFAULTS.tags, environment, ...overrides.tags } };
  validate(config);
  return config;
}

/** The environments `infra/main.ts` synthesizes: one definition, different sizes. */
export const ENVIRONMENTS = {
  // dev keeps public Redis/Key Vault endpoints so a first deploy from a laptop just works; prod is private.
  dev: defineEnvironment('dev', { minReplicas: 0, maxReplicas: 2, network: 'public' }),
  prod: defineEnvironment('prod', {
    cpu: 0.5,
    memory: '1Gi',
    minReplicas: 2,
    maxReplicas: 10,
    // Standard C0 adds a replica and the SLA that Basic lacks; prod sessions should survive a patch.
    redisCacheSku: { name: 'Standard', family: 'C', capacity: 0 },
    managedRedisSku: 'Balanced_B1',
    logRetentionDays: 90,
    keyVaultRetentionDays: 90,
  }),
} as const satisfies Record<string, StackConfig>;

export type EnvironmentName = keyof typeof ENVIRONMENTS;

/** Synth-time error that names the setting and says what to change. */
export class InfraConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`infra config ${setting}: ${message}`);
    this.name = 'InfraConfigError';
  }
}

/** The stack's image, or a synth-time error saying the two ways to provide one. */
export function requireImage(c: StackConfig): string {
  if (c.image) return c.image;
  throw new InfraConfigError(
    'INFRA_IMAGE',
    `stack "${c.environment}" has no container image. Either run \`npm run deploy -- ${c.environment}\` (builds the image ` +
      `in the stack's own registry and deploys it), or push an image yourself and set INFRA_IMAGE, e.g. ` +
      `\`INFRA_IMAGE=ghcr.io/<you>/mcp-continuity:<tag> npx cdktf deploy ${c.environment}\` (docs/deploy.md).`,
  );
}

function validate(c: StackConfig): void {
  if (!/^[a-z][a-z0-9]{1,11}$/.test(c.environment)) {
    throw new InfraConfigError('environment', `"${c.environment}" must be 2–12 lowercase letters/digits starting with a letter`);
  }
  if (!/^[a-z][a-z0-9]{1,7}$/.test(c.shortName)) {
    throw new InfraConfigError('shortName', `"${c.shortName}" must be 2–8 lowercase letters/digits (it goes into the 24-character Key Vault name)`);
  }
  if (c.redis !== 'cache' && c.redis !== 'managed') {
    throw new InfraConfigError('redis', `must be "cache" or "managed", got "${String(c.redis)}"`);
  }
  if (c.managedRedisClustering !== 'EnterpriseCluster' && c.managedRedisClustering !== 'OSSCluster') {
    throw new InfraConfigError('managedRedisClustering', `must be "EnterpriseCluster" or "OSSCluster", got "${String(c.managedRedisClustering)}"`);
  }
  if (c.managedRedisClustering === 'OSSCluster' && c.redis !== 'managed') {
    throw new InfraConfigError('managedRedisClustering', 'OSSCluster is a policy of Azure Managed Redis: set redis to "managed" (INFRA_REDIS=managed), or leave the policy at EnterpriseCluster');
  }
  if (!(Number.isInteger(c.minReplicas) && c.minReplicas >= 0 && c.maxReplicas >= Math.max(1, c.minReplicas) && c.maxReplicas <= 1000)) {
    throw new InfraConfigError('minReplicas/maxReplicas', `need 0 <= min <= max, 1 <= max <= 1000; got ${c.minReplicas}/${c.maxReplicas}`);
  }
  if (c.keyVaultRetentionDays < 7 || c.keyVaultRetentionDays > 90) {
    throw new InfraConfigError('keyVaultRetentionDays', `Azure accepts 7–90, got ${c.keyVaultRetentionDays}`);
  }
  if (c.alertEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(c.alertEmail)) {
    throw new InfraConfigError('alertEmail', `"${c.alertEmail}" is not an email address (set INFRA_ALERT_EMAIL, or leave it unset for alerts without notification)`);
  }
  validateSecurity(c, fail);
}

function fail(setting: string, message: string): never {
  throw new InfraConfigError(setting, message);
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Deploy-time overrides read from `INFRA_*` variables, so `INFRA_REDIS=managed npx cdktf deploy dev`
 * works without editing code. Only `infra/main.ts` calls this; constructs never read the environment.
 */
export function applyEnvOverrides(base: StackConfig, env: Env): StackConfig {
  const get = (name: string) => env[name]?.trim() || undefined;
  const overrides: { -readonly [K in keyof StackConfig]?: StackConfig[K] } = {};
  const redis = get('INFRA_REDIS');
  if (redis !== undefined) {
    if (redis !== 'cache' && redis !== 'managed') throw new InfraConfigError('INFRA_REDIS', `must be "cache" or "managed", got "${redis}"`);
    overrides.redis = redis;
  }
  const clustering = get('INFRA_REDIS_CLUSTERING');
  if (clustering !== undefined) {
    if (clustering !== 'EnterpriseCluster' && clustering !== 'OSSCluster') throw new InfraConfigError('INFRA_REDIS_CLUSTERING', `must be "EnterpriseCluster" or "OSSCluster", got "${clustering}"`);
    overrides.managedRedisClustering = clustering;
  }
  const registry = get('INFRA_REGISTRY');
  if (registry !== undefined) {
    if (registry !== 'true' && registry !== 'false') throw new InfraConfigError('INFRA_REGISTRY', `must be "true" or "false", got "${registry}"`);
    overrides.registry = registry === 'true';
  }
  const image = get('INFRA_IMAGE');
  if (image !== undefined) overrides.image = image;
  const location = get('INFRA_LOCATION');
  if (location !== undefined) overrides.location = location;
  const alertEmail = get('INFRA_ALERT_EMAIL');
  if (alertEmail !== undefined) overrides.alertEmail = alertEmail;
  const seed = get('INFRA_NAME_SEED');
  if (seed !== undefined) overrides.nameSeed = seed;
  const backend = get('INFRA_BACKEND');
  if (backend === 'azurerm') {
    const need = (name: string) => {
      const value = get(name);
      if (!value) throw new InfraConfigError(name, 'is required when INFRA_BACKEND=azurerm');
      return value;
    };
    overrides.backend = {
      kind: 'azurerm',
      resourceGroupName: need('INFRA_STATE_RESOURCE_GROUP'),
      storageAccountName: need('INFRA_STATE_STORAGE_ACCOUNT'),
      containerName: get('INFRA_STATE_CONTAINER') ?? 'tfstate',
    };
  } else if (backend !== undefined && backend !== 'local') {
    throw new InfraConfigError('INFRA_BACKEND', `must be "local" or "azurerm", got "${backend}"`);
  }
  const { environment, ...rest } = base;
  return defineEnvironment(environment, { ...rest, ...overrides, ...securityOverrides(env, fail) });
}
