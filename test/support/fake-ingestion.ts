// A loopback Azure Monitor ingestion endpoint over real TLS (a throw-away CA): keeps the envelopes the exporter sends.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface Envelope {
  readonly name: string;
  readonly iKey?: string;
  readonly tags?: Record<string, string>;
  readonly data?: { baseType?: string; baseData?: Record<string, any> };
}

/** A CA and a certificate for 127.0.0.1 (an IP SAN: no DNS needed), made with the machine's openssl. */
function loopbackCertificate(dir: string) {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...key, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=ingestion test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', ...key, '-keyout', 'host.key', '-out', 'host.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'host.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'host.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'host.pem', '-days', '1', '-extfile', 'host.ext');
  return { caFile: join(dir, 'ca.pem'), key: readFileSync(join(dir, 'host.key')), cert: readFileSync(join(dir, 'host.pem')) };
}

export class FakeIngestion {
  readonly envelopes: Envelope[] = [];
  /** Raw request bodies (decompressed), to check what never leaves the process. */
  readonly bodies: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly caFile: string,
    private readonly dir: string,
  ) {}

  static async start(): Promise<FakeIngestion> {
    const dir = mkdtempSync(join(tmpdir(), 'mcp-ingestion-'));
    const tls = loopbackCertificate(dir);
    const server = createServer({ key: tls.key, cert: tls.cert });
    const fake = new FakeIngestion(server, tls.caFile, dir);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        fake.bodies.push(text);
        // The track endpoint takes a JSON array (or newline-separated envelopes).
        const items = text.trimStart().startsWith('[') ? (JSON.parse(text) as Envelope[]) : text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Envelope);
        if (req.url?.includes('/track')) fake.envelopes.push(...items);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** A connection string pointing the exporter here. */
  connectionString(instrumentationKey: string): string {
    return `InstrumentationKey=${instrumentationKey};IngestionEndpoint=https://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
