// Mounts the fetch handler on node:http: streamed bodies (read only after auth), client address, body timeout.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { reportResponseEnds, responseEnded } from '../telemetry/response-end.js';
import { underRequest } from '../sessions/write-fence.js';
import type { App } from './app.js';

export interface NodeServerOptions {
  readonly logger: Logger;
  /** A request whose headers and body have not fully arrived in this time is answered 408 and closed. */
  readonly requestTimeoutMs: number;
  /** Take the client address from X-Forwarded-For's last hop (the proxy in front of us appends it). */
  readonly trustProxy: boolean;
}

const BAD_HOST = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: invalid Host header or request target' }, id: null });

const CLIENT_ERROR_STATUS: Readonly<Record<string, string>> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

export function createNodeServer(app: App, options: NodeServerOptions): Server {
  reportResponseEnds();
  const { logger, requestTimeoutMs } = options;
  // The response in progress on each connection: an error answer may go out only before its headers did.
  const inFlight = new WeakMap<Socket, ServerResponse>();
  const server = createServer(
    {
      // requestTimeout bounds receiving the request (headers + body), never the response: SSE streams are
      // unaffected. Node checks it on an interval (default 30 s), so check often enough to be on time.
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(30_000, requestTimeoutMs),
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(requestTimeoutMs / 10))),
      keepAliveTimeout: 5_000,
    },
    (req, res) => {
      const host = req.headers.host;
      // Origin-form targets only ("/mcp"): an absolute or "*" target would not form our URL.
      if ((host !== undefined && !isValidAuthority(host)) || !req.url?.startsWith('/')) {
        res.writeHead(400, { 'content-type': 'application/json', connection: 'close' }).end(BAD_HOST);
        return;
      }
      inFlight.set(req.socket, res);
      res.once('close', () => {
        if (inFlight.get(req.socket) === res) inFlight.delete(req.socket);
      });
      serve(app, req, res, options).catch((error: unknown) => {
        // Only writing the response can get here (e.g. a header node refuses): the client gets a cut connection.
        logger.error({ err: error }, 'could not write the response');
        res.destroy();
      });
    },
  );
  // A trickled body cut by the timeout, or a client that hangs up, is routine: debug, never a stack trace.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    logger.debug({ code: error.code }, 'connection closed before its request was complete');
    // What node answers when nobody listens for clientError (it checks the same); we only change the log level.
    if (socket.writable && !inFlight.get(socket)?.headersSent) socket.write(`HTTP/1.1 ${CLIENT_ERROR_STATUS[error.code ?? ''] ?? '400 Bad Request'}\r\nConnection: close\r\n\r\n`);
    socket.destroy();
  });
  return server;
}

async function serve(app: App, req: IncomingMessage, res: ServerResponse, options: NodeServerOptions): Promise<void> {
  let response: Response | undefined;
  try {
    response = await respond(app, req, res, options);
  } finally {
    // A traced SSE answer ends its span here (telemetry: no wrapper stream around the body).
    if (response) responseEnded(response);
  }
}

async function respond(app: App, req: IncomingMessage, res: ServerResponse, options: NodeServerOptions): Promise<Response | undefined> {
  const abort = new AbortController();
  // Registered before the body stream's own listeners, so the signal is aborted when the app sees the error.
  req.once('error', () => abort.abort());
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  let response: Response;
  try {
    const method = req.method ?? 'GET';
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
    const hasBody = method !== 'GET' && method !== 'HEAD';
    // The body stays a stream: the app authenticates from the headers first and reads it only if allowed.
    const request = new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
      method,
      headers,
      signal: abort.signal,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' } : {}),
    } as RequestInit);
    // Data writes check the signal before they leave (app/sessions/write-fence.ts).
    response = await underRequest({ signal: abort.signal, arrivedAt: Date.now() }, () => app.fetch(request, { clientAddress: clientAddress(req, options.trustProxy) }));
  } catch (error) {
    if (abort.signal.aborted) return undefined;
    options.logger.error({ err: error }, 'request failed before reaching the app');
    response = Response.json({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }, { status: 500 });
  }
  if (res.destroyed) {
    await response.body?.cancel().catch(() => {});
    return response;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) headers[name] = value;
  // An unread body (refused before reading) would otherwise be drained to keep the connection alive.
  if (!req.complete) headers.connection = 'close';
  res.writeHead(response.status, headers);
  if (response.body === null) {
    res.end();
    return response;
  }
  if (headers['content-type']?.startsWith('text/event-stream')) res.flushHeaders();
  const reader = response.body.getReader();
  abort.signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || abort.signal.aborted) break;
      if (!res.write(value)) await drainedOrClosed(res);
    }
  } catch {
    // The stream was cancelled because the client left; nothing to answer.
  }
  res.end();
  return response;
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** The socket's peer, or with a trusted proxy the hop it appended last to X-Forwarded-For (earlier hops are client-supplied). */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    const forwarded = req.headers['x-forwarded-for'];
    const last = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded)?.split(',').pop()?.trim();
    if (last && isIP(last)) return normalize(last);
  }
  const socket = req.socket.remoteAddress;
  return socket ? normalize(socket) : undefined;
}

const normalize = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);

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
