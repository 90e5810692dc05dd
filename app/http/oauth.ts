// OAuth 2.1 resource server (MCP authorization 2025-11-25): RFC 9728 metadata, Bearer challenges, JWT checks.
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import { bearerToken } from './api-keys.js';
import type { AuthOutcome, Authenticator } from './auth.js';
import { jsonRpcError, RPC } from './errors.js';

export interface OAuthOptions {
  /** Expected `iss`; also the authorization server announced in the metadata. */
  readonly issuer: string;
  /** Accepted `aud` values. */
  readonly audience: readonly string[];
  /** JWKS URL; default: discovered from `<issuer>/.well-known/openid-configuration`. */
  readonly jwksUrl: string | undefined;
  /** Scopes every token must carry. */
  readonly requiredScopes: readonly string[];
  /** Count `roles` as scopes (Entra app-only tokens carry roles, not `scp`). */
  readonly rolesAsScopes: boolean;
  /** Public URL of the MCP endpoint: the metadata's `resource`. */
  readonly publicUrl: string;
  readonly logger: Logger;
  /** Least time between two JWKS refetches caused by an unknown `kid`. Default 30 s (jose's). */
  readonly jwksCooldownMs?: number;
  /** Clock skew accepted on `exp`/`nbf`. Default 30 s. */
  readonly clockToleranceS?: number;
  /** Longest a verified token is trusted without checking its signature again. Default 5 min. */
  readonly verifiedCacheMs?: number;
}

/** What a verified token proved, kept so the next request with it skips the signature check. */
interface Verified {
  readonly principal: string;
  readonly scopes: readonly string[];
  /** Epoch ms: the token's `exp`, or sooner so a key withdrawn from the JWKS stops working within bounds. */
  readonly until: number;
}

const VERIFIED_MAX = 10_000;

type Refusal = Extract<AuthOutcome, { ok: false }>;

const WELL_KNOWN = '/.well-known/oauth-protected-resource';
/** Asymmetric algorithms only: a JWKS never holds the shared secret an HS256 token would need. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** jose errors that mean "we could not get the keys", not "the token is bad": answer 503, not 401. */
const UNAVAILABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JOSE_GENERIC', 'ERR_JWKS_INVALID']);

type Jwks = ReturnType<typeof createRemoteJWKSet>;

export class OAuthResourceServer implements Authenticator {
  readonly mode = 'oauth';
  readonly #o: OAuthOptions;
  readonly #metadataUrl: string;
  readonly #metadataPaths: ReadonlySet<string>;
  readonly #metadataBody: string;
  #jwks: Promise<Jwks> | undefined;
  /** Keyed by the token's SHA-256, never the token; Map order is insertion order, oldest evicted first. */
  readonly #verified = new Map<string, Verified>();

  constructor(options: OAuthOptions) {
    this.#o = options;
    const resource = new URL(options.publicUrl);
    const resourcePath = resource.pathname === '/' ? '' : resource.pathname.replace(/\/$/, '');
    // RFC 9728 section 3.1: the well-known segment goes between the host and the resource's path.
    this.#metadataUrl = `${resource.origin}${WELL_KNOWN}${resourcePath}`;
    this.#metadataPaths = new Set([`${WELL_KNOWN}${resourcePath}`, WELL_KNOWN]);
    this.#metadataBody = JSON.stringify({
      resource: options.publicUrl,
      authorization_servers: [options.issuer],
      ...(options.requiredScopes.length > 0 ? { scopes_supported: options.requiredScopes } : {}),
      bearer_methods_supported: ['header'],
    });
  }

  /** The protected-resource metadata URL named in every challenge. */
  get metadataUrl(): string {
    return this.#metadataUrl;
  }

  metadata(path: string): Response | undefined {
    if (!this.#metadataPaths.has(path)) return undefined;
    // Public by design; browser-based clients fetch it cross-origin.
    return new Response(this.#metadataBody, {
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600', 'access-control-allow-origin': '*' },
    });
  }

  async authenticate(request: Request): Promise<AuthOutcome> {
    const header = request.headers.get('authorization');
    const token = bearerToken(header);
    if (token === undefined) {
      this.#o.logger.debug({ reason: header === null ? 'missing' : 'not a bearer token' }, 'refused an unauthenticated request');
      return this.#refuse(401, header === null ? undefined : 'invalid_token', 'Unauthorized: send an OAuth access token as Authorization: Bearer <token>');
    }
    const verified = await this.#verify(token);
    if ('response' in verified) return verified;
    const missing = this.#o.requiredScopes.filter((required) => !verified.scopes.some((s) => scopeSatisfies(s, required)));
    if (missing.length > 0) {
      this.#o.logger.debug({ missing }, 'refused a token without the required scopes');
      return this.#refuse(403, 'insufficient_scope', `Forbidden: the token lacks the scope(s) ${missing.join(' ')}: sign in again and grant them`);
    }
    return { ok: true, principal: verified.principal };
  }

  /**
   * Checks signature and claims, or reuses the result for a token already verified: a client sends the
   * same token on every request until it expires, and an RS256 check costs more than the rest of a warm
   * request's auth.
   */
  async #verify(token: string): Promise<Verified | Refusal> {
    const digest = createHash('sha256').update(token).digest('base64url');
    const now = Date.now();
    const cached = this.#verified.get(digest);
    if (cached && cached.until > now) return cached;
    if (cached) this.#verified.delete(digest);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.#keys(), {
        issuer: this.#o.issuer,
        audience: [...this.#o.audience],
        algorithms: ALGORITHMS,
        clockTolerance: this.#o.clockToleranceS ?? 30,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      return this.#failure(error);
    }
    const verified: Verified = {
      principal: principalOf(payload),
      scopes: grantedScopes(payload, this.#o.rolesAsScopes),
      until: Math.min((payload.exp as number) * 1000, now + (this.#o.verifiedCacheMs ?? 300_000)),
    };
    if (this.#verified.size >= VERIFIED_MAX) this.#verified.delete(this.#verified.keys().next().value as string);
    this.#verified.set(digest, verified);
    return verified;
  }

  #failure(error: unknown): Refusal {
    const code = error instanceof errors.JOSEError ? error.code : undefined;
    if (code === undefined || UNAVAILABLE.has(code)) {
      // The issuer's keys are unreachable: the token may be fine, so no invalid_token (which would send
      // the client to sign in again); retry shortly. Forget a failed discovery so the next call retries.
      this.#jwks = undefined;
      this.#o.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "cannot load the issuer's signing keys (JWKS)");
      return { ok: false, response: jsonRpcError(503, RPC.serverError, "Service unavailable: cannot load the token issuer's signing keys; retry shortly", { 'retry-after': '5' }) };
    }
    this.#o.logger.debug({ reason: code }, 'refused an invalid token');
    const message = code === 'ERR_JWT_EXPIRED' ? 'Unauthorized: the access token has expired: refresh it' : 'Unauthorized: the access token is not valid for this server';
    return this.#refuse(401, 'invalid_token', message);
  }

  #refuse(status: 401 | 403, error: 'invalid_token' | 'insufficient_scope' | undefined, message: string): Refusal {
    let challenge = `Bearer resource_metadata="${this.#metadataUrl}"`;
    if (this.#o.requiredScopes.length > 0) challenge += `, scope="${this.#o.requiredScopes.join(' ')}"`;
    if (error) challenge += `, error="${error}"`;
    return { ok: false, response: jsonRpcError(status, RPC.serverError, message, { 'www-authenticate': challenge }) };
  }

  /** The key set: jose caches it, refetches on an unknown `kid` at most once per cooldown, and on age. */
  #keys(): Promise<Jwks> {
    this.#jwks ??= (async () => {
      const url = this.#o.jwksUrl ?? (await discoverJwksUri(this.#o.issuer));
      return createRemoteJWKSet(new URL(url), { cooldownDuration: this.#o.jwksCooldownMs ?? 30_000, timeoutDuration: 5000 });
    })();
    return this.#jwks;
  }
}

/** OpenID Connect discovery: `jwks_uri` of the issuer, checked to belong to that issuer. */
async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5000), headers: { accept: 'application/json' } });
  if (!response.ok) throw new errors.JOSEError(`OpenID configuration at ${url} answered ${response.status}`);
  const document = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (document.issuer !== issuer) throw new errors.JOSEError(`OpenID configuration at ${url} names issuer ${String(document.issuer)}, not ${issuer}`);
  if (typeof document.jwks_uri !== 'string') throw new errors.JOSEError(`OpenID configuration at ${url} has no jwks_uri`);
  return document.jwks_uri;
}

function grantedScopes(payload: JWTPayload, rolesAsScopes: boolean): string[] {
  const raw = typeof payload.scp === 'string' ? payload.scp : typeof payload.scope === 'string' ? payload.scope : '';
  const scopes = raw.split(' ').filter(Boolean);
  if (rolesAsScopes && Array.isArray(payload.roles)) scopes.push(...payload.roles.filter((r): r is string => typeof r === 'string'));
  return scopes;
}

/** Entra puts the bare scope name (`mcp.access`) in `scp` for a scope requested as `api://<app>/mcp.access`. */
function scopeSatisfies(granted: string, required: string): boolean {
  return granted === required || required.endsWith(`/${granted}`);
}

/** Entra ID's issuers: v2.0 tokens, and v1 tokens (sts.windows.net). The tenant id is part of the issuer. */
const ENTRA_ISSUER = /^https:\/\/(?:login\.microsoftonline\.com\/([0-9a-f-]{36})\/v2\.0|sts\.windows\.net\/([0-9a-f-]{36})\/)$/i;

/**
 * An opaque, stable principal, never the token. Entra's (tenant, object id) only for a token Entra issued
 * for that very tenant (its `sub` is pairwise per app, `oid` is the user): any other issuer may put
 * whatever it likes in `tid` and `oid`, so there it is (issuer, subject).
 */
function principalOf(payload: JWTPayload): string {
  const tenant = typeof payload.iss === 'string' ? ENTRA_ISSUER.exec(payload.iss) : null;
  const entra = tenant !== null && typeof payload.tid === 'string' && typeof payload.oid === 'string' && payload.tid.toLowerCase() === (tenant[1] ?? tenant[2])?.toLowerCase();
  const pair = entra ? ['tid+oid', payload.tid, payload.oid] : ['iss+sub', payload.iss, payload.sub];
  return `oauth:${createHash('sha256').update(JSON.stringify(pair)).digest('hex').slice(0, 32)}`;
}
