// The stateless 2026-07-28 endpoint beside the legacy session host: which requests it claims, how it serves them, its drain.
import { createMcpHandler, isLegacyRequest, readRequestBody, SUPPORTED_PROTOCOL_VERSIONS, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { HttpError, RPC } from '../http/errors.js';
import { principalHash } from '../sessions/shape.js';
import type { ScratchpadStore } from '../sessions/scratchpad-store.js';
import type { ReplicaInfo } from '../tools/index.js';
import { FleetEventBus } from './event-bus.js';
import { modernServerFactory } from './server.js';

export interface ModernEndpointOptions {
  readonly scratchpads: ScratchpadStore;
  readonly replica: ReplicaInfo;
  readonly logger: Logger;
  /** The fleet's `requestState` HMAC key (at least 32 bytes). */
  readonly requestStateKey: string | Uint8Array;
  /** Largest POST body accepted (the legacy host's limit too). */
  readonly maxBodyBytes: number;
  /** Most open listens on this replica. Default 1024. */
  readonly maxListens?: number;
}

/** A request the modern endpoint takes, with its body already parsed (read once, from a clone). */
export interface ModernClaim {
  readonly body: unknown;
}

const methodOf = (body: unknown) => (typeof body === 'object' && body !== null ? (body as { method?: unknown }).method : undefined);

/**
 * server/discover names every version this endpoint serves. The SDK's answer lists only the modern ones
 * (2025 versions are negotiated by initialize); here initialize on the same URL works, so say so.
 */
async function withLegacyVersions(response: Response): Promise<Response> {
  if (response.status !== 200 || !response.headers.get('content-type')?.includes('application/json')) return response;
  const body = (await response.json()) as { result?: { supportedVersions?: string[] } };
  const listed = body.result?.supportedVersions;
  if (Array.isArray(listed)) body.result!.supportedVersions = [...listed, ...SUPPORTED_PROTOCOL_VERSIONS.filter((v) => !listed.includes(v))];
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return new Response(JSON.stringify(body), { status: response.status, headers });
}

export class ModernEndpoint {
  readonly #o: ModernEndpointOptions;
  readonly bus: FleetEventBus;
  /** Calls: they finish during a drain. */
  readonly #calls: McpHttpHandler;
  /** Listens: not calls in flight, so a drain ends them at once (SDK graceful close: empty result, then end). */
  readonly #listens: McpHttpHandler;
  #listensClosed = false;

  constructor(options: ModernEndpointOptions) {
    this.#o = options;
    const onerror = (error: Error) => options.logger.debug({ reason: error.message }, 'modern request refused or failed');
    this.bus = new FleetEventBus(options.scratchpads, (error) => options.logger.warn({ reason: error.message }, 'change event not published'));
    const factory = modernServerFactory({ scratchpads: options.scratchpads, replica: options.replica, requestStateKey: options.requestStateKey });
    const common = { legacy: 'reject' as const, bus: this.bus, onerror, maxRequestBodySize: options.maxBodyBytes };
    // `auto`: plain JSON unless the call sends something first (progress), then SSE; `json` would drop progress.
    this.#calls = createMcpHandler(factory, { ...common, responseMode: 'auto' });
    this.#listens = createMcpHandler(factory, { ...common, maxSubscriptions: options.maxListens ?? 1024 });
  }

  /**
   * Whether `request` is modern-era traffic (the SDK's own classification). GET and DELETE are legacy
   * session operations; a body that is not JSON or is too large goes to the legacy host, which answers it.
   */
  async claims(request: Request): Promise<ModernClaim | undefined> {
    if (request.method !== 'POST') return undefined;
    const read = await readRequestBody(request.clone(), this.#o.maxBodyBytes);
    if (read.tooLarge) return undefined;
    let body: unknown;
    try {
      body = JSON.parse(read.text);
    } catch {
      return undefined;
    }
    return (await isLegacyRequest(request, body, { maxRequestBodySize: this.#o.maxBodyBytes })) ? undefined : { body };
  }

  /** Serves a claimed request for `principal` (undefined with auth off). Never mints or echoes a session id. */
  async handle(request: Request, claim: ModernClaim, principal: string | undefined): Promise<Response> {
    const method = methodOf(claim.body);
    const listen = method === 'subscriptions/listen';
    // A draining replica takes no new listens: the client listens again on another replica.
    if (listen && this.#listensClosed) throw new HttpError(503, RPC.serverError, 'This replica is shutting down: listen again', { 'retry-after': '0', connection: 'close' });
    const authInfo = { token: '', clientId: principalHash(principal) ?? '', scopes: [] };
    const response = await (listen ? this.#listens : this.#calls).fetch(request, { authInfo, parsedBody: claim.body });
    // A modern request's Mcp-Session-Id is ignored (spec); nothing here ever sets one, and none leaks out.
    if (response.headers.has('mcp-session-id')) response.headers.delete('mcp-session-id');
    return method === 'server/discover' ? withLegacyVersions(response) : response;
  }

  get stats(): { modernListens: number } {
    return { modernListens: this.bus.listenerCount };
  }

  /** Drain, first step: every open listen ends now (empty listen result, then close); calls carry on. */
  async closeListens(): Promise<void> {
    this.#listensClosed = true;
    await this.#listens.close();
  }

  /** Drain, last step: calls still running are cut. */
  async close(): Promise<void> {
    await this.closeListens();
    await this.#calls.close();
    this.bus.close();
  }
}
