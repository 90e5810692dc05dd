// Network guarantees: private Redis and Key Vault in prod, the documented public opt-out in dev, ingress allow-lists.
import { describe, expect, it } from 'vitest';
import { applyEnvOverrides, ENVIRONMENTS, InfraConfigError } from '../../infra/config.js';
import { securityWarnings } from '../../infra/security-config.js';
import { only, ref, resourcesOf, synth, TEST_IMAGE, variant, where, type Json } from './helpers.js';

const endpointFor = (json: Json, target: string) =>
  where(json, 'azurerm_private_endpoint', (b) => b.private_service_connection.private_connection_resource_id === ref(target, 'id'));
const zoneName = (json: Json, endpoint: Json) => {
  const [zoneRef] = endpoint.private_dns_zone_group.private_dns_zone_ids as string[];
  return where(json, 'azurerm_private_dns_zone', () => true).find((z) => ref(z.address, 'id') === zoneRef)?.body.name;
};

describe('network defaults per environment', () => {
  it('is private in prod and public in dev', () => {
    expect([ENVIRONMENTS.prod.network, ENVIRONMENTS.dev.network]).toEqual(['private', 'public']);
  });
});

describe('prod (private network)', () => {
  const json = synth(variant('prod'));
  const vault = only(json, 'azurerm_key_vault');
  const redis = only(json, 'azurerm_redis_cache');
  const app = only(json, 'azurerm_container_app');

  it('turns off public network access on Redis', () => {
    expect(redis.body.public_network_access_enabled).toBe(false);
  });

  it('turns off the public endpoint of Key Vault when no operator IP is allowed', () => {
    expect(vault.body.public_network_access_enabled).toBe(false);
  });

  it('has the Key Vault firewall deny by default, trusted Azure services excepted', () => {
    expect(vault.body.network_acls).toMatchObject({ default_action: 'Deny', bypass: 'AzureServices', ip_rules: [] });
  });

  it('puts the Container Apps environment in a delegated VNet subnet as a workload-profiles environment', () => {
    const environment = only(json, 'azurerm_container_app_environment').body;
    const apps = where(json, 'azurerm_subnet', (b) => b.name === 'snet-container-apps')[0]!;
    expect(environment.infrastructure_subnet_id).toBe(ref(apps.address, 'id'));
    expect(apps.body.delegation[0].service_delegation.name).toBe('Microsoft.App/environments');
    expect(environment.workload_profile).toEqual([{ name: 'Consumption', workload_profile_type: 'Consumption' }]);
    expect(app.body.workload_profile_name).toBe('Consumption');
  });

  it('reaches Key Vault through a private endpoint registered in privatelink.vaultcore.azure.net', () => {
    const [endpoint] = endpointFor(json, vault.address);
    expect(endpoint!.body.private_service_connection.subresource_names).toEqual(['vault']);
    expect(zoneName(json, endpoint!.body)).toBe('privatelink.vaultcore.azure.net');
  });

  it('reaches Redis through a private endpoint registered in privatelink.redis.cache.windows.net', () => {
    const [endpoint] = endpointFor(json, redis.address);
    expect(endpoint!.body.private_service_connection.subresource_names).toEqual(['redisCache']);
    expect(zoneName(json, endpoint!.body)).toBe('privatelink.redis.cache.windows.net');
  });

  it('links every private DNS zone to the VNet', () => {
    const vnet = only(json, 'azurerm_virtual_network').address;
    const links = Object.values(resourcesOf(json, 'azurerm_private_dns_zone_virtual_network_link'));
    expect(links).toHaveLength(Object.keys(resourcesOf(json, 'azurerm_private_dns_zone')).length);
    for (const link of links) expect(link.virtual_network_id).toBe(ref(vnet, 'id'));
  });

  it('starts the app only after both private endpoints exist', () => {
    for (const endpoint of where(json, 'azurerm_private_endpoint', () => true)) expect(app.body.depends_on).toContain(endpoint.address);
  });
});

describe('prod with operator IPs (the deployer outside the VNet)', () => {
  const vault = only(synth(variant('prod', { operatorIpRanges: ['203.0.113.7', '198.51.100.0/24'] })), 'azurerm_key_vault').body;

  it('keeps the firewall on deny and admits only those addresses', () => {
    expect(vault.network_acls).toEqual({ default_action: 'Deny', bypass: 'AzureServices', ip_rules: ['203.0.113.7', '198.51.100.0/24'] });
    expect(vault.public_network_access_enabled).toBe(true);
  });

  it('come from INFRA_OPERATOR_IPS as a comma-separated list', () => {
    expect(applyEnvOverrides(ENVIRONMENTS.prod, { INFRA_OPERATOR_IPS: '203.0.113.7, 198.51.100.0/24' }).operatorIpRanges).toEqual(['203.0.113.7', '198.51.100.0/24']);
  });

  it('are refused when they are not IPv4, naming the setting', () => {
    expect(() => variant('prod', { operatorIpRanges: ['2001:db8::1'] })).toThrow(InfraConfigError);
    expect(() => variant('prod', { operatorIpRanges: ['2001:db8::1'] })).toThrow(/operatorIpRanges/);
  });
});

describe('the synth warning about a private vault', () => {
  it('is printed for prod without operator IPs and not once one is set', () => {
    expect(securityWarnings(ENVIRONMENTS.prod).join('\n')).toMatch(/INFRA_OPERATOR_IPS/);
    expect(securityWarnings(variant('prod', { operatorIpRanges: ['203.0.113.7'] }))).toEqual([]);
  });
});

describe('prod with Azure Managed Redis', () => {
  const json = synth(variant('prod', { redis: 'managed' }));
  const managed = only(json, 'azurerm_managed_redis');

  it('turns off public network access on Managed Redis', () => {
    expect(managed.body.public_network_access).toBe('Disabled');
  });

  it('reaches it through a redisEnterprise private endpoint in privatelink.redis.azure.net', () => {
    const [endpoint] = endpointFor(json, managed.address);
    expect(endpoint!.body.private_service_connection.subresource_names).toEqual(['redisEnterprise']);
    expect(zoneName(json, endpoint!.body)).toBe('privatelink.redis.azure.net');
  });
});

describe('dev (the public opt-out)', () => {
  const json = synth(variant('dev'));

  it('keeps public access on Redis and Key Vault and creates no VNet or private endpoint', () => {
    expect(only(json, 'azurerm_redis_cache').body.public_network_access_enabled).toBe(true);
    expect(only(json, 'azurerm_key_vault').body.network_acls.default_action).toBe('Allow');
    expect(resourcesOf(json, 'azurerm_virtual_network')).toEqual({});
    expect(resourcesOf(json, 'azurerm_private_endpoint')).toEqual({});
    expect(only(json, 'azurerm_container_app_environment').body.infrastructure_subnet_id).toBeUndefined();
  });

  it('turns private with INFRA_NETWORK=private', () => {
    const config = applyEnvOverrides(ENVIRONMENTS.dev, { INFRA_NETWORK: 'private', INFRA_IMAGE: TEST_IMAGE });
    expect(only(synth(config), 'azurerm_redis_cache').body.public_network_access_enabled).toBe(false);
  });
});

describe('ingress IP restrictions', () => {
  it('are absent by default', () => {
    expect(only(synth(variant('prod')), 'azurerm_container_app').body.ingress.ip_security_restriction).toBeUndefined();
  });

  it('admit only the configured CIDR ranges when set', () => {
    const app = only(synth(variant('prod', { ingressAllowedCidrs: ['203.0.113.0/24', '198.51.100.7/32'] })), 'azurerm_container_app').body;
    expect(app.ingress.ip_security_restriction).toEqual([
      { name: 'allow-1', action: 'Allow', ip_address_range: '203.0.113.0/24' },
      { name: 'allow-2', action: 'Allow', ip_address_range: '198.51.100.7/32' },
    ]);
  });

  it('refuse a range without a prefix length', () => {
    expect(() => variant('prod', { ingressAllowedCidrs: ['203.0.113.7'] })).toThrow(/ingressAllowedCidrs/);
  });
});
