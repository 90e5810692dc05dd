// Environments come from one definition: they differ in size, names are deterministic, overrides are checked.
import { describe, expect, it } from 'vitest';
import { applyEnvOverrides, ENVIRONMENTS, InfraConfigError } from '../../infra/config.js';
import { resourceNames } from '../../infra/naming.js';
import { only, synth, synthText, variant } from './helpers.js';

describe('dev and prod', () => {
  const dev = synth(variant('dev'));
  const prod = synth(variant('prod'));

  it('differ in replicas and in the Redis SKU', () => {
    const replicas = (json: typeof dev) => {
      const t = only(json, 'azurerm_container_app').body.template;
      return [t.min_replicas, t.max_replicas];
    };
    expect(replicas(dev)).not.toEqual(replicas(prod));
    expect(only(dev, 'azurerm_redis_cache').body.sku_name).toBe('Basic');
    expect(only(prod, 'azurerm_redis_cache').body.sku_name).toBe('Standard');
  });

  it('get different globally unique names', () => {
    const devNames = resourceNames(ENVIRONMENTS.dev);
    const prodNames = resourceNames(ENVIRONMENTS.prod);
    expect(devNames.keyVault).not.toBe(prodNames.keyVault);
    expect(devNames.redis).not.toBe(prodNames.redis);
  });
});

describe('names', () => {
  it('are the same on every synth and fit Azure limits', () => {
    const names = resourceNames(ENVIRONMENTS.prod);
    expect(resourceNames(ENVIRONMENTS.prod)).toEqual(names);
    expect(names.keyVault.length).toBeLessThanOrEqual(24);
    expect(names.registry).toMatch(/^[a-z0-9]{5,50}$/);
  });

  it('change with the name seed, so two users of the kit do not collide', () => {
    expect(resourceNames(variant('dev', { nameSeed: 'contoso' })).keyVault).not.toBe(resourceNames(ENVIRONMENTS.dev).keyVault);
  });
});

describe('synth output', () => {
  it('is byte-identical across runs and holds no absolute path', () => {
    const first = synthText(variant('prod'));
    expect(synthText(variant('prod'))).toBe(first);
    expect(first).not.toContain(process.cwd());
  });

  it('uses a relative local state path by default and the azurerm backend when configured', () => {
    expect(synth(variant('dev')).terraform.backend).toEqual({ local: { path: '../../../terraform.dev.tfstate' } });
    const remote = variant('prod', {
      backend: { kind: 'azurerm', resourceGroupName: 'rg-state', storageAccountName: 'ststate', containerName: 'tfstate' },
    });
    expect(synth(remote).terraform.backend.azurerm).toMatchObject({ storage_account_name: 'ststate', key: 'mcp-continuity/prod.tfstate' });
  });
});

describe('INFRA_* overrides', () => {
  it('switch the Redis flavour and backend', () => {
    const config = applyEnvOverrides(ENVIRONMENTS.dev, {
      INFRA_REDIS: 'managed',
      INFRA_BACKEND: 'azurerm',
      INFRA_STATE_RESOURCE_GROUP: 'rg-state',
      INFRA_STATE_STORAGE_ACCOUNT: 'ststate',
    });
    expect(config.redis).toBe('managed');
    expect(config.backend).toEqual({ kind: 'azurerm', resourceGroupName: 'rg-state', storageAccountName: 'ststate', containerName: 'tfstate' });
  });

  it('reject an unknown flavour by naming the variable', () => {
    expect(() => applyEnvOverrides(ENVIRONMENTS.dev, { INFRA_REDIS: 'valkey' })).toThrow(InfraConfigError);
    expect(() => applyEnvOverrides(ENVIRONMENTS.dev, { INFRA_REDIS: 'valkey' })).toThrow(/INFRA_REDIS/);
  });
});
