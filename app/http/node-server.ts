// Mounts the fetch handler on node:http, refusing requests whose Host cannot even form a URL.
import { createServer, type Server } from 'node:http';
import { toNodeHandler } from '@modelcontextprotocol/node';
import type { Logger } from 'pino';
import type { App } from './app.js';

export function createNodeServer(app: App, options: { maxBodyBytes: number; logger: Logger }): Server {
  const handler = toNodeHandler(app, {
    maxRequestBodySize: options.maxBodyBytes,
    onerror: (error) => options.logger.error({ err: error }, 'request failed before reaching the app'),
  });
  const server = createServer((req, res) => {
    const host = req.headers.host;
    if (host !== undefined && !isValidAuthority(host)) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: invalid Host header' }, id: null }));
      return;
    }
    void handler(req, res);
  });
  // Streams are long-lived; keep the defaults from cutting an idle SSE connection.
  server.requestTimeout = 0;
  server.headersTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

/** host[:port] only: no user info, spaces or other characters a URL parser would quietly re-encode. */
const AUTHORITY = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?$/;

function isValidAuthority(host: string): boolean {
  if (host.length === 0 || host.length > 255 || !AUTHORITY.test(host)) return false;
  try {
    return new URL(`http://${host}/`).host.length > 0;
  } catch {
    return false;
  }
}
