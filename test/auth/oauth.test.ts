// OAuth mode against a local issuer: RFC 9728 metadata, exact challenges, JWT checks, JWKS rotation, no tokens in logs.
import { discoverOAuthProtectedResourceMetadata, extractWWWAuthenticateParams, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPost } from '../support/clients.js';
import { startHarness, type Harness } from './harness.js';
import { TestIssuer } from './issuer.js';

const AUDIENCE = 'c0ffee00-1111-2222-3333-444455556666';
const SCOPE = `api://${AUDIENCE}/mcp.access`;
const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };

let issuer: TestIssuer;
let server: Harness;
const tokensSent: string[] = [];

beforeAll(async () => {
  issuer = await TestIssuer.start();
  server = await startHarness({
    // No OAUTH_JWKS_URL: the keys are discovered from the issuer's openid-configuration.
    auth: { mode: 'oauth', issuer: issuer.issuer, audience: [AUDIENCE], jwksUrl: undefined, requiredScopes: [SCOPE], rolesAsScopes: false },
    oauth: { jwksCooldownMs: 2000, clockToleranceS: 1 },
  });
});
afterAll(async () => {
  await server?.close();
  await issuer?.close();
});

/** The SDK 1.32 client's way of carrying a token: an auth provider that already holds one. */
function providerWith(token: string): OAuthClientProvider {
  return {
    redirectUrl: 'http://127.0.0.1/callback',
    clientMetadata: { redirect_uris: ['http://127.0.0.1/callback'], client_name: 'oauth-test' },
    clientInformation: () => ({ client_id: 'oauth-test' }),
    tokens: () => ({ access_token: token, token_type: 'Bearer' }),
    saveTokens: () => {},
    redirectToAuthorization: () => {
      throw new Error('the test client never signs in interactively');
    },
    saveCodeVerifier: () => {},
    codeVerifier: () => 'unused',
  };
}

async function token(claims: Record<string, unknown> = {}, options: Parameters<TestIssuer['token']>[2] = {}, audience = AUDIENCE): Promise<string> {
  const signed = await issuer.token(audience, { scp: 'mcp.access', ...claims }, options);
  tokensSent.push(signed);
  return signed;
}

const withToken = async (value: string) => rawPost(server.url, INIT, { authorization: `Bearer ${value}` });
const metadataUrl = () => `${server.origin}/.well-known/oauth-protected-resource/mcp`;

describe('protected-resource metadata (RFC 9728)', () => {
  it('serves the same document at the path form and the root form', async () => {
    const expected = {
      resource: server.url,
      authorization_servers: [issuer.issuer],
      scopes_supported: [SCOPE],
      bearer_methods_supported: ['header'],
    };
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const response = await fetch(`${server.origin}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toEqual(expected);
    }
  });

  it('is what the SDK client discovers for the endpoint', async () => {
    const metadata = await discoverOAuthProtectedResourceMetadata(server.url);
    expect(metadata.resource).toBe(server.url);
    expect(metadata.authorization_servers).toEqual([issuer.issuer]);
  });
});

describe('challenges', () => {
  it('answers a request without a token 401 with exactly resource_metadata and scope', async () => {
    const response = await rawPost(server.url, INIT);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl()}", scope="${SCOPE}"`);
    expect(await response.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    const params = extractWWWAuthenticateParams(response);
    expect(params.resourceMetadataUrl?.href).toBe(metadataUrl());
    expect(params.scope).toBe(SCOPE);
  });

  it.each([
    ['expired', () => token({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 })],
    ['for another audience', () => token({}, {}, 'some-other-api')],
    ['from another issuer', () => token({}, { issuer: 'https://login.microsoftonline.com/other-tenant/v2.0' })],
    ['signed by a key the issuer never published', async () => token({}, { key: await issuer.unpublishedKey() })],
    ['not a JWT', async () => 'not-a-jwt'],
  ])('answers a token %s 401 with error="invalid_token"', async (_label, make) => {
    const response = await withToken(await make());
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl()}", scope="${SCOPE}", error="invalid_token"`);
  });

  it('answers a valid token without the required scope 403 insufficient_scope', async () => {
    const response = await withToken(await token({ scp: 'profile' }));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${metadataUrl()}", scope="${SCOPE}", error="insufficient_scope"`);
    expect((await response.json()) as unknown).toMatchObject({ error: { message: expect.stringContaining(SCOPE) } });
  });

  it('accepts the scope in the `scope` claim of a standard issuer, not only Entra `scp`', async () => {
    expect((await withToken(await token({ scp: undefined, scope: `openid ${SCOPE}` }))).status).toBe(200);
  });
});

describe('an SDK client with a token', () => {
  it('opens a session and calls tools', async () => {
    const client = new Client({ name: 'oauth-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider: providerWith(await token({ tid: 't1', oid: 'o1' })) }));
    const info = await client.callTool({ name: 'session_info', arguments: {} });
    expect(info.isError).toBeFalsy();
    await client.close();
  });

  it('is refused when its token has expired, and does not get a session', async () => {
    const client = new Client({ name: 'oauth-test', version: '1.0.0' });
    const expired = await token({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider: providerWith(expired) }))).rejects.toThrow();
    await client.close();
  });
});

describe('signing keys', () => {
  it('fetches the JWKS once and serves later tokens from the cache', async () => {
    const [jwks, discovery] = [issuer.jwksFetches, issuer.discoveryFetches];
    for (let i = 0; i < 10; i++) expect((await withToken(await token({ sub: `cached-${i}` }))).status).toBe(200);
    expect(issuer.jwksFetches - jwks).toBe(0);
    expect(issuer.discoveryFetches - discovery).toBe(0);
  });

  it('picks up a rotated signing key, refetching on an unknown kid at most once per cooldown; drops remembered tokens at expiry', async () => {
    const before = issuer.jwksFetches;
    const rogue = await issuer.unpublishedKey();
    const rogueTokens = await Promise.all(Array.from({ length: 20 }, () => token({}, { key: rogue })));
    // A verified token is remembered, but never past its expiry.
    const shortLived = await token({ sub: 'short' }, { expiresIn: Math.floor(Date.now() / 1000) + 1 });
    expect([(await withToken(shortLived)).status, (await withToken(shortLived)).status]).toEqual([200, 200]);
    await new Promise((resolve) => setTimeout(resolve, 2100)); // past the cooldown since the last fetch, and the expiry (+1 s tolerance)
    expect((await withToken(shortLived)).status).toBe(401);
    await issuer.rotate();
    const rotated = await token({ sub: 'after-rotation' });
    expect((await withToken(rotated)).status).toBe(200);
    expect(issuer.jwksFetches - before).toBe(1);
    // A flood of unknown kids inside the cooldown costs the issuer nothing more.
    const flood = await Promise.all(rogueTokens.map(async (t) => (await withToken(t)).status));
    expect(new Set(flood)).toEqual(new Set([401]));
    expect(issuer.jwksFetches - before).toBe(1);
  });
});

describe('logs', () => {
  it('never contain a token, valid or not', () => {
    expect(tokensSent.length).toBeGreaterThan(10);
    const all = server.logs.join('\n');
    expect(all).toContain('refused an invalid token'); // the refusals were logged, at debug
    for (const sent of tokensSent) expect(all).not.toContain(sent.split('.')[2] as string);
  });
});
