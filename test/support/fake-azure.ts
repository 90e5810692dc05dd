// A loopback Azure for tests: a Container Apps managed-identity endpoint and a Key Vault over real TLS,
// answering the real @azure/identity and @azure/keyvault-secrets clients; scriptable and counting.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeAzureOptions {
  /** The vault is `https://<vaultName>.vault.azure.net:<port>/`. */
  readonly vaultName?: string;
  /** Client id of the user-assigned identity the token endpoint serves; any other is refused. */
  readonly clientId?: string;
  readonly tenantId?: string;
}

export interface TokenRequest {
  readonly query: Readonly<Record<string, string>>;
  readonly identityHeader: string | undefined;
  readonly status: number;
}

export interface VaultRequest {
  readonly method: string;
  readonly path: string;
  /** `challenge` = sent without a valid bearer token and answered 401 with WWW-Authenticate. */
  readonly outcome: 'challenge' | 'forbidden' | 'not-found' | 'secret' | 'bad-request';
}

const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

/** Creates a throw-away CA and a server certificate for `host`, signed by it, with the machine's openssl. */
function issueCertificate(dir: string, host: string): { ca: string; key: string; cert: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=mcp-continuity test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${host}`);
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext');
  return { ca: join(dir, 'ca.pem'), key: readFileSync(join(dir, 'server.key'), 'utf8'), cert: readFileSync(join(dir, 'server.pem'), 'utf8') };
}

async function listen(server: Server, dir: string, name: string): Promise<{ port: number; socket: string; unix: NetServer }> {
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  // The same server also accepts connections from a unix socket, for children in a network namespace.
  const socket = join(dir, `${name}.sock`);
  const unix = createNetServer((connection) => server.emit('connection', connection));
  await new Promise<void>((resolve, reject) => unix.once('error', reject).listen(socket, resolve));
  return { port: (server.address() as { port: number }).port, socket, unix };
}

export class FakeAzure {
  readonly tokenRequests: TokenRequest[] = [];
  readonly vaultRequests: VaultRequest[] = [];
  readonly identityHeader = `hdr-${randomUUID()}`;
  readonly #secrets = new Map<string, Array<{ version: string; value: string; created: number }>>();
  readonly #tokens = new Set<string>();
  #denyReads = 0;
  #denyAll = false;

  private constructor(
    readonly vaultHost: string,
    readonly clientId: string,
    readonly tenantId: string,
    readonly caFile: string,
    readonly dir: string,
    private readonly servers: Array<Server | NetServer>,
    readonly vault: { port: number; socket: string },
    readonly identity: { port: number; socket: string },
  ) {}

  static async start(options: FakeAzureOptions = {}): Promise<FakeAzure> {
    const vaultHost = `${options.vaultName ?? 'kv-fake'}.vault.azure.net`;
    const dir = mkdtempSync(join(tmpdir(), 'mcp-continuity-azure-'));
    const tls = issueCertificate(dir, vaultHost);
    const holder: { fake?: FakeAzure } = {};
    const vaultServer = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => holder.fake?.handleVault(req, res));
    const identityServer = createHttpServer((req, res) => holder.fake?.handleIdentity(req, res));
    const vault = await listen(vaultServer, dir, 'vault');
    const identity = await listen(identityServer, dir, 'identity');
    holder.fake = new FakeAzure(vaultHost, options.clientId ?? randomUUID(), options.tenantId ?? randomUUID(), tls.ca, dir,
      [vaultServer, identityServer, vault.unix, identity.unix], vault, identity);
    return holder.fake;
  }

  get vaultUrl(): string {
    return `https://${this.vaultHost}:${this.vault.port}/`;
  }

  get identityEndpoint(): string {
    return `http://127.0.0.1:${this.identity.port}/msi/token`;
  }

  /** Adds a new version of a secret (creating it) and returns the version id. */
  setSecret(name: string, value: string): string {
    const version = randomUUID().replaceAll('-', '');
    const versions = this.#secrets.get(name) ?? [];
    versions.push({ version, value, created: Math.floor(Date.now() / 1000) });
    this.#secrets.set(name, versions);
    return version;
  }

  /** 403 for the next `reads` authenticated reads, or for every read until `allow()` when omitted. */
  deny(reads?: number): void {
    if (reads === undefined) this.#denyAll = true;
    else this.#denyReads = reads;
  }

  allow(): void {
    this.#denyAll = false;
    this.#denyReads = 0;
  }

  /** Authenticated reads of one secret (challenges excluded), whatever the answer. */
  reads(name: string): number {
    return this.vaultRequests.filter((r) => r.outcome !== 'challenge' && r.path.startsWith(`/secrets/${name}/`)).length;
  }

  /** Environment for a child that runs the production Azure path against this fake. */
  childEnv(): Record<string, string> {
    return {
      NODE_EXTRA_CA_CERTS: this.caFile,
      IDENTITY_ENDPOINT: this.identityEndpoint,
      IDENTITY_HEADER: this.identityHeader,
      AZURE_CLIENT_ID: this.clientId,
      KEY_VAULT_URL: this.vaultUrl,
      TEST_LOOPBACK_HOSTS: this.vaultHost,
    };
  }

  /** Forwards for `loopback-dns.ts` when the child runs in its own network namespace. */
  forwardEnv(): Record<string, string> {
    return { TEST_LOOPBACK_FORWARD: `${this.vault.port}=${this.vault.socket},${this.identity.port}=${this.identity.socket}` };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map((s) => {
        (s as Server).closeAllConnections?.();
        return new Promise((resolve) => s.close(resolve));
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private handleIdentity(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const identityHeader = req.headers['x-identity-header'] as string | undefined;
    const answer = (status: number, body: unknown) => {
      this.tokenRequests.push({ query, identityHeader, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    // What the Container Apps identity endpoint checks: the secret header, API version, resource, identity.
    if (identityHeader !== this.identityHeader) return answer(401, { statusCode: 401, message: 'X-IDENTITY-HEADER is missing or wrong' });
    if (url.pathname !== '/msi/token' || query['api-version'] !== '2019-08-01') return answer(400, { error: 'invalid_request', error_description: 'unsupported path or api-version' });
    if (query.resource !== KEY_VAULT_RESOURCE) return answer(400, { error: 'invalid_resource', error_description: `no tokens for ${query.resource}` });
    if (query.client_id !== this.clientId) return answer(400, { error: 'invalid_request', error_description: 'Unable to load the proper Managed Identity.' });
    const token = `fake-token-${randomUUID()}`;
    this.#tokens.add(token);
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    answer(200, { access_token: token, expires_on: String(expiresOn), resource: KEY_VAULT_RESOURCE, token_type: 'Bearer', client_id: this.clientId });
  }

  private handleVault(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `https://${this.vaultHost}`);
    const record = (outcome: VaultRequest['outcome'], status: number, body: unknown, headers: Record<string, string> = {}) => {
      this.vaultRequests.push({ method: req.method ?? 'GET', path: url.pathname, outcome });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
    };
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !this.#tokens.has(bearer)) {
      // Key Vault's challenge: the client learns the authority and resource from this header.
      const challenge = `Bearer authorization="https://login.microsoftonline.com/${this.tenantId}", resource="${KEY_VAULT_RESOURCE}"`;
      return record('challenge', 401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, { 'www-authenticate': challenge });
    }
    const match = /^\/secrets\/([0-9A-Za-z-]+)\/([0-9a-f]*)$/.exec(url.pathname);
    if (req.method !== 'GET' || !match || !url.searchParams.get('api-version')) {
      return record('bad-request', 400, { error: { code: 'BadParameter', message: `unsupported request ${req.method} ${url.pathname}` } });
    }
    if (this.#denyAll || this.#denyReads > 0) {
      this.#denyReads = Math.max(0, this.#denyReads - 1);
      return record('forbidden', 403, { error: { code: 'Forbidden', message: `Caller is not authorized to perform action on resource.\r\nCaller: appid=${this.clientId}\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'`, innererror: { code: 'ForbiddenByRbac' } } });
    }
    const [, name = '', wanted] = match;
    const versions = this.#secrets.get(name) ?? [];
    const secret = wanted ? versions.find((v) => v.version === wanted) : versions.at(-1);
    if (!secret) {
      return record('not-found', 404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${name} was not found in this key vault.` } });
    }
    record('secret', 200, {
      value: secret.value,
      id: `https://${this.vaultHost}/secrets/${name}/${secret.version}`,
      attributes: { enabled: true, created: secret.created, updated: secret.created, recoveryLevel: 'Recoverable', recoverableDays: 7 },
      tags: {},
    });
  }
}
