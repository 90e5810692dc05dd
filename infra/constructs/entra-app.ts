// Entra ID app registration for `auth: 'oauth'`: the API clients get v2 tokens for, with VS Code pre-authorized.
import { Construct } from 'constructs';
import { AzureadProvider } from '@cdktf/provider-azuread/lib/provider/index.js';
import { DataAzureadClientConfig } from '@cdktf/provider-azuread/lib/data-azuread-client-config/index.js';
import { Application } from '@cdktf/provider-azuread/lib/application/index.js';
import { ApplicationPreAuthorized } from '@cdktf/provider-azuread/lib/application-pre-authorized/index.js';
import { ServicePrincipal } from '@cdktf/provider-azuread/lib/service-principal/index.js';

export interface EntraAppProps {
  readonly displayName: string;
  /** Host name of the MCP server; the App ID URI is `https://<customDomain>`. */
  readonly customDomain: string;
  /** Value of the delegated scope, e.g. `mcp.access`; tokens carry it in `scp`. */
  readonly scope: string;
  /** Caller-chosen, stable id of that scope (see `stableUuid`). */
  readonly scopeId: string;
  /** Clients that get the scope without a consent prompt (VS Code's client id by default). */
  readonly preAuthorizedClientIds: readonly string[];
}

export class EntraApp extends Construct {
  readonly application: Application;
  readonly servicePrincipal: ServicePrincipal;
  readonly preAuthorized: ApplicationPreAuthorized[];
  /** Tenant that issues the tokens (the one `az login` / the azuread provider points at). */
  readonly tenantId: string;
  /** The audience of v2 access tokens for this API: its client id. */
  readonly clientId: string;
  /** The full scope a client asks Entra for: `<App ID URI>/<scope>`. */
  readonly fullScope: string;

  constructor(scope: Construct, id: string, props: EntraAppProps) {
    super(scope, id);
    // Configured only here, so a stack without OAuth needs no Microsoft Graph permissions at all.
    new AzureadProvider(this, 'azuread', {});
    const client = new DataAzureadClientConfig(this, 'client');
    const identifierUri = `https://${props.customDomain}`;
    this.application = new Application(this, 'application', {
      displayName: props.displayName,
      signInAudience: 'AzureADMyOrg',
      identifierUris: [identifierUri],
      owners: [client.objectId],
      api: {
        // v2 tokens: `iss` is https://login.microsoftonline.com/<tenant>/v2.0 and `aud` the client id,
        // which is what the server validates (v1 tokens would carry sts.windows.net and the App ID URI).
        requestedAccessTokenVersion: 2,
        oauth2PermissionScope: [
          {
            id: props.scopeId,
            value: props.scope,
            type: 'User',
            enabled: true,
            adminConsentDisplayName: 'Use the MCP server',
            adminConsentDescription: 'Allows the app to call the MCP server as the signed-in user.',
            userConsentDisplayName: 'Use the MCP server',
            userConsentDescription: 'Allows the app to call the MCP server on your behalf.',
          },
        ],
      },
    });
    // Entra has no dynamic client registration: clients such as VS Code use their own, pre-authorized, client id.
    this.preAuthorized = props.preAuthorizedClientIds.map(
      (clientId, index) =>
        new ApplicationPreAuthorized(this, `pre-authorized-${index}`, {
          applicationId: this.application.id,
          authorizedClientId: clientId,
          permissionIds: [props.scopeId],
        }),
    );
    // Tokens are issued only for an API with a service principal in the tenant.
    this.servicePrincipal = new ServicePrincipal(this, 'service-principal', {
      clientId: this.application.clientId,
      owners: [client.objectId],
    });
    this.tenantId = client.tenantId;
    this.clientId = this.application.clientId;
    this.fullScope = `${identifierUri}/${props.scope}`;
  }

  get issuer(): string {
    return `https://login.microsoftonline.com/${this.tenantId}/v2.0`;
  }
}
