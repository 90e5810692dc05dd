// Auth guarantees of the stack: API keys only through a Key Vault reference, key mode by default, the optional Entra app.
import { describe, expect, it } from 'vitest';
import { ENV } from '../../app/config.js';
import { applyEnvOverrides, ENVIRONMENTS, InfraConfigError } from '../../infra/config.js';
import { oauthSettings, VSCODE_CLIENT_ID } from '../../infra/security-config.js';
import { TELEMETRY_APP_SECRET } from '../../infra/constructs/container-app.js';
import { only, ref, resourcesOf, synth, synthText, variant, type Json } from './helpers.js';

const envOf = (json: Json) => {
  const container = only(json, 'azurerm_container_app').body.template.container[0];
  return new Map<string, Json>(container.env.map((e: Json) => [e.name, e]));
};

describe('key mode (the default)', () => {
  const json = synth(variant('prod'));
  const app = only(json, 'azurerm_container_app').body;
  const vault = only(json, 'azurerm_key_vault').address;
  const identity = only(json, 'azurerm_user_assigned_identity').address;

  it('is the default auth mode of every environment', () => {
    for (const config of Object.values(ENVIRONMENTS)) expect(config.auth).toBe('key');
  });

  it('sets AUTH_MODE=key in the container', () => {
    expect(envOf(json).get(ENV.authMode)).toEqual({ name: ENV.authMode, value: 'key' });
  });

  it('declares the API keys as a Key Vault reference to the versionless mcp-api-keys secret, read with the app identity', () => {
    // The other secret is the Application Insights connection string (test/infra/monitoring.test.ts).
    expect(app.secret.filter((s: Json) => s.name !== TELEMETRY_APP_SECRET && s.name !== 'mcp-request-state-key')).toEqual([
      { name: 'mcp-api-keys', key_vault_secret_id: `${ref(vault, 'vault_uri')}secrets/mcp-api-keys`, identity: ref(identity, 'id') },
    ]);
  });

  it('passes MCP_API_KEYS to the server by secret name, never as a value', () => {
    expect(envOf(json).get(ENV.apiKeys)).toEqual({ name: ENV.apiKeys, secret_name: 'mcp-api-keys' });
  });

  it('gives the app identity read access to that one secret, and the app waits for it', () => {
    const reader = Object.entries(resourcesOf(json, 'azurerm_role_assignment')).find(([, b]) => b.scope === `${ref(vault, 'id')}/secrets/mcp-api-keys`);
    expect(reader?.[1]).toMatchObject({ role_definition_name: 'Key Vault Secrets User', principal_id: ref(identity, 'principal_id') });
    expect(app.depends_on).toContain(`azurerm_role_assignment.${reader?.[0]}`);
  });

  it('leaves the key value out of Terraform: no Key Vault secret resource for it and no value in any secret block', () => {
    const secrets = Object.values(resourcesOf(json, 'azurerm_key_vault_secret')).map((s) => s.name);
    expect(secrets.sort()).toEqual(['mcp-request-state-key', 'redis-connection-string']);
    expect(app.secret.filter((s: Json) => 'value' in s).map((s: Json) => s.name)).toEqual([TELEMETRY_APP_SECRET]);
  });

  it('has no key-shaped value anywhere in the synthesized JSON', () => {
    // Anything that looks like `id:<32+ key characters>` would be a key; the kit never generates one in Terraform.
    const text = synthText(variant('prod'));
    expect(text).not.toMatch(/"[A-Za-z0-9_-]+:[A-Za-z0-9+/_=-]{32,}"/);
    expect(text).not.toMatch(/random_(password|string|bytes)/);
  });
});

describe('auth none', () => {
  const json = synth(variant('dev', { auth: 'none' }));

  it('sets AUTH_MODE=none and references no API-keys secret', () => {
    expect(envOf(json).get(ENV.authMode)?.value).toBe('none');
    expect(envOf(json).has(ENV.apiKeys)).toBe(false);
    expect(only(json, 'azurerm_container_app').body.secret.map((s: Json) => s.name).sort()).toEqual(['mcp-request-state-key', TELEMETRY_APP_SECRET].sort());
  });
});

describe('OAuth mode with an Entra ID app registration', () => {
  const config = variant('prod', { auth: 'oauth', oauth: oauthSettings('mcp.contoso.com') });
  const json = synth(config);
  const application = only(json, 'azuread_application');
  const scope = application.body.api.oauth2_permission_scope[0];
  const appAddress = only(json, 'azurerm_container_app').address;

  it('asks Entra for v2 access tokens', () => {
    expect(application.body.api.requested_access_token_version).toBe(2);
  });

  it('uses https://<custom domain> as the App ID URI', () => {
    expect(application.body.identifier_uris).toEqual(['https://mcp.contoso.com']);
  });

  it('exposes the delegated scope mcp.access, enabled, for users', () => {
    expect(scope).toMatchObject({ value: 'mcp.access', type: 'User', enabled: true });
  });

  it('keeps the same scope id on every synth', () => {
    expect(only(synth(config), 'azuread_application').body.api.oauth2_permission_scope[0].id).toBe(scope.id);
  });

  it("pre-authorizes VS Code's client id for exactly that scope", () => {
    expect(only(json, 'azuread_application_pre_authorized').body).toEqual({
      application_id: ref(application.address, 'id'),
      authorized_client_id: VSCODE_CLIENT_ID,
      permission_ids: [scope.id],
    });
  });

  it('creates the service principal tokens are issued for', () => {
    expect(only(json, 'azuread_service_principal').body.client_id).toBe(ref(application.address, 'client_id'));
  });

  it('gives the server the issuer, audience, scope and public URL, and no API keys', () => {
    const env = envOf(json);
    expect(env.get(ENV.authMode)?.value).toBe('oauth');
    expect(env.get(ENV.oauthIssuer)?.value).toMatch(/^https:\/\/login\.microsoftonline\.com\/\$\{data\.azuread_client_config\.[^}]+\.tenant_id\}\/v2\.0$/);
    expect(env.get(ENV.oauthAudience)?.value).toBe(ref(application.address, 'client_id'));
    expect(env.get(ENV.oauthRequiredScopes)?.value).toBe('https://mcp.contoso.com/mcp.access');
    expect(env.get(ENV.publicUrl)?.value).toBe('https://mcp.contoso.com/mcp');
    expect(env.has(ENV.apiKeys)).toBe(false);
  });

  it('accepts the custom domain in the Host check as well as the Azure host name', () => {
    expect(envOf(json).get(ENV.allowedHosts)?.value).toMatch(/^mcp-continuity-prod\.\$\{[^}]+\.default_domain\},mcp\.contoso\.com$/);
  });

  it('binds the custom domain with an Azure-managed certificate that Terraform leaves alone once bound', () => {
    const domain = only(json, 'azurerm_container_app_custom_domain').body;
    expect(domain).toMatchObject({ name: 'mcp.contoso.com', container_app_id: ref(appAddress, 'id') });
    expect(domain.container_app_environment_certificate_id).toBeUndefined();
    expect(domain.lifecycle.ignore_changes).toEqual(['certificate_binding_type', 'container_app_environment_certificate_id']);
  });

  it('configures the azuread provider only when OAuth is on', () => {
    expect(json.provider.azuread).toBeDefined();
    expect(synth(variant('prod')).provider.azuread).toBeUndefined();
    expect(resourcesOf(synth(variant('prod')), 'azuread_application')).toEqual({});
  });
});

describe('auth settings that cannot work', () => {
  it('refuse oauth without a custom domain, naming the setting', () => {
    expect(() => variant('prod', { auth: 'oauth' })).toThrow(InfraConfigError);
    expect(() => variant('prod', { auth: 'oauth' })).toThrow(/oauth.*customDomain/);
  });

  it('refuse an azurecontainerapps.io host as the App ID URI domain', () => {
    expect(() => variant('prod', { auth: 'oauth', oauth: oauthSettings('app.azurecontainerapps.io') })).toThrow(/verified in your tenant/);
  });

  it('turn OAuth on from INFRA_OAUTH_DOMAIN alone, with the default scope and VS Code pre-authorized', () => {
    const config = applyEnvOverrides(ENVIRONMENTS.prod, { INFRA_OAUTH_DOMAIN: 'mcp.contoso.com' });
    expect([config.auth, config.oauth]).toEqual(['oauth', { customDomain: 'mcp.contoso.com', scope: 'mcp.access', preAuthorizedClientIds: [VSCODE_CLIENT_ID] }]);
  });

  it('refuse INFRA_OAUTH_DOMAIN together with INFRA_AUTH=key, naming the variable', () => {
    expect(() => applyEnvOverrides(ENVIRONMENTS.prod, { INFRA_AUTH: 'key', INFRA_OAUTH_DOMAIN: 'mcp.contoso.com' })).toThrow(/INFRA_OAUTH_DOMAIN/);
  });

  it('refuse oauth settings while auth is key', () => {
    expect(() => variant('prod', { oauth: oauthSettings('mcp.contoso.com') })).toThrow(/auth is "key"/);
  });
});
