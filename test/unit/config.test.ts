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
      commandTimeoutMs: 2000,
      heartbeatMs: 1000,
      pendingTtlMs: 5 * 60_000,
      maxSessionsPerPrincipal: 100,
      drainDelayMs: 15_000,
    });
  });

  it('reads the drain delay (0 allowed: stop at once), the Redis command timeout and its old name', () => {
    expect(loadConfig({ DRAIN_DELAY: '0' }).drainDelayMs).toBe(0);
    expect(loadConfig({ DRAIN_DELAY: '3s' }).drainDelayMs).toBe(3000);
    expect(() => loadConfig({ DRAIN_DELAY: 'soon' })).toThrow(/DRAIN_DELAY/);
    expect(() => loadConfig({ DRAIN_TIMEOUT: '0s' })).toThrow(/DRAIN_TIMEOUT/);
    expect(loadConfig({ RESTORE_TIMEOUT: '750ms' }).commandTimeoutMs).toBe(750);
    expect(loadConfig({ RESTORE_TIMEOUT: '750ms', REDIS_COMMAND_TIMEOUT: '1s' }).commandTimeoutMs).toBe(1000);
    expect(() => loadConfig({ MAX_SESSIONS_PER_PRINCIPAL: '0' })).toThrow(/MAX_SESSIONS_PER_PRINCIPAL/);
  });

  it('reads the requestState key (absent by default) and refuses one shorter than 32 bytes, naming the variable', () => {
    expect(loadConfig({}).requestStateKey).toBeUndefined();
    expect(loadConfig({ MCP_REQUEST_STATE_KEY: 'k'.repeat(32) }).requestStateKey).toBe('k'.repeat(32));
    expect(() => loadConfig({ MCP_REQUEST_STATE_KEY: 'short' })).toThrow(/MCP_REQUEST_STATE_KEY: must be at least 32 bytes/);
  });

  it('reads REDIS_CLUSTER as true or false (default false), naming the variable otherwise', () => {
    expect(loadConfig({}).redisCluster).toBe(false);
    expect(loadConfig({ REDIS_CLUSTER: 'TRUE' }).redisCluster).toBe(true);
    expect(() => loadConfig({ REDIS_CLUSTER: 'yes' })).toThrow(/REDIS_CLUSTER/);
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
    ['AUTH_MODE', { AUTH_MODE: 'maybe' }],
    ['MCP_API_KEYS', { AUTH_MODE: 'key' }],
    ['MCP_API_KEYS', { AUTH_MODE: 'key', MCP_API_KEYS: 'ci:short' }],
    ['MCP_API_KEYS', { AUTH_MODE: 'key', MCP_API_KEYS: 'no-id-here-0123456789abcdef' }],
    ['OAUTH_ISSUER', { AUTH_MODE: 'oauth', OAUTH_AUDIENCE: 'api', MCP_PUBLIC_URL: 'https://mcp.example.com/mcp' }],
    ['OAUTH_AUDIENCE', { AUTH_MODE: 'oauth', OAUTH_ISSUER: 'https://issuer.example', MCP_PUBLIC_URL: 'https://mcp.example.com/mcp' }],
    ['MCP_PUBLIC_URL', { AUTH_MODE: 'oauth', OAUTH_ISSUER: 'https://issuer.example', OAUTH_AUDIENCE: 'api' }],
    ['MCP_PUBLIC_URL', { MCP_PUBLIC_URL: 'http://mcp.example.com/mcp' }],
    ['OAUTH_ISSUER', { AUTH_MODE: 'oauth', OAUTH_ISSUER: 'http://issuer.example', OAUTH_AUDIENCE: 'api', MCP_PUBLIC_URL: 'https://m.example/mcp' }],
    ['SESSION_CREATE_RATE', { SESSION_CREATE_RATE: 'lots' }],
    ['SESSION_CREATE_RATE', { SESSION_CREATE_RATE: '0/m' }],
    ['REQUEST_BODY_TIMEOUT', { REQUEST_BODY_TIMEOUT: '0s' }],
    ['TRUST_PROXY', { TRUST_PROXY: 'yes' }],
    ['MCP_ALLOWED_ORIGINS', { MCP_ALLOWED_ORIGINS: 'example.com' }],
  ])('names %s when its value is unusable', (variable, env) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}:`));
  });

  it('defaults to no auth, 30 new sessions a minute, a 30 s body timeout and same-host origins', () => {
    const config = loadConfig({ PORT: '8080', MCP_ALLOWED_HOSTS: 'localhost' });
    expect(config.auth).toEqual({ mode: 'none' });
    expect(config.sessionCreateRate).toEqual({ tokens: 30, perMs: 60_000 });
    expect(config.requestBodyTimeoutMs).toBe(30_000);
    expect(config.trustProxy).toBe(false);
    expect(config.allowedOrigins).toEqual(['http://localhost:8080', 'https://localhost']);
    expect(loadConfig({ MCP_PUBLIC_URL: 'https://mcp.example.com/mcp', MCP_ALLOWED_HOSTS: 'x' }).allowedOrigins).toContain('https://mcp.example.com');
    expect(loadConfig({ MCP_ALLOWED_ORIGINS: 'https://App.example.com:443/, http://localhost:6274' }).allowedOrigins).toEqual(['https://app.example.com', 'http://localhost:6274']);
  });

  it('reads rates as count per period, or off', () => {
    expect(loadConfig({ SESSION_CREATE_RATE: '5/s' }).sessionCreateRate).toEqual({ tokens: 5, perMs: 1000 });
    expect(loadConfig({ SESSION_CREATE_RATE: '100/10m' }).sessionCreateRate).toEqual({ tokens: 100, perMs: 600_000 });
    expect(loadConfig({ SESSION_CREATE_RATE: 'off' }).sessionCreateRate).toBeUndefined();
  });

  it('reads several API keys separated by commas or newlines', () => {
    const config = loadConfig({ AUTH_MODE: 'key', MCP_API_KEYS: 'old:0123456789abcdef0123,\n new:fedcba9876543210fedc\n' });
    expect(config.auth).toEqual({
      mode: 'key',
      keys: [
        { id: 'old', key: '0123456789abcdef0123' },
        { id: 'new', key: 'fedcba9876543210fedc' },
      ],
    });
  });

  it('never echoes a key in a configuration error', () => {
    for (const value of ['ci:tooshort!', 'a:0123456789abcdef0123,a:0123456789abcdef9999', 'a:0123456789abcdef0123,b:0123456789abcdef0123', 'ci:0123456789abcdef 0123']) {
      let message = '';
      try {
        loadConfig({ AUTH_MODE: 'key', MCP_API_KEYS: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^MCP_API_KEYS: /);
      for (const secret of ['tooshort', '0123456789abcdef']) expect(message).not.toContain(secret);
    }
  });

  it('reads the OAuth resource-server settings', () => {
    const config = loadConfig({
      AUTH_MODE: 'oauth',
      OAUTH_ISSUER: 'https://login.microsoftonline.com/tid/v2.0',
      OAUTH_AUDIENCE: 'c0ffee00-0000-0000-0000-000000000000',
      OAUTH_REQUIRED_SCOPES: 'api://c0ffee/mcp.access',
      MCP_PUBLIC_URL: 'https://mcp.example.com/mcp',
    });
    expect(config.auth).toEqual({
      mode: 'oauth',
      issuer: 'https://login.microsoftonline.com/tid/v2.0',
      audience: ['c0ffee00-0000-0000-0000-000000000000'],
      jwksUrl: undefined,
      requiredScopes: ['api://c0ffee/mcp.access'],
      rolesAsScopes: false,
    });
    expect(config.publicUrl).toBe('https://mcp.example.com/mcp');
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
