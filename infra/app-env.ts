// Environment names of the server's auth settings, which infra sets but app/config.ts does not define yet.

/**
 * The app side of issue 9 adds these to `ENV` in app/config.ts. Until that lands, infra names them here;
 * afterwards replace each with its `ENV` entry (test/infra/container-app.test.ts checks the names either way).
 */
export const AUTH_ENV = {
  authMode: 'AUTH_MODE',
  apiKeys: 'MCP_API_KEYS',
  oauthIssuer: 'OAUTH_ISSUER',
  oauthAudience: 'OAUTH_AUDIENCE',
  oauthRequiredScopes: 'OAUTH_REQUIRED_SCOPES',
  publicUrl: 'MCP_PUBLIC_URL',
} as const;
