// A local OAuth issuer for tests: OpenID discovery and a JWKS over real HTTP, tokens signed with jose, key rotation.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export class TestIssuer {
  /** How many times the JWKS was fetched: the resource server's cache and refetch policy made visible. */
  jwksFetches = 0;
  discoveryFetches = 0;
  #published: SigningKey[];
  #signing: SigningKey;
  #generation = 1;

  private constructor(
    private readonly server: Server,
    readonly issuer: string,
    first: SigningKey,
  ) {
    this.#published = [first];
    this.#signing = first;
  }

  static async start(): Promise<TestIssuer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tenant-1/v2.0`;
    const test = new TestIssuer(server, issuer, await newKey('key-1'));
    server.on('request', (req, res) => {
      if (req.url === '/tenant-1/v2.0/.well-known/openid-configuration') {
        test.discoveryFetches += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/keys` }));
      } else if (req.url === '/tenant-1/v2.0/keys') {
        test.jwksFetches += 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: test.#published.map((k) => k.jwk) }));
      } else {
        res.writeHead(404).end();
      }
    });
    return test;
  }

  get jwksUrl(): string {
    return `${this.issuer}/keys`;
  }

  /** Rotates as issuers do: a new key is published and signs from now on; the old one leaves the JWKS. */
  async rotate(): Promise<string> {
    this.#generation += 1;
    this.#signing = await newKey(`key-${this.#generation}`);
    this.#published = [this.#signing];
    return this.#signing.kid;
  }

  /** A key the JWKS never publishes: its tokens must never verify. */
  async unpublishedKey(): Promise<SigningKey> {
    return newKey(`rogue-${Math.random().toString(36).slice(2)}`);
  }

  /** Signs an access token; defaults give a valid token for `audience` valid for 5 minutes. */
  async token(audience: string, claims: JWTPayload = {}, options: { expiresIn?: string | number; key?: SigningKey; issuer?: string } = {}): Promise<string> {
    const key = options.key ?? this.#signing;
    return new SignJWT({ sub: 'user-1', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(options.issuer ?? this.issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '5m')
      .sign(key.privateKey);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
