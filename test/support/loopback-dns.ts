// Preload (--import) for Azure tests: resolves the fake vault's host to 127.0.0.1 and, inside a network
// namespace, forwards loopback ports to the fake's unix sockets outside it. Read by test children only.
import dns from 'node:dns';
import net from 'node:net';

const hosts = new Set((process.env.TEST_LOOPBACK_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
const mapped = (hostname: unknown) => typeof hostname === 'string' && hosts.has(hostname.toLowerCase());

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;
const originalLookup = dns.lookup;
// The Key Vault client insists on a host ending in .vault.azure.net, so only that name is rewritten;
// every other lookup (including 127.0.0.1 for the identity endpoint) goes to the real resolver.
const lookup = function (hostname: string, options: unknown, callback?: unknown) {
  const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
  if (!mapped(hostname)) return (originalLookup as (...args: unknown[]) => void).call(dns, hostname, options, callback);
  const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all;
  process.nextTick(() => (all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)));
};
(dns as { lookup: unknown }).lookup = lookup;

const originalPromiseLookup = dns.promises.lookup;
(dns.promises as { lookup: unknown }).lookup = async (hostname: string, options?: dns.LookupOptions) => {
  if (!mapped(hostname)) return originalPromiseLookup(hostname, options ?? {});
  return options?.all ? [{ address: '127.0.0.1', family: 4 }] : { address: '127.0.0.1', family: 4 };
};

// TEST_LOOPBACK_FORWARD="443=/tmp/x/vault.sock,8081=/tmp/x/identity.sock": a unix socket is a file, so it
// crosses the namespace boundary where TCP cannot; the fake stays in the test process, scriptable.
const forwards = (process.env.TEST_LOOPBACK_FORWARD ?? '').split(',').filter(Boolean);
await Promise.all(
  forwards.map((entry) => {
    const [port, path] = entry.split('=') as [string, string];
    const server = net.createServer((inbound) => {
      const outbound = net.connect(path);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    server.unref();
    return new Promise<void>((resolve, reject) => server.once('error', reject).listen(Number(port), '127.0.0.1', resolve));
  }),
);
