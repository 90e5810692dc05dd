// Guarantees of the Redis that holds session records: LRU eviction, TLS 1.2 only, both flavours.
import { describe, expect, it } from 'vitest';
import { ENV } from '../../app/config.js';
import { applyEnvOverrides } from '../../infra/config.js';
import { only, resourcesOf, synth, variant, type Json } from './helpers.js';

const appEnv = (json: Json) => Object.fromEntries(only(json, 'azurerm_container_app').body.template.container[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));

describe('Azure Cache for Redis (default flavour)', () => {
  const json = synth(variant('dev'));
  const cache = only(json, 'azurerm_redis_cache').body;

  it('evicts the least recently used keys when memory is full', () => {
    expect(cache.redis_configuration.maxmemory_policy).toBe('allkeys-lru');
  });

  it('requires TLS 1.2 instead of the provider default 1.0', () => {
    expect(cache.minimum_tls_version).toBe('1.2');
  });

  it('keeps the non-TLS port closed', () => {
    expect(cache.non_ssl_port_enabled).toBe(false);
  });

  it('is Basic C0 in dev and creates no Managed Redis', () => {
    expect([cache.sku_name, cache.family, cache.capacity]).toEqual(['Basic', 'C', 0]);
    expect(resourcesOf(json, 'azurerm_managed_redis')).toEqual({});
  });
});

describe('Azure Managed Redis (the other flavour)', () => {
  for (const env of ['dev', 'prod'] as const) {
    it(`synthesizes for ${env} with LRU eviction behind one endpoint and key auth on`, () => {
      const json = synth(variant(env, { redis: 'managed' }));
      const managed = only(json, 'azurerm_managed_redis').body;
      expect(managed.default_database).toMatchObject({
        eviction_policy: 'AllKeysLRU',
        clustering_policy: 'EnterpriseCluster',
        client_protocol: 'Encrypted',
        access_keys_authentication_enabled: true,
      });
      expect(resourcesOf(json, 'azurerm_redis_cache')).toEqual({});
    });
  }

  it('uses the smallest SKU, Balanced_B0, in dev', () => {
    expect(only(synth(variant('dev', { redis: 'managed' })), 'azurerm_managed_redis').body.sku_name).toBe('Balanced_B0');
  });
});

describe('Managed Redis clustering policy, and the app following it', () => {
  it('stays EnterpriseCluster by default, and the app gets no REDIS_CLUSTER (a plain client behind the proxy)', () => {
    const json = synth(variant('prod', { redis: 'managed' }));
    expect(only(json, 'azurerm_managed_redis').body.default_database.clustering_policy).toBe('EnterpriseCluster');
    expect(appEnv(json)[ENV.redisCluster]).toBeUndefined();
  });

  it('OSSCluster exposes the shards and sets REDIS_CLUSTER=true on the Container App', () => {
    const json = synth(variant('prod', { redis: 'managed', managedRedisClustering: 'OSSCluster' }));
    expect(only(json, 'azurerm_managed_redis').body.default_database.clustering_policy).toBe('OSSCluster');
    expect(appEnv(json)[ENV.redisCluster]).toBe('true');
  });

  it('is chosen with INFRA_REDIS_CLUSTERING, and refused for Azure Cache for Redis or an unknown policy', () => {
    expect(applyEnvOverrides(variant('dev', { redis: 'managed' }), { INFRA_REDIS_CLUSTERING: 'OSSCluster' }).managedRedisClustering).toBe('OSSCluster');
    expect(() => applyEnvOverrides(variant('dev'), { INFRA_REDIS_CLUSTERING: 'NoCluster' })).toThrow(/INFRA_REDIS_CLUSTERING/);
    expect(() => variant('dev', { managedRedisClustering: 'OSSCluster' })).toThrow(/OSSCluster is a policy of Azure Managed Redis/);
  });
});
