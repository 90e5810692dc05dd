// Guarantees of the Container App: its identity, the env the server reads, probes, HTTPS ingress, ordering.
import { describe, expect, it } from 'vitest';
import { ENV, loadConfig } from '../../app/config.js';
import { heapCapMiB, NODE_OPTIONS } from '../../infra/constructs/container-app.js';
import { findBy, only, ref, synth, variant, where } from './helpers.js';

const json = synth(variant('dev'));
const app = only(json, 'azurerm_container_app').body;
const container = app.template.container[0];
const identity = only(json, 'azurerm_user_assigned_identity').address;

describe('the Container App', () => {
  it('runs as the user-assigned identity that holds the secret role', () => {
    expect(app.identity).toEqual({ type: 'UserAssigned', identity_ids: [ref(identity, 'id')] });
    const envValue = (name: string) => container.env.find((e: { name: string }) => e.name === name)?.value;
    expect(envValue(ENV.azureClientId)).toBe(ref(identity, 'client_id'));
  });

  it('sets exactly the env names of the Key Vault path and key auth', () => {
    const names = container.env.map((e: { name: string }) => e.name).sort();
    const expected = [ENV.keyVaultUrl, ENV.redisSecretName, ENV.azureClientId, ENV.keyPrefix, ENV.allowedHosts, ENV.host, ENV.port];
    expect(names).toEqual([...expected, ENV.trustProxy, NODE_OPTIONS, ENV.authMode, ENV.apiKeys, ENV.appInsightsConnectionString, ENV.requestStateKey].sort());
  });

  it('holds V8\'s heap to 60% of the replica memory (0.5Gi dev: 307 MiB; 1Gi prod: 614 MiB)', () => {
    const nodeOptions = (c: { env: Array<{ name: string; value?: string }> }) => c.env.find((e) => e.name === NODE_OPTIONS)?.value;
    expect(nodeOptions(container)).toBe('--max-old-space-size=307');
    const prod = only(synth(variant('prod')), 'azurerm_container_app').body.template.container[0];
    expect(nodeOptions(prod)).toBe('--max-old-space-size=614');
    expect(heapCapMiB('512Mi')).toBe(307);
    expect(() => heapCapMiB('1G')).toThrow(/not a size like 0.5Gi/);
  });

  it('sets only env names the server (or node itself: NODE_OPTIONS) reads (app/config.ts ENV)', () => {
    const known = [...Object.values(ENV), NODE_OPTIONS] as string[];
    for (const name of container.env.map((e: { name: string }) => e.name)) expect(known).toContain(name);
  });

  it('binds 0.0.0.0 and allows only its own public host name', () => {
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env[ENV.host]).toBe('0.0.0.0');
    const environment = only(json, 'azurerm_container_app_environment').address;
    expect(env[ENV.allowedHosts]).toBe(`${app.name}.${ref(environment, 'default_domain')}`);
  });

  it('probes liveness on /healthz and readiness on /readyz over HTTP', () => {
    expect(container.liveness_probe).toEqual([{ transport: 'HTTP', port: 3000, path: '/healthz' }]);
    expect(container.readiness_probe).toEqual([{ transport: 'HTTP', port: 3000, path: '/readyz' }]);
  });

  it('gives a stopping replica a 45 s grace period, longer than the server\'s default drain delay, drain timeout and stop margin together', () => {
    expect(app.template.termination_grace_period_seconds).toBe(45);
    const defaults = loadConfig({});
    // main.ts gives up 5 s after delay + timeout; SIGKILL must not come before that.
    expect(defaults.drainDelayMs + defaults.drainTimeoutMs + 5000).toBeLessThan(app.template.termination_grace_period_seconds * 1000);
  });

  it('has external ingress to the app port with insecure connections off', () => {
    expect(app.ingress).toMatchObject({ external_enabled: true, allow_insecure_connections: false, target_port: 3000 });
  });

  it('starts only after the identity may read its three secrets', () => {
    const readers = where(json, 'azurerm_role_assignment', (b) => b.role_definition_name === 'Key Vault Secrets User');
    expect(readers).toHaveLength(3);
    for (const reader of readers) expect(app.depends_on).toContain(reader.address);
  });

  it('keeps a single revision and scales on HTTP concurrency', () => {
    expect(app.revision_mode).toBe('Single');
    expect(app.template.http_scale_rule).toEqual([{ name: 'http-concurrency', concurrent_requests: '50' }]);
  });
});

describe('the optional container registry', () => {
  const withAcr = synth(variant('dev', { registry: true, image: 'mcp-continuity:0.1.0' }));
  const acr = only(withAcr, 'azurerm_container_registry');
  const acrApp = only(withAcr, 'azurerm_container_app').body;
  const acrIdentity = only(withAcr, 'azurerm_user_assigned_identity').address;

  it('has the admin user off and gives the app identity AcrPull', () => {
    expect(acr.body.admin_enabled).toBe(false);
    const pull = findBy(withAcr, 'azurerm_role_assignment', 'role_definition_name', 'AcrPull');
    expect(pull.body).toMatchObject({ principal_id: ref(acrIdentity, 'principal_id'), scope: ref(acr.address, 'id') });
    expect(acrApp.depends_on).toContain(pull.address);
  });

  it('pulls a bare image name from the registry with the identity', () => {
    expect(acrApp.registry).toEqual([{ server: ref(acr.address, 'login_server'), identity: ref(acrIdentity, 'id') }]);
    expect(acrApp.template.container[0].image).toBe(`${ref(acr.address, 'login_server')}/mcp-continuity:0.1.0`);
  });

  it('is absent by default', () => {
    expect(json.resource.azurerm_container_registry).toBeUndefined();
    expect(app.registry).toBeUndefined();
  });
});
