// The principal handed to the session host: undefined without auth, `key:<id>`, or an opaque hash of the OAuth identity.
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthConfig } from '../../app/config.js';
import { createApp, type McpEndpoint } from '../../app/http/app.js';
import { createAuthenticator } from '../../app/http/auth.js';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import { TestIssuer } from './issuer.js';

const silent = pino({ level: 'silent' });
const AUDIENCE = 'api-client-id';
const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '00000000-1111-2222-3333-444444444444';

let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await TestIssuer.start();
});
afterAll(async () => issuer?.close());

/** An app whose MCP endpoint only records who called it. */
function recording(auth: AuthConfig) {
  const seen: Array<string | undefined> = [];
  const endpoint: McpEndpoint = {
    async handle(_request, principal) {
      seen.push(principal);
      return Response.json({ ok: true });
    },
    stats: {},
  };
  const app = createApp({
    host: endpoint,
    store: new MemorySessionStore(),
    allowedHosts: ['localhost'],
    authenticator: createAuthenticator({ auth, publicUrl: 'https://mcp.example.com/mcp', logger: silent }),
    logger: silent,
  });
  const call = async (token?: string) => {
    const headers: Record<string, string> = { host: 'localhost', 'mcp-session-id': 'any' };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    return (await app.fetch(new Request('http://localhost/mcp', { method: 'POST', headers, body: '{}' }))).status;
  };
  return { seen, call };
}

const oauth = (rolesAsScopes = false, iss = issuer.issuer): AuthConfig => ({ mode: 'oauth', issuer: iss, audience: [AUDIENCE], jwksUrl: issuer.jwksUrl, requiredScopes: ['mcp.access'], rolesAsScopes });
const hash = (value: unknown) => `oauth:${createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32)}`;

describe('principal', () => {
  it('is undefined when auth is off', async () => {
    const { seen, call } = recording({ mode: 'none' });
    expect(await call()).toBe(200);
    expect(seen).toEqual([undefined]);
  });

  it('is key:<id> of the key that matched', async () => {
    const { seen, call } = recording({ mode: 'key', keys: [{ id: 'laptop', key: 'k'.repeat(20) }, { id: 'ci', key: 'c'.repeat(20) }] });
    expect(await call('c'.repeat(20))).toBe(200);
    expect(await call('k'.repeat(20))).toBe(200);
    expect(seen).toEqual(['key:ci', 'key:laptop']);
  });

  it("is a hash of Entra's (tid, oid) for a token Entra issued (v2.0 and v1 issuers), and never the token", async () => {
    for (const entraIssuer of [`https://login.microsoftonline.com/${TENANT}/v2.0`, `https://sts.windows.net/${TENANT}/`]) {
      const { seen, call } = recording(oauth(false, entraIssuer));
      const entra = await issuer.token(AUDIENCE, { scp: 'mcp.access', tid: TENANT, oid: 'object', sub: 'pairwise-1' }, { issuer: entraIssuer });
      const sameUserOtherApp = await issuer.token(AUDIENCE, { scp: 'mcp.access', tid: TENANT, oid: 'object', sub: 'pairwise-2' }, { issuer: entraIssuer });
      for (const token of [entra, sameUserOtherApp]) expect(await call(token)).toBe(200);
      expect(seen).toEqual([hash(['tid+oid', TENANT, 'object']), hash(['tid+oid', TENANT, 'object'])]);
      expect(seen[0]).toMatch(/^oauth:[0-9a-f]{32}$/);
    }
    expect(issuer.discoveryFetches).toBe(0); // OAUTH_JWKS_URL given: no discovery
  });

  it('is a hash of (iss, sub) for any other issuer, even when the token carries tid and oid: no one can claim an Entra principal', async () => {
    const { seen, call } = recording(oauth());
    const standard = await issuer.token(AUDIENCE, { scp: 'mcp.access', sub: 'alice' });
    const impostor = await issuer.token(AUDIENCE, { scp: 'mcp.access', tid: TENANT, oid: 'object', sub: 'mallory' });
    for (const token of [standard, impostor]) expect(await call(token)).toBe(200);
    expect(seen).toEqual([hash(['iss+sub', issuer.issuer, 'alice']), hash(['iss+sub', issuer.issuer, 'mallory'])]);
    expect(seen).not.toContain(hash(['tid+oid', TENANT, 'object']));
  });

  it("is (iss, sub) for an Entra issuer whose tenant is not the token's tid", async () => {
    const entraIssuer = `https://login.microsoftonline.com/${TENANT}/v2.0`;
    const { seen, call } = recording(oauth(false, entraIssuer));
    const otherTenant = await issuer.token(AUDIENCE, { scp: 'mcp.access', tid: OTHER_TENANT, oid: 'object', sub: 'pairwise-1' }, { issuer: entraIssuer });
    expect(await call(otherTenant)).toBe(200);
    expect(seen).toEqual([hash(['iss+sub', entraIssuer, 'pairwise-1'])]);
  });

  it('ignores roles unless they are configured to count as scopes', async () => {
    const appOnly = await issuer.token(AUDIENCE, { roles: ['mcp.access'], sub: 'daemon' });
    expect(await recording(oauth()).call(appOnly)).toBe(403);
    expect(await recording(oauth(true)).call(appOnly)).toBe(200);
  });
});
