// The session host: routes legacy MCP requests to live sessions, restores the rest from the store.
import { randomUUID } from 'node:crypto';
import { isInitializeRequest, readRequestBody, type JSONRPCMessage } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { HttpError, RPC, sessionNotFound } from '../http/errors.js';
import { emptyState, isMintedSessionId, recordTtlMs, SessionRecordSchema } from '../sessions/record.js';
import type { SaveOptions, SessionStore } from '../sessions/store.js';
import type { ReplicaInfo } from '../tools/index.js';
import { LiveCache } from './live-cache.js';
import { Freshness } from './freshness.js';
import { LiveSession, type ResponseMode } from './live-session.js';

/** After a reconnect, changes are held this long: more than the store's reconnect interval, so every replica is back. */
const RECONNECT_QUIET_MS = 1500;

export interface SessionHostOptions {
  readonly store: SessionStore;
  readonly logger: Logger;
  readonly replica: ReplicaInfo;
  /** Sliding idle lifetime of a record. */
  readonly idleTtlMs: number;
  /** Absolute lifetime of a session from creation. */
  readonly maxTtlMs: number;
  /** Most sessions live in this process at once. */
  readonly maxLiveSessions: number;
  /** A live session idle this long leaves memory (its record stays). */
  readonly liveIdleMs: number;
  /** Largest POST body accepted. */
  readonly maxBodyBytes: number;
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

export class SessionHost {
  readonly #o: Required<Omit<SessionHostOptions, 'now'>>;
  readonly #now: () => number;
  readonly #live: LiveCache<LiveSession>;
  readonly #restoring = new Map<string, Promise<LiveSession | undefined>>();
  readonly #changedWhileRestoring = new Map<string, 'updated' | 'deleted'>();
  readonly #unsubscribe: Array<() => void>;
  #storeDownSince: number | undefined;
  #closing = false;
  /** When the store last came back after an outage; undefined if it never went away. */
  #storeBackAt: number | undefined;
  readonly #freshness: Freshness;
  #restores = 0;
  #restoreMisses = 0;

  constructor(options: SessionHostOptions) {
    this.#o = {
      responseMode: 'sse',
      touchIntervalMs: Math.min(options.idleTtlMs / 10, 60_000),
      outageGraceMs: 30_000,
      ...options,
    };
    this.#now = options.now ?? Date.now;
    this.#freshness = new Freshness({ store: options.store, now: this.#now, storeBackAt: () => this.#storeBackAt });
    this.#live = new LiveCache<LiveSession>({
      maxSize: options.maxLiveSessions,
      idleMs: options.liveIdleMs,
      now: this.#now,
      onEvict: (session, why) => {
        this.#o.logger.debug({ sessionId: session.id, why }, 'live session evicted from memory (record kept)');
        void session.close();
      },
    });
    this.#unsubscribe = [
      this.#o.store.onInvalidate((id, kind) => this.#invalidate(id, kind)),
      this.#o.store.onReconnect(() => void this.#reseed()),
      this.#o.store.onMissedInvalidations(() => {
        for (const s of this.#live.values()) this.#freshness.markStale(s);
      }),
    ];
  }

  get stats(): HostStats {
    return { liveSessions: this.#live.size, restores: this.#restores, restoreMisses: this.#restoreMisses };
  }

  /** Serves one legacy-era request on `/mcp`. Refusals come back as `HttpError`s. */
  async handle(request: Request): Promise<Response> {
    // Stopping: requests still arrive on kept-alive connections, but this replica no longer hears
    // invalidations, so anything it served now could be old. Send them elsewhere.
    if (this.#closing) throw new HttpError(503, RPC.serverError, 'This replica is shutting down: retry', { 'retry-after': '0', connection: 'close' });
    if (request.method === 'POST') return this.#post(request);
    if (request.method === 'GET' || request.method === 'DELETE') return this.#existing(request, undefined);
    throw new HttpError(405, RPC.serverError, `Method ${request.method} is not allowed on the MCP endpoint`, { allow: 'GET, POST, DELETE' });
  }

  async #post(request: Request): Promise<Response> {
    const read = await readRequestBody(request, this.#o.maxBodyBytes);
    if (read.tooLarge) throw new HttpError(413, RPC.serverError, `Request body is larger than ${this.#o.maxBodyBytes} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(read.text);
    } catch {
      throw new HttpError(400, RPC.parseError, 'Parse error: the body is not valid JSON');
    }
    if (isInitializeRequest(body as JSONRPCMessage)) return this.#create(request, body);
    return this.#existing(request, body);
  }

  async #create(request: Request, body: unknown): Promise<Response> {
    const now = this.#now();
    const parsed = SessionRecordSchema.shape.initialize.safeParse(body);
    const session = this.#newLive({
      id: randomUUID(),
      createdAt: now,
      maxExpiresAt: now + this.#o.maxTtlMs,
      initialize: parsed.success ? parsed.data : undefined,
      state: emptyState(),
      restored: false,
      onInitialized: async (s) => {
        this.#live.set(s.id, s);
        if (!s.initialize) this.#o.logger.warn({ sessionId: s.id }, 'initialize request does not fit the record schema; session is live here only');
        else await this.#persist(s);
        this.#o.logger.debug({ sessionId: s.id }, 'session created');
      },
    });
    await session.connect();
    const response = await session.transport.handleRequest(request, { parsedBody: body });
    // The SDK refused the initialize (bad headers): nothing was registered, nothing is kept.
    if (!this.#live.has(session.id)) await session.close();
    return response;
  }

  async #existing(request: Request, body: unknown): Promise<Response> {
    const id = request.headers.get('mcp-session-id');
    if (!id) throw new HttpError(400, RPC.serverError, 'Bad Request: Mcp-Session-Id header is required (send initialize first)');
    // Ids this server could not have minted never reach the store.
    if (!isMintedSessionId(id)) throw sessionNotFound();
    // Let invalidations that arrived with this request's I/O turn run first: a client that just wrote
    // on another replica must not read our older copy here.
    await new Promise((resolve) => setImmediate(resolve));
    let session = this.#live.get(id, { touch: false });
    const now = this.#now();
    if (session && (session.maxExpiresAt <= now || now - session.lastUsed >= this.#o.idleTtlMs)) {
      const why = session.maxExpiresAt <= now ? 'absolute lifetime reached' : 'idle lifetime reached';
      this.#o.logger.info({ sessionId: id, reason: 'expired', detail: why }, 'session expired');
      this.#live.delete(id);
      await session.close();
      session = undefined;
      if (request.method !== 'DELETE') throw sessionNotFound();
    }
    if (!session && request.method === 'DELETE') return this.#deleteCold(id);
    if (session?.stale && !(await this.#freshness.refresh(session))) {
      // Another replica changed it and we cannot read the change: serving our copy would show old state.
      throw new HttpError(503, RPC.serverError, 'Session store unavailable: retry shortly', { 'retry-after': '1' });
    }
    if (session) {
      this.#live.get(id);
      this.#keepAlive(session);
    } else session = await this.#restore(id);
    session.lastUsed = this.#now();
    const response = await session.transport.handleRequest(request, body === undefined ? undefined : { parsedBody: body });
    // Closed under the request (SIGTERM, eviction): the record is intact, so "retry", not "start over".
    if (response.status === 404 && session.closed) throw new HttpError(503, RPC.serverError, 'Session was closing on this replica: retry', { 'retry-after': '1' });
    return response;
  }

  /** One restore per id at a time: a client's GET reconnect and its next POST often arrive together. */
  #restore(id: string): Promise<LiveSession> {
    let pending = this.#restoring.get(id);
    if (!pending) {
      pending = this.#doRestore(id).finally(() => this.#restoring.delete(id));
      this.#restoring.set(id, pending);
    }
    return pending.then((session) => {
      if (session) return session;
      throw this.#storeDownSince !== undefined && this.#now() - this.#storeDownSince < this.#o.outageGraceMs
        ? new HttpError(503, RPC.serverError, 'Session store unavailable: retry shortly', { 'retry-after': '1' })
        : sessionNotFound();
    });
  }

  async #doRestore(id: string): Promise<LiveSession | undefined> {
    const started = performance.now();
    this.#changedWhileRestoring.delete(id);
    const result = await this.#o.store.load(id);
    if (result.status === 'unavailable') this.#storeDownSince ??= this.#now();
    else this.#storeDownSince = undefined;
    if (result.status !== 'found') {
      this.#restoreMisses++;
      const level = result.status === 'absent' || result.status === 'expired' ? 'info' : 'warn';
      this.#o.logger[level]({ sessionId: id, reason: result.status, detail: 'reason' in result ? result.reason : undefined }, 'session not restored');
      return undefined;
    }
    const { record } = result;
    const session = this.#newLive({ ...record, restored: true });
    try {
      await session.connect();
      await session.replayInitialize();
    } catch (error) {
      this.#restoreMisses++;
      await session.close();
      this.#o.logger.warn({ sessionId: id, reason: 'replay failed', detail: (error as Error).message }, 'session not restored');
      return undefined;
    }
    // Another replica saved or deleted it while we were loading: our copy is already old.
    const change = this.#changedWhileRestoring.get(id);
    this.#changedWhileRestoring.delete(id);
    if (change === 'deleted') {
      await session.close();
      return undefined;
    }
    if (change === 'updated') this.#freshness.markStale(session);
    this.#live.set(id, session);
    this.#restores++;
    this.#keepAlive(session);
    this.#o.logger.info({ sessionId: id, ms: Math.round((performance.now() - started) * 100) / 100 }, 'session restored');
    return session;
  }

  #newLive(init: Pick<LiveSession, 'id' | 'createdAt' | 'maxExpiresAt' | 'initialize' | 'state' | 'restored'> & { updatedAt?: number | undefined; onInitialized?: (s: LiveSession) => Promise<void> }): LiveSession {
    const session = new LiveSession({
      ...init,
      replica: this.#o.replica,
      responseMode: this.#o.responseMode,
      persist: (s) => this.#persist(s),
      onDeleted: (s) => this.#deleted(s),
    });
    session.lastUsed = this.#now();
    return session;
  }

  /** Extends the record's TTL at most once per touch interval, off the request path. */
  #keepAlive(session: LiveSession): void {
    const now = this.#now();
    if (session.dirty) {
      if (now - session.lastSaveAttempt >= 1000) void this.#persist(session, { onlyIfNewer: true });
      return;
    }
    if (now - session.lastTouched < this.#o.touchIntervalMs) return;
    session.lastTouched = now;
    const ttl = recordTtlMs(session.maxExpiresAt, this.#o.idleTtlMs, now);
    this.#o.store.touch(session.id, ttl).then(
      (exists) => {
        // Gone without a delete message: evicted by Redis's LRU or lost in a Redis restart. We hold the state.
        if (!exists && !session.closed && ttl > 0) void this.#persist(session, { onlyIfAbsent: true });
      },
      () => {
        session.lastTouched = 0;
      },
    );
  }

  async #persist(session: LiveSession, options: SaveOptions = {}): Promise<boolean> {
    const record = session.record();
    if (!record) return false;
    const now = this.#now();
    session.lastSaveAttempt = now;
    if (!options.onlyIfAbsent && !options.onlyIfNewer && this.#storeBackAt !== undefined && now - this.#storeBackAt < RECONNECT_QUIET_MS) {
      // Just reconnected: a replica that has not noticed Redis is back still serves its own copy, so a
      // change confirmed as saved now could be read back older there. Hold it (saved in a moment).
      session.dirty = true;
      return false;
    }
    try {
      const written = await this.#o.store.save(record, recordTtlMs(record.maxExpiresAt, this.#o.idleTtlMs, now), options);
      // A newer copy was saved elsewhere while ours was held: take that one on the next request.
      if (!written && options.onlyIfNewer) this.#freshness.markStale(session);
      session.dirty = false;
      session.lastTouched = now;
      return true;
    } catch (error) {
      if (!session.dirty) this.#o.logger.warn({ sessionId: session.id, detail: (error as Error).message }, 'session record not saved; will retry');
      session.dirty = true;
      return false;
    }
  }

  /** Store came back: write every live session, dirty ones over whatever is there, the rest only where missing. */
  async #reseed(): Promise<void> {
    this.#storeDownSince = undefined;
    this.#storeBackAt = this.#now();
    const sessions = [...this.#live.values()];
    // A stale copy is known to be older than what another replica saved: seeding it would undo that change.
    const seeds = sessions.filter((s) => s.dirty || !s.stale);
    // Other replicas may already be saving again: from now on every copy is re-read before it is served.
    for (const s of sessions) this.#freshness.markStale(s);
    await Promise.all(seeds.map((s) => this.#persist(s, s.dirty ? { onlyIfNewer: true } : { onlyIfAbsent: true })));
    this.#o.logger.info({ sessions: sessions.length }, 'session store back; live sessions re-saved');
  }

  #invalidate(id: string, kind: 'updated' | 'deleted'): void {
    if (this.#restoring.has(id) && this.#changedWhileRestoring.get(id) !== 'deleted') this.#changedWhileRestoring.set(id, kind);
    const session = this.#live.get(id, { touch: false });
    if (!session) return;
    if (kind === 'updated') {
      this.#freshness.markStale(session);
      return;
    }
    this.#live.delete(id);
    void session.close();
  }

  async #deleted(session: LiveSession): Promise<void> {
    this.#live.delete(session.id);
    try {
      await this.#o.store.delete(session.id);
    } catch (error) {
      this.#o.logger.warn({ sessionId: session.id, detail: (error as Error).message }, 'session ended here but its record could not be deleted');
    }
  }

  async #deleteCold(id: string): Promise<Response> {
    let existed: boolean;
    try {
      existed = await this.#o.store.delete(id);
    } catch {
      throw new HttpError(503, RPC.serverError, 'Session store unavailable: the session could not be ended, retry shortly', { 'retry-after': '1' });
    }
    if (!existed) throw sessionNotFound();
    return new Response(null, { status: 200 });
  }

  /** Ends every live session in this process (streams close so clients reconnect elsewhere); records stay. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#live.stop();
    const sessions = [...this.#live.values()];
    this.#live.clear();
    await Promise.all(sessions.map((s) => (s.dirty ? this.#persist(s, { onlyIfNewer: true }) : undefined)));
    await Promise.all(sessions.map((s) => s.close()));
  }
}
