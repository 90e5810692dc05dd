// The session host: routes legacy MCP requests to live sessions, restores the rest from the store,
// keeps cached shapes honest and records alive (TTL), and binds every session to its principal.
import { randomUUID } from 'node:crypto';
import { isInitializeRequest, readRequestBody, type JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { HttpError, RPC, sessionNotFound } from '../http/errors.js';
import { dataErrors } from '../sessions/data.js';
import { helloFromInitialize, isMintedSessionId, principalHash, recordTtlMs, sessionTag, ShapeTooLargeError, type ClientHello } from '../sessions/shape.js';
import type { SessionStore } from '../sessions/store.js';
import type { ReplicaInfo } from '../tools/index.js';
import { LiveCache } from './live-cache.js';
import { LiveSession, type LiveSessionHost, type ResponseMode } from './live-session.js';
import { EventLog } from './event-log.js';
import { ShapeCache } from './shape-cache.js';
import { StreamHub } from './streams.js';

export interface SessionHostOptions {
  readonly store: SessionStore;
  readonly logger: Logger;
  readonly replica: ReplicaInfo;
  /** Sliding idle lifetime of a record. */
  readonly idleTtlMs: number;
  /** Absolute lifetime of a session from creation. */
  readonly maxTtlMs: number;
  /** Lifetime of a record whose session made no call after initialize (a flood of bare initializes fades fast). */
  readonly pendingTtlMs: number;
  /** Most sessions live in this process at once. */
  readonly maxLiveSessions: number;
  /** Most live sessions one principal may hold on this replica (with authentication on). Default 100. */
  readonly maxSessionsPerPrincipal?: number;
  /** A live session idle this long leaves memory (its record stays). */
  readonly liveIdleMs: number;
  /** Largest POST body accepted. */
  readonly maxBodyBytes: number;
  /** The `retry:` hint on SSE streams: how long a client waits before reconnecting one. Default 1 s. */
  readonly sseRetryMs?: number;
  /** Comment lines on idle GET streams. Default 15 s. */
  readonly sseKeepAliveMs?: number;
  /** `sse` (default) streams each response; `json` answers plain JSON. */
  readonly responseMode?: ResponseMode;
  /** Least time between TTL extensions of one record. Default: a tenth of the idle TTL, at most 60 s. */
  readonly touchIntervalMs?: number;
  /**
   * While the store has been unreachable for less than this, a restore answers 503 (retry) rather than
   * 404 (start over): the session most likely still exists. Default 30 s.
   */
  readonly outageGraceMs?: number;
  readonly now?: () => number;
}

export interface HostStats {
  readonly liveSessions: number;
  readonly restores: number;
  readonly restoreMisses: number;
}

/**
 * Requests whose answer is the shape itself: a tool list, or a call to a tool this copy has not
 * registered. They re-read the shape (one round trip) so that a toolset enabled on another replica a
 * moment ago is never answered with "not found", whatever the channel's latency. Everything else is
 * served from the cached shape while the channel is proven alive.
 */
function dependsOnShape(session: LiveSession, body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m: { method?: unknown; params?: { name?: unknown } } | null) => {
    if (m?.method === 'tools/list') return true;
    return m?.method === 'tools/call' && typeof m.params?.name === 'string' && !session.hasTool(m.params.name);
  });
}

/** A JSON-RPC request (not a notification, not a GET stream): what ends a new session's short pending TTL. */
function isCall(body: unknown): boolean {
  return (Array.isArray(body) ? body : [body]).some((m: { method?: unknown; id?: unknown } | null) => typeof m?.method === 'string' && m.id !== undefined);
}

const retryLater = (what: string) => new HttpError(503, RPC.serverError, `${what}: retry shortly`, { 'retry-after': '1' });

export class SessionHost {
  readonly #o: Required<Omit<SessionHostOptions, 'now'>>;
  readonly #now: () => number;
  readonly #live: LiveCache<LiveSession>;
  readonly #shapes: ShapeCache;
  readonly #events: EventLog;
  readonly #streams: StreamHub;
  readonly #restoring = new Map<string, Promise<LiveSession | undefined>>();
  /** Changes announced for sessions being restored: applied when the restore lands. */
  readonly #announcedWhileRestoring = new Map<string, number | 'deleted'>();
  readonly #storing = new WeakMap<LiveSession, Promise<void>>();
  readonly #unsubscribe: Array<() => void>;
  readonly #sessionHost: LiveSessionHost;
  #storeDownSince: number | undefined;
  #closing = false;
  #restores = 0;
  #restoreMisses = 0;

  constructor(options: SessionHostOptions) {
    this.#o = { responseMode: 'sse', touchIntervalMs: Math.min(options.idleTtlMs / 10, 60_000), outageGraceMs: 30_000, sseRetryMs: 1000, sseKeepAliveMs: 15_000, maxSessionsPerPrincipal: 100, ...options };
    this.#now = options.now ?? Date.now;
    this.#shapes = new ShapeCache(options.store);
    this.#events = new EventLog(options.store, options.logger);
    this.#streams = new StreamHub({ store: options.store, log: this.#events, logger: options.logger, retryMs: this.#o.sseRetryMs, keepAliveMs: this.#o.sseKeepAliveMs });
    this.#live = new LiveCache<LiveSession>({
      maxSize: options.maxLiveSessions,
      idleMs: options.liveIdleMs,
      now: this.#now,
      onEvict: (session, why) => {
        this.#o.logger.debug({ session: sessionTag(session.id), why }, 'live session evicted from memory (record kept)');
        void session.close();
      },
    });
    this.#sessionHost = {
      store: options.store,
      events: this.#events,
      retryMs: this.#o.sseRetryMs,
      replica: options.replica,
      responseMode: this.#o.responseMode,
      ttlMs: (s) => recordTtlMs(s.maxExpiresAt, this.#o.idleTtlMs, this.#now()),
      ensureStored: (s) => this.#ensureStored(s),
      onDeleted: (s) => this.#deleted(s),
      onGone: (s) => this.#drop(s, 'gone from the store'),
    };
    this.#unsubscribe = [
      options.store.onInvalidate((id, change) => this.#announced(id, change.kind === 'deleted' ? 'deleted' : change.rev)),
      options.store.onChannelSuspect(() => {
        for (const s of this.#live.values()) s.unverified = true;
      }),
      options.store.onReconnect(() => void this.#storeUnsaved()),
    ];
  }

  get stats(): HostStats {
    return { liveSessions: this.#live.size, restores: this.#restores, restoreMisses: this.#restoreMisses };
  }

  /** Serves one legacy-era request on `/mcp` for `principal` (undefined without auth). Refusals are `HttpError`s. */
  async handle(request: Request, principal?: string): Promise<Response> {
    // Stopping: this replica no longer hears invalidations, so anything it served now could be old.
    if (this.#closing) throw new HttpError(503, RPC.serverError, 'This replica is shutting down: retry', { 'retry-after': '0', connection: 'close' });
    const owner = principalHash(principal);
    if (request.method === 'POST') return this.#post(request, owner);
    if (request.method === 'GET' || request.method === 'DELETE') return this.#existing(request, undefined, owner);
    throw new HttpError(405, RPC.serverError, `Method ${request.method} is not allowed on the MCP endpoint`, { allow: 'GET, POST, DELETE' });
  }

  async #post(request: Request, owner: string | undefined): Promise<Response> {
    const read = await readRequestBody(request, this.#o.maxBodyBytes);
    if (read.tooLarge) throw new HttpError(413, RPC.serverError, `Request body is larger than ${this.#o.maxBodyBytes} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(read.text);
    } catch {
      throw new HttpError(400, RPC.parseError, 'Parse error: the body is not valid JSON');
    }
    if (isInitializeRequest(body as JSONRPCMessage)) return this.#create(request, body as { params: Record<string, unknown> }, owner);
    return this.#existing(request, body, owner);
  }

  async #create(request: Request, body: { params: Record<string, unknown> }, owner: string | undefined): Promise<Response> {
    // New sessions are refused before existing ones would be evicted (allkeys-lru) or crowded out here.
    if (this.#o.store.health().nearlyFull) throw new HttpError(503, RPC.serverError, 'The session store is nearly full: no new sessions for now, retry later', { 'retry-after': '30' });
    if (owner !== undefined && this.#liveOf(owner) >= this.#o.maxSessionsPerPrincipal) {
      throw new HttpError(429, RPC.serverError, `Too many live sessions for this caller (${this.#o.maxSessionsPerPrincipal}): end one with DELETE, or retry later`, { 'retry-after': '60' });
    }
    let hello: ClientHello;
    try {
      hello = helloFromInitialize(body.params);
    } catch (error) {
      const message = error instanceof ShapeTooLargeError ? error.message : 'initialize params.clientInfo needs a string name and version';
      throw new HttpError(400, RPC.invalidParams, `Invalid params: ${message}`);
    }
    const now = this.#now();
    let accepted = false;
    const session = this.#newLive({ id: randomUUID(), createdAt: now, maxExpiresAt: now + this.#o.maxTtlMs, principal: owner, from: { kind: 'new', hello }, onInitialized: () => (accepted = true) });
    await session.connect();
    const response = await session.transport.handleRequest(request, { parsedBody: body });
    if (!accepted) {
      // The SDK refused the initialize (bad headers): nothing was registered, nothing is kept.
      await session.close();
      return response;
    }
    await session.negotiated;
    this.#live.set(session.id, session);
    session.awaitingFirstCall = true;
    session.lastTouched = this.#now();
    // Stored before the client learns the id, so its next request may land on any replica.
    await this.#store(session, Math.min(this.#o.pendingTtlMs, this.#o.idleTtlMs, this.#o.maxTtlMs)).catch(() => undefined);
    this.#o.logger.debug({ session: sessionTag(session.id), stored: session.rev > 0 }, 'session created');
    return response;
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
    session ??= await this.#restore(id);
    // Bound to whoever created it: anyone else gets exactly what an unknown id gets.
    if (session.principal !== owner) {
      this.#o.logger.warn({ session: sessionTag(id) }, 'request for a session of another principal refused (404)');
      throw sessionNotFound();
    }
    if (this.#shapes.needsRead(session) || dependsOnShape(session, body)) {
      const freshness = await this.#shapes.read(session);
      if (freshness === 'gone') {
        this.#drop(session, 'gone from the store');
        throw sessionNotFound();
      }
      if (freshness === 'unavailable-stale') throw retryLater('Session store unavailable');
    }
    this.#live.get(id);
    this.#keepAlive(session, body);
    session.lastUsed = this.#now();
    // GET streams are served from the session's event log, so they work on any replica.
    if (request.method === 'GET') return this.#streams.open(session, request);
    const response = await session.transport.handleRequest(request, body === undefined ? undefined : { parsedBody: body });
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

  /** One restore per id at a time: a client's GET reconnect and its next POST often arrive together. */
  async #restore(id: string): Promise<LiveSession> {
    let pending = this.#restoring.get(id);
    if (!pending) {
      pending = this.#doRestore(id).finally(() => this.#restoring.delete(id));
      this.#restoring.set(id, pending);
    }
    const session = await pending;
    if (session) return session;
    // Never connected yet (its connection string is still on its way): the session may well exist, however long that takes.
    const inGrace = this.#o.store.health().waitingFor !== undefined || (this.#storeDownSince !== undefined && this.#now() - this.#storeDownSince < this.#o.outageGraceMs);
    throw inGrace ? retryLater('Session store unavailable') : sessionNotFound();
  }

  async #doRestore(id: string): Promise<LiveSession | undefined> {
    const started = performance.now();
    this.#announcedWhileRestoring.delete(id);
    const result = await this.#o.store.load(id);
    if (result.status === 'unavailable') this.#storeDownSince ??= this.#now();
    else this.#storeDownSince = undefined;
    if (result.status !== 'found') {
      this.#restoreMisses++;
      // An unknown id is routine (and cheap to send): debug, so a flood of them costs no log volume.
      const level = result.status === 'absent' || result.status === 'expired' ? 'debug' : 'warn';
      this.#o.logger[level]({ session: sessionTag(id), reason: result.status, detail: 'reason' in result ? result.reason : undefined }, 'session not restored');
      return undefined;
    }
    const { shape, rev } = result;
    const session = this.#newLive({ id, createdAt: shape.createdAt, maxExpiresAt: shape.maxExpiresAt, principal: shape.principal, from: { kind: 'stored', shape, rev } });
    try {
      await session.connect();
      await session.replayInitialize();
    } catch (error) {
      this.#restoreMisses++;
      await session.close();
      this.#o.logger.warn({ session: sessionTag(id), reason: 'replay failed', detail: (error as Error).message }, 'session not restored');
      return undefined;
    }
    const announced = this.#announcedWhileRestoring.get(id);
    this.#announcedWhileRestoring.delete(id);
    if (announced === 'deleted') {
      await session.close();
      return undefined;
    }
    if (announced !== undefined) session.knownRev = Math.max(session.knownRev, announced);
    this.#live.set(id, session);
    this.#restores++;
    this.#o.logger.info({ session: sessionTag(id), ms: Math.round((performance.now() - started) * 100) / 100 }, 'session restored');
    return session;
  }

  #newLive(init: ConstructorParameters<typeof LiveSession>[0]): LiveSession {
    const session = new LiveSession(init, this.#sessionHost);
    session.lastUsed = this.#now();
    return session;
  }

  /** Extends the record's TTL at most once per touch interval, off the request path. */
  #keepAlive(session: LiveSession, body: unknown): void {
    if (session.awaitingFirstCall && isCall(body)) {
      // The first real call: from now on the session gets the full idle lifetime.
      session.awaitingFirstCall = false;
      session.lastTouched = 0;
    }
    const now = this.#now();
    if (session.rev === 0 || now - session.lastTouched < this.#o.touchIntervalMs) return;
    session.lastTouched = now;
    const ttl = recordTtlMs(session.maxExpiresAt, this.#o.idleTtlMs, now);
    this.#o.store.touch(session.id, ttl).then(
      (exists) => {
        // Gone without a delete announcement (LRU eviction, a Redis that lost its data): its data is
        // gone too, so the session must not carry on as if nothing happened.
        if (!exists) this.#drop(session, 'gone from the store');
      },
      () => {
        session.lastTouched = 0;
      },
    );
  }

  /** Writes a session's shape at revision 1 (single-flight); throws "unavailable" when the store cannot confirm. */
  #store(session: LiveSession, ttlMs: number): Promise<void> {
    let pending = this.#storing.get(session);
    if (!pending) {
      pending = (async () => {
        if (!session.shape) throw new Error('session is not initialized');
        await this.#o.store.create(session.shape, ttlMs);
        // Written now, or already there (a re-seed raced us): either way revision 1 or later exists.
        if (session.rev === 0) session.rev = 1;
      })().finally(() => this.#storing.delete(session));
      this.#storing.set(session, pending);
    }
    return pending;
  }

  async #ensureStored(session: LiveSession): Promise<void> {
    if (session.rev > 0) return;
    try {
      await this.#store(session, recordTtlMs(session.maxExpiresAt, this.#o.idleTtlMs, this.#now()));
    } catch {
      throw dataErrors.unavailable('saved');
    }
  }

  /** The store is back: sessions created while it was away get their record now (nothing else is held). */
  async #storeUnsaved(): Promise<void> {
    this.#storeDownSince = undefined;
    const unsaved = [...this.#live.values()].filter((s) => s.rev === 0 && s.shape);
    await Promise.allSettled(unsaved.map((s) => this.#ensureStored(s)));
    if (unsaved.length > 0) this.#o.logger.info({ sessions: unsaved.length }, 'session store back; sessions created meanwhile saved');
  }

  #announced(id: string, change: number | 'deleted'): void {
    if (this.#restoring.has(id) && this.#announcedWhileRestoring.get(id) !== 'deleted') this.#announcedWhileRestoring.set(id, change);
    const session = this.#live.get(id, { touch: false });
    if (!session) return;
    if (change === 'deleted') this.#drop(session, 'deleted on another replica', 'debug');
    else session.knownRev = Math.max(session.knownRev, change);
  }

  #drop(session: LiveSession, why: string, level: 'info' | 'debug' = 'info'): void {
    if (this.#live.get(session.id, { touch: false }) === session) this.#live.delete(session.id);
    this.#o.logger[level]({ session: sessionTag(session.id), why }, 'session ended here');
    this.#streams.closeSession(session.id);
    void session.close();
  }

  async #deleted(session: LiveSession): Promise<void> {
    this.#live.delete(session.id);
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
    return new Response(null, { status: 200 });
  }

  /** Ends every live session in this process (streams close so clients reconnect elsewhere); records stay. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#live.stop();
    const sessions = [...this.#live.values()];
    this.#live.clear();
    this.#streams.closeAll();
    await Promise.all(sessions.map((s) => s.close()));
    await this.#events.flush().catch(() => undefined);
  }
}
