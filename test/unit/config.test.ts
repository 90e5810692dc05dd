// The environment is read once, with defaults, and a bad value names its variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration } from '../../app/config.js';

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    expect(loadConfig({})).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      allowedHosts: ['localhost', '127.0.0.1', '[::1]'],
      redisUrl: undefined,
      keyVault: undefined,
      keyPrefix: 'mcp-continuity:',
      idleTtlMs: 8 * 3_600_000,
      maxTtlMs: 24 * 3_600_000,
      responseMode: 'sse',
      logLevel: 'info',
    });
  });

  it('reads Key Vault settings only when KEY_VAULT_URL is set', () => {
    const config = loadConfig({ KEY_VAULT_URL: 'https://kv.vault.azure.net/', AZURE_CLIENT_ID: 'abc', KEY_VAULT_TIMEOUT: '3s' });
    expect(config.keyVault).toEqual({ url: 'https://kv.vault.azure.net/', secretName: 'redis-connection-string', clientId: 'abc', timeoutMs: 3000, refreshIntervalMs: 900_000 });
    expect(loadConfig({ KEY_VAULT_URL: 'https://kv.vault.azure.net/', KEY_VAULT_REFRESH: 'off' }).keyVault?.refreshIntervalMs).toBeUndefined();
    expect(loadConfig({ KEY_VAULT_URL: 'https://kv.vault.azure.net/', KEY_VAULT_REFRESH: '1m' }).keyVault?.refreshIntervalMs).toBe(60_000);
  });

  it.each([
    ['PORT', { PORT: '70000' }],
    ['SESSION_IDLE_TTL', { SESSION_IDLE_TTL: 'soon' }],
    ['SESSION_MAX_TTL', { SESSION_IDLE_TTL: '2h', SESSION_MAX_TTL: '1h' }],
    ['KEY_VAULT_URL', { KEY_VAULT_URL: 'kv.vault.azure.net' }],
    ['KEY_VAULT_REFRESH', { KEY_VAULT_URL: 'https://kv.vault.azure.net/', KEY_VAULT_REFRESH: 'hourly' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['MCP_RESPONSE_MODE', { MCP_RESPONSE_MODE: 'xml' }],
  ])('names %s when its value is unusable', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}:`));
  });

  it('splits and lower-cases MCP_ALLOWED_HOSTS', () => {
    expect(loadConfig({ MCP_ALLOWED_HOSTS: ' App.Example.com ,localhost,' }).allowedHosts).toEqual(['app.example.com', 'localhost']);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['8h', 28_800_000],
    ['1d', 86_400_000],
    ['90', 90_000],
    ['1.5s', 1500],
  ])('reads %s as %i ms', (raw, ms) => {
    expect(parseDuration('X', raw)).toBe(ms);
  });

  it('refuses zero and negative durations', () => {
    expect(() => parseDuration('X', '0s')).toThrow(/greater than zero/);
    expect(() => parseDuration('X', '-5s')).toThrow(/not a duration/);
  });
});
