// Guarantees of the Redis that holds session records: LRU eviction, TLS 1.2 only, both flavours.
import { describe, expect, it } from 'vitest';
import { only, resourcesOf, synth, variant } from './helpers.js';

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
