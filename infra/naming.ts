// Resource names: readable where Azure scopes them to a group, hashed where Azure needs them globally unique.
import { createHash } from 'node:crypto';
import { InfraConfigError, type StackConfig } from './config.js';

export interface ResourceNames {
  readonly resourceGroup: string;
  readonly logAnalytics: string;
  readonly containerAppsEnvironment: string;
  /** Also the first label of the app's FQDN, `<containerApp>.<environment default domain>`. */
  readonly containerApp: string;
  readonly identity: string;
  /** Globally unique (`<name>.redis.cache.windows.net` / `<name>.<region>.redis.azure.net`). */
  readonly redis: string;
  /** Globally unique, 3–24 characters. */
  readonly keyVault: string;
  /** Globally unique, 5–50 alphanumerics. */
  readonly registry: string;
  /** VNet of `network: 'private'`; its subnets and private endpoints are named inside the network construct. */
  readonly virtualNetwork: string;
  /** Display name of the Entra ID app registration (`auth: 'oauth'`); unique per tenant by convention only. */
  readonly entraApp: string;
}

/**
 * A short, stable suffix from inputs that do not depend on the subscription, so a synth is the same
 * on every machine (snapshots stay put) and a redeploy keeps its names. No random component.
 */
export function uniqueSuffix(c: Pick<StackConfig, 'project' | 'environment' | 'location' | 'nameSeed'>): string {
  return createHash('sha256').update([c.project, c.environment, c.location, c.nameSeed].join('\n')).digest('hex').slice(0, 6);
}

export function resourceNames(c: StackConfig): ResourceNames {
  const suffix = uniqueSuffix(c);
  const base = `${c.project}-${c.environment}`;
  const names: ResourceNames = {
    resourceGroup: `rg-${base}`,
    logAnalytics: `log-${base}`,
    containerAppsEnvironment: `cae-${base}`,
    containerApp: base,
    identity: `id-${base}`,
    redis: `redis-${c.shortName}-${c.environment}-${suffix}`,
    keyVault: `kv-${c.shortName}-${c.environment}-${suffix}`,
    registry: `acr${c.shortName}${c.environment}${suffix}`,
    virtualNetwork: `vnet-${base}`,
    entraApp: `${base}-mcp`,
  };
  if (names.keyVault.length > 24) {
    throw new InfraConfigError('shortName/environment', `Key Vault name "${names.keyVault}" exceeds Azure's 24 characters; shorten one of them`);
  }
  if (names.containerApp.length > 32) {
    throw new InfraConfigError('project/environment', `Container App name "${names.containerApp}" exceeds Azure's 32 characters; shorten one of them`);
  }
  return names;
}

/**
 * A UUID that is the same on every synth for the same inputs. Entra needs a caller-chosen id for each
 * permission scope; a random one would change the synth (and the scope) on every run.
 */
export function stableUuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\n')).digest('hex');
  // Shaped as an RFC 9562 version 8 ("custom") UUID with the RFC variant bits.
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
