// Typed settings of the stack's security posture (auth mode, OAuth app, network) with their checks and INFRA_* overrides.

/** How the deployed server authenticates callers (the app's `AUTH_MODE`). Mutually exclusive, so a union. */
export type AuthMode = 'key' | 'oauth' | 'none';

/**
 * `private`: Redis and Key Vault are reachable from the Container Apps environment's VNet only (private
 * endpoints); `public`: both keep their public endpoints (TLS and keys still required), for a quick dev deploy.
 */
export type NetworkMode = 'private' | 'public';

/** VS Code's own Entra client id; VS Code signs in with it, so the app registration pre-authorizes it. */
export const VSCODE_CLIENT_ID = 'aebc6443-996d-45c2-90f0-388ff96faa56';

export interface OAuthSettings {
  /**
   * Host name clients use, e.g. `mcp.contoso.com`. It becomes the App ID URI `https://<customDomain>`, which
   * Entra accepts only on a domain verified in the tenant, hence no `*.azurecontainerapps.io`.
   */
  readonly customDomain: string;
  /** Delegated scope the app registration exposes and the server requires (the token's `scp`). */
  readonly scope: string;
  /** Client ids that may get a token for `scope` without a consent prompt; VS Code's by default. */
  readonly preAuthorizedClientIds: readonly string[];
}

/** Address plan of the VNet that `network: 'private'` creates. */
export interface NetworkAddresses {
  readonly addressSpace: string;
  /**
   * Subnet of the Container Apps environment. A workload-profiles environment (what `private` creates,
   * with the Consumption profile) needs at least a /27, delegated to Microsoft.App/environments.
   */
  readonly appsSubnet: string;
  /** Subnet holding the private endpoints of Redis and Key Vault. */
  readonly endpointsSubnet: string;
}

export interface SecuritySettings {
  /** `AUTH_MODE` of the deployed server. Default `key`: bearer API keys read from Key Vault. */
  readonly auth: AuthMode;
  /** Key Vault secret holding the API keys (`id:key[,id:key]`); created outside Terraform, so never in state. */
  readonly apiKeysSecretName: string;
  /** Entra ID app registration and custom domain; required when `auth` is `oauth`, refused otherwise. */
  readonly oauth: OAuthSettings | undefined;
  /** Where Redis and Key Vault are reachable from. Default `private` for prod, `public` for dev. */
  readonly network: NetworkMode;
  readonly networkAddresses: NetworkAddresses;
  /**
   * IPv4 addresses or CIDR ranges allowed through the Key Vault firewall in `private` mode, for whoever runs
   * `cdktf deploy` or `npm run deploy` from outside the VNet (Terraform writes the Redis secret, the deploy
   * script the API keys). Empty: the vault has no public endpoint at all.
   */
  readonly operatorIpRanges: readonly string[];
  /** If non-empty, the app's ingress admits only these IPv4 CIDR ranges (everything else gets 403). */
  readonly ingressAllowedCidrs: readonly string[];
}

export const SECURITY_DEFAULTS: SecuritySettings = {
  auth: 'key',
  apiKeysSecretName: 'mcp-api-keys',
  oauth: undefined,
  network: 'private',
  networkAddresses: { addressSpace: '10.42.0.0/16', appsSubnet: '10.42.0.0/23', endpointsSubnet: '10.42.2.0/27' },
  operatorIpRanges: [],
  ingressAllowedCidrs: [],
};

/** Fills in the defaults of an OAuth setting given with only its domain. */
export function oauthSettings(customDomain: string, overrides: Partial<Omit<OAuthSettings, 'customDomain'>> = {}): OAuthSettings {
  return { customDomain, scope: 'mcp.access', preAuthorizedClientIds: [VSCODE_CLIENT_ID], ...overrides };
}

/** Same contract as `InfraConfigError` in config.ts; passed in to keep this module free of a cycle. */
type Fail = (setting: string, message: string) => never;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const isIpv4Range = (value: string, needsPrefix: boolean) => {
  const [ip, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || !IPV4.test(ip ?? '')) return false;
  if (prefix === undefined) return !needsPrefix;
  return /^\d{1,2}$/.test(prefix) && Number(prefix) <= 32;
};
const HOST_NAME = /^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function validateSecurity(s: SecuritySettings, fail: Fail): void {
  if (!['key', 'oauth', 'none'].includes(s.auth)) fail('auth', `must be "key", "oauth" or "none", got "${String(s.auth)}"`);
  if (s.auth === 'oauth' && !s.oauth) fail('oauth', 'auth is "oauth" but no oauth settings are given; set oauth.customDomain (INFRA_OAUTH_DOMAIN)');
  if (s.auth !== 'oauth' && s.oauth) fail('oauth', `oauth settings are given but auth is "${s.auth}"; set auth to "oauth" or drop them`);
  if (s.oauth) {
    if (!HOST_NAME.test(s.oauth.customDomain)) {
      fail('oauth.customDomain', `"${s.oauth.customDomain}" is not a lowercase DNS host name like mcp.contoso.com (no scheme, no path)`);
    }
    if (s.oauth.customDomain.endsWith('.azurecontainerapps.io')) {
      fail('oauth.customDomain', 'Entra accepts an https App ID URI only on a domain verified in your tenant; use your own domain');
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/.test(s.oauth.scope)) fail('oauth.scope', `"${s.oauth.scope}" must be letters, digits, ".", "_" or "-"`);
    for (const id of s.oauth.preAuthorizedClientIds) {
      if (!GUID.test(id)) fail('oauth.preAuthorizedClientIds', `"${id}" is not a lowercase client id GUID`);
    }
  }
  if (s.network !== 'private' && s.network !== 'public') fail('network', `must be "private" or "public", got "${String(s.network)}"`);
  for (const [name, cidr] of Object.entries(s.networkAddresses)) {
    if (!isIpv4Range(cidr, true)) fail(`networkAddresses.${name}`, `"${cidr}" is not an IPv4 CIDR range`);
  }
  if (Number(s.networkAddresses.appsSubnet.split('/')[1]) > 27) {
    fail('networkAddresses.appsSubnet', 'a workload-profiles Container Apps environment needs at least a /27');
  }
  for (const range of s.operatorIpRanges) {
    if (!isIpv4Range(range, false)) fail('operatorIpRanges', `"${range}" is not an IPv4 address or CIDR range (Key Vault takes IPv4 only)`);
  }
  for (const range of s.ingressAllowedCidrs) {
    if (!isIpv4Range(range, true)) fail('ingressAllowedCidrs', `"${range}" is not an IPv4 CIDR range like 203.0.113.0/24`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** `INFRA_AUTH`, `INFRA_OAUTH_DOMAIN`, `INFRA_NETWORK`, `INFRA_OPERATOR_IPS`, `INFRA_INGRESS_ALLOWED_CIDRS`. */
export function securityOverrides(env: Env, fail: Fail): Partial<SecuritySettings> {
  const get = (name: string) => env[name]?.trim() || undefined;
  const list = (name: string) => get(name)?.split(',').map((s) => s.trim()).filter(Boolean);
  const out: { -readonly [K in keyof SecuritySettings]?: SecuritySettings[K] } = {};
  const domain = get('INFRA_OAUTH_DOMAIN');
  const auth = get('INFRA_AUTH') ?? (domain ? 'oauth' : undefined);
  if (auth !== undefined) {
    if (auth !== 'key' && auth !== 'oauth' && auth !== 'none') fail('INFRA_AUTH', `must be "key", "oauth" or "none", got "${auth}"`);
    out.auth = auth;
    if (auth === 'oauth') {
      if (!domain) fail('INFRA_OAUTH_DOMAIN', 'is required when INFRA_AUTH=oauth (the custom domain, e.g. mcp.contoso.com)');
      out.oauth = oauthSettings(domain);
    } else {
      if (domain) fail('INFRA_OAUTH_DOMAIN', `is set but INFRA_AUTH=${auth}; drop one of them`);
      out.oauth = undefined;
    }
  }
  const network = get('INFRA_NETWORK');
  if (network !== undefined) {
    if (network !== 'private' && network !== 'public') fail('INFRA_NETWORK', `must be "private" or "public", got "${network}"`);
    out.network = network;
  }
  const operators = list('INFRA_OPERATOR_IPS');
  if (operators !== undefined) out.operatorIpRanges = operators;
  const ingress = list('INFRA_INGRESS_ALLOWED_CIDRS');
  if (ingress !== undefined) out.ingressAllowedCidrs = ingress;
  return out;
}

/** Settings that synthesize but will surprise at deploy time; `infra/main.ts` prints these. */
export function securityWarnings(s: SecuritySettings): string[] {
  const warnings: string[] = [];
  if (s.network === 'private' && s.operatorIpRanges.length === 0) {
    warnings.push(
      'network is private and no operator IP is allowed through the Key Vault firewall: Terraform (the Redis secret) and ' +
        'the deploy script (the API keys) write to the vault from your machine and will be refused. Set ' +
        'INFRA_OPERATOR_IPS=<your public IP> or run the deploy from inside the VNet (docs/deploy.md, "Network").',
    );
  }
  if (s.auth === 'none') warnings.push('auth is "none": anyone who finds the URL can use every tool');
  return warnings;
}
