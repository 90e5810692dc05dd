
// An in-process server on a real socket for the auth tests: real app, session host, node adapter; logs captured.
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { AuthConfig, Rate } from '../../app/config.js';
import { createApp, type App } from '../../app/http/app.js';
import { createAuthenticator, type AuthenticatorOptions } from '../../app/http/auth.js';
import { createNodeServer } from '../../app/http/node-server.js';
import { testHost } from '../support/host.js';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import { freePort } from '../support/redis.js';

export interface HarnessOptions {
  readonly auth: AuthConfig;
  readonly oauth?: AuthenticatorOptions['oauth'];
  readonly sessionCreateRate?: Rate;
  readonly requestTimeoutMs?: number;
  readonly trustProxy?: boolean;
}

export interface Harness {
  readonly url: string;
  readonly origin: string;
  readonly app: App;
  /** Every log line, at every level, as written. */
  readonly logs: string[];
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino({ level: 'trace' }, sink);
  const store = new MemorySessionStore();
  const host = testHost(store, logger);
  const app = createApp({
    host,
    store,
    allowedHosts: ['127.0.0.1', 'localhost'],
    allowedOrigins: [origin],
    authenticator: createAuthenticator({ auth: options.auth, publicUrl: `${origin}/mcp`, logger, ...(options.oauth ? { oauth: options.oauth } : {}) }),
    sessionCreateRate: options.sessionCreateRate,
    logger,
  });
  const server: Server = createNodeServer(app, { logger, requestTimeoutMs: options.requestTimeoutMs ?? 30_000, trustProxy: options.trustProxy ?? false });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `${origin}/mcp`,
    origin,
    app,
    logs,
    async close() {
      await host.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
