// The session host: routes legacy MCP requests to live sessions (restoring the rest), serves GET streams,
// refuses new sessions the store or a caller cannot afford, and binds every session to its principal.
import { isInitializeRequest, readRequestBody, type JSONRPCMessage } from '@modelcontextprotocol/server';
import { HttpError, RPC, sessionNotFound } from '../http/errors.js';
import { isMintedSessionId, principalHash, recordTtlMs, sessionTag } from '../sessions/shape.js';
import { LiveCache } from './live-cache.js';
import { LiveSession, type LiveSessionHost } from './live-session.js';
import { withDefaults, type HostSettings, type HostStats, type SessionHostOptions } from './host-options.js';
import { EventLog, withRequestIds } from './event-log.js';
import { PeerRouter } from './peer-routing.js';
import { PrincipalCap } from './principal-cap.js';
import { RecordKeeper } from './record-keeper.js';
import { Restorer, retryLater } from './restorer.js';
import { createSession, type CreateDeps } from './session-create.js';
import { dependsOnShape, ShapeCache } from './shape-cache.js';
import { StreamHub } from './streams.js';
import { ToolCatalog } from './tool-catalog.js';
import { describeLifetime } from './scratchpads.js';
import { sessionEnded, sessionForeign, traceRequest } from '../telemetry/hooks.js';

export type { HostStats, SessionHostOptions };

export class SessionHost {
  readonly #o: HostSettings;
  readonly #cap: PrincipalCap;
  readonly #now: () => number;
  readonly #live: LiveCache<LiveSession>;
  readonly #shapes: ShapeCache;
  readonly #events: EventLog;
  readonly #streams: StreamHub;
  readonly #restorer: Restorer;
  readonly #records: RecordKeeper;
  readonly #unsubscribe: Array<() => void>;
  readonly #sessionHost: LiveSessionHost;
  readonly #peers: PeerRouter;
  readonly #creating: CreateDeps;
  #closing = false;

  constructor(options: SessionHostOptions) {
    this.#o = withDefaults(options);
    this.#now = options.now ?? Date.now;
    this.#cap = new PrincipalCap({ cap: this.#o.maxSessionsPerPrincipal, fleet: options.fleetLimits, liveOf: (owner) => this.#liveOf(owner) });
    this.#shapes = new ShapeCache(options.store, options.logger);
    this.#events = new EventLog(options.store, options.logger);
    this.#streams = new StreamHub({
      store: options.store,
      log: this.#events,
      retryMs: this.#o.sseRetryMs,
      keepAliveMs: this.#o.sseKeepAliveMs,
      onSessionGone: (id) => {
        const session = this.#live.get(id, { touch: false });
        // Never stored yet (created while the store was away): the record keeper saves it on reconnect.
        if (session?.rev === 0) return false;
        if (session) this.#drop(session, 'gone from the store');
        return true;
      },
    });
    this.#live = new LiveCache<LiveSession>({
      maxSize: options.maxLiveSessions,
      idleMs: options.liveIdleMs,
      now: this.#now,
      onEvict: (session, why) => {
        this.#o.logger.debug({ session: sessionTag(session.id), why }, 'live session evicted from memory (record kept)');
        // Calls it is serving still get their answer; the next request restores a fresh copy.
        void session.retire();
      },
    });
    this.#restorer = new Restorer({
      store: options.store,
      logger: options.logger,
      now: this.#now,
      outageGraceMs: this.#o.outageGraceMs,
      build: (init) => this.#newLive(init),
      adopt: (session) => this.#live.set(session.id, session),
    });
    this.#records = new RecordKeeper({
      store: options.store,
      logger: options.logger,
      now: this.#now,
      idleTtlMs: options.idleTtlMs,
      touchIntervalMs: this.#o.touchIntervalMs,
      onGone: (s) => this.#drop(s, 'gone from the store'),
      onTouched: (s, expiresAt) => this.#cap.extend(s.principal, s.id, expiresAt),
    });
    this.#peers = new PeerRouter({ store: options.store, logger: options.logger, find: (id) => this.#live.get(id, { touch: false }) });
    this.#sessionHost = {
      store: options.store,
      scratchpads: this.#o.scratchpads,
      tools: new ToolCatalog(options.replica, describeLifetime(this.#o.scratchpads.lifetime)),
      peers: this.#peers,
      events: this.#events,
      retryMs: this.#o.sseRetryMs,
      replica: options.replica,
      responseMode: this.#o.responseMode,
      ttlMs: (s) => recordTtlMs(s.maxExpiresAt, this.#o.idleTtlMs, this.#now()),
      ensureStored: (s) => this.#records.ensureStored(s),
      onDeleted: (s) => this.#deleted(s),
      onGone: (s) => this.#drop(s, 'gone from the store'),
    };
    this.#creating = { settings: this.#o, now: this.#now, cap: this.#cap, records: this.#records, newLive: (init) => this.#newLive(init), adopt: (session) => this.#live.set(session.id, session) };
    this.#unsubscribe = [
      options.store.onInvalidate((id, change) => this.#announced(id, change.kind === 'deleted' ? 'deleted' : change.rev)),
      options.store.onChannelSuspect(() => {
        for (const s of this.#live.values()) s.unverified = true;
      }),
      options.store.onReconnect(() => {
        this.#restorer.storeBack();
        void this.#records.storeUnsaved(this.#live.values());
      }),
    ];
  }

  get stats(): HostStats {
    return { liveSessions: this.#live.size, restores: this.#restorer.restores, restoreMisses: this.#restorer.misses, routedResponses: this.#peers.routedResponses, routedCancels: this.#peers.routedCancels };
  }

  /** Serves one legacy-era request on `/mcp` for `principal` (undefined without auth). Refusals are `HttpError`s. */
  async handle(request: Request, principal?: string, admitSession?: () => Promise<void>): Promise<Response> {
    // Stopping: this replica no longer hears invalidations, so anything it served now could be old.
    if (this.#closing) throw new HttpError(503, RPC.serverError, 'This replica is shutting down: retry', { 'retry-after': '0', connection: 'close' });
    const owner = principalHash(principal);
    if (request.method === 'POST') return this.#post(request, owner, admitSession);
    if (request.method === 'GET') return traceRequest(request, undefined, () => this.#existing(request, undefined, owner));
    if (request.method === 'DELETE') return this.#existing(request, undefined, owner);
    throw new HttpError(405, RPC.serverError, `Method ${request.method} is not allowed on the MCP endpoint`, { allow: 'GET, POST, DELETE' });
  }

  async #post(request: Request, owner: string | undefined, admitSession: (() => Promise<void>) | undefined): Promise<Response> {
    const read = await readRequestBody(request, this.#o.maxBodyBytes);
    if (read.tooLarge) throw new HttpError(413, RPC.serverError, `Request body is larger than ${this.#o.maxBodyBytes} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(read.text);
    } catch {
      throw new HttpError(400, RPC.parseError, 'Parse error: the body is not valid JSON');
    }
    if (isInitializeRequest(body as JSONRPCMessage)) {
      // The body decides what creates a session, not the headers: an initialize with a session id pays too.
      await admitSession?.();
      return traceRequest(request, body, () => createSession(this.#creating, request, body as { params: Record<string, unknown> }, owner));
    }
    return traceRequest(request, body, () => this.#existing(request, body, owner));
  }

  async #existing(request: Request, body: unknown, owner: string | undefined): Promise<Response> {
    const id = request.headers.get('mcp-session-id');
    if (!id) throw new HttpError(400, RPC.serverError, 'Bad Request: Mcp-Session-Id header is required (send initialize first)');
    // Ids this server could not have minted never reach the store.
    if (!isMintedSessionId(id)) throw sessionNotFound();
    // Let invalidations that arrived with this request's I/O turn run first.
    await new Promise((resolve) => setImmediate(resolve));
    let session = this.#live.get(id, { touch: false });
    const expiry = session && this.#expiry(session);
    if (session && expiry) {
      this.#drop(session, expiry);
      session = undefined;
      if (request.method !== 'DELETE') throw sessionNotFound();
    }
    if (!session && request.method === 'DELETE') return this.#deleteCold(id, owner);
    // Bound to whoever created it: anyone else gets exactly what an unknown id gets (the restorer
    // builds nothing for them, and a live copy answers as if it were not here).
    if (session && session.principal !== owner) {
      // An unknown id's DELETE costs no restore, so neither does this one.
      if (request.method !== 'DELETE') {
        this.#restorer.foreign(id);
        sessionForeign();
      }
      throw sessionNotFound();
    }
    // A copy evicted (or dropped) on this request's way to it is closing: take the copy that follows it.
    let release: () => void;
    for (let attempt = 1; ; attempt++) {
      session ??= await this.#restorer.restore(id, owner);
      release = session.hold();
      if (!session.closed) break;
      release();
      if (attempt === 3) throw retryLater('Session was closing on this replica');
      const cached = this.#live.get(id, { touch: false });
      session = cached?.principal === owner ? cached : undefined;
    }
    try {
      return await this.#serve(session, request, body);
    } finally {
      release();
    }
  }

  async #serve(session: LiveSession, request: Request, body: unknown): Promise<Response> {
    const { id } = session;
    if (this.#shapes.needsRead(session) || dependsOnShape(session, body)) {
      const freshness = await this.#shapes.read(session);
      if (freshness === 'gone') {
        this.#drop(session, 'gone from the store');
        throw sessionNotFound();
      }
      if (freshness === 'unavailable-stale') throw retryLater('Session store unavailable');
    }
    this.#live.get(id);
    this.#records.keepAlive(session, body);
    session.lastUsed = this.#now();
    // GET streams are served from the session's event log, so they work on any replica.
    if (request.method === 'GET') return this.#streams.open(session, request);
    // The POST stream the transport opens records its request ids, so another replica can answer them if this process dies.
    const response = await withRequestIds(body, () => session.transport.handleRequest(request, body === undefined ? undefined : { parsedBody: body }));
    // Closed under the request (SIGTERM, eviction): the record is intact, so "retry", not "start over".
    if (response.status === 404 && session.closed) throw retryLater('Session was closing on this replica');
    return response;
  }

  #liveOf(owner: string): number {
    let n = 0;
    for (const s of this.#live.values()) if (s.principal === owner) n++;
    return n;
  }

  /** Why a live session has expired, if it has (the record expires at the same moment in the store). */
  #expiry(session: LiveSession): string | undefined {
    const now = this.#now();
    if (session.maxExpiresAt <= now) return 'absolute lifetime reached';
    const idle = session.awaitingFirstCall ? Math.min(this.#o.pendingTtlMs, this.#o.idleTtlMs) : this.#o.idleTtlMs;
    return now - session.lastUsed >= idle ? 'idle lifetime reached' : undefined;
  }

  #newLive(init: ConstructorParameters<typeof LiveSession>[0]): LiveSession {
    const session = new LiveSession(init, this.#sessionHost);
    session.lastUsed = this.#now();
    return session;
  }

  #announced(id: string, change: number | 'deleted'): void {
    this.#restorer.announced(id, change);
    const session = this.#live.get(id, { touch: false });
    if (!session) return;
    if (change === 'deleted') this.#drop(session, 'deleted on another replica', 'debug');
    else session.knownRev = Math.max(session.knownRev, change);
  }

  #drop(session: LiveSession, why: string, level: 'info' | 'debug' = 'info'): void {
    if (this.#live.get(session.id, { touch: false }) === session) this.#live.delete(session.id);
    this.#o.logger[level]({ session: sessionTag(session.id), why }, 'session ended here');
    sessionEnded(session.createdAt, why);
    this.#streams.closeSession(session.id);
    // Out of the cache now (the next request restores, or gets 404); calls in flight still get their answer.
    void session.retire();
  }

  async #deleted(session: LiveSession): Promise<void> {
    sessionEnded(session.createdAt);
    this.#live.delete(session.id);
    this.#cap.release(session.principal, session.id);
    this.#streams.closeSession(session.id);
    try {
      await this.#o.store.delete(session.id);
    } catch (error) {
      this.#o.logger.warn({ session: sessionTag(session.id), detail: (error as Error).message }, 'session ended here but its record could not be deleted');
    }
  }

  async #deleteCold(id: string, owner: string | undefined): Promise<Response> {
    const found = await this.#o.store.load(id);
    if (found.status === 'unavailable') throw retryLater('Session store unavailable: the session could not be ended');
    if (found.status !== 'found' || found.shape.principal !== owner) throw sessionNotFound();
    try {
      await this.#o.store.delete(id);
    } catch {
      throw retryLater('Session store unavailable: the session could not be ended');
    }
    this.#cap.release(owner, id);
    return new Response(null, { status: 200 });
  }

  /** Ends every live session in this process (streams close so clients reconnect elsewhere); records stay. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#peers.close();
    this.#live.stop();
    const sessions = [...this.#live.values()];
    this.#live.clear();
    this.#streams.closeAll();
    await Promise.all(sessions.map((s) => s.close()));
    await this.#events.flush().catch(() => undefined);
    this.#events.stop();
  }
}
