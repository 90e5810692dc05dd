// One session live in this process: its SDK transport and server, its cached shape, its data API, and
// the restore replay.
import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport, type McpServer, type Transport } from '@modelcontextprotocol/server';
import { FORMAT_VERSION } from '../sessions/format.js';
import { replayInitialize, type ClientHello, type SessionShape } from '../sessions/shape.js';
import { sessionTag } from '../sessions/shape.js';
import type { SessionStore } from '../sessions/store.js';
import type { EventLog, EventSource } from './event-log.js';
import type { PeerRouter, SessionPeers } from './peer-routing.js';
import type { ReplicaInfo, SessionContext, SessionData } from '../tools/index.js';
import { sessionData } from './session-data.js';
import type { ScratchpadStore } from '../sessions/scratchpad-store.js';
import { bindScratchpads } from './scratchpads.js';
import { createSessionServer, registerToolsets } from './server-factory.js';
import type { ToolCatalog } from './tool-catalog.js';
import { callStarted } from '../sessions/write-fence.js';

export type ResponseMode = 'sse' | 'json';

/** What a live session needs from its host. */
export interface LiveSessionHost {
  readonly store: SessionStore;
  /** Where handles of scratchpad_open live (Redis beside Redis). */
  readonly scratchpads: ScratchpadStore;
  /** The legacy tools, registered once per host and shared by its sessions. */
  readonly tools: ToolCatalog;
  /** Where the session's SSE events go, so any replica can replay and continue its streams. */
  readonly events: EventLog;
  /** The `retry:` hint of every stream. */
  readonly retryMs: number;
  readonly replica: ReplicaInfo;
  readonly responseMode: ResponseMode;
  /** Hands answers to server→client requests and cancellations to the replica they concern. */
  readonly peers: PeerRouter;
  /** Time to live of the session's record from now (sliding idle TTL under the absolute ceiling). */
  ttlMs(session: LiveSession): number;
  /** Makes sure the store has the session before its data is touched (it may have been created offline). */
  ensureStored(session: LiveSession): Promise<void>;
  /** Called when the client ends the session with DELETE. */
  onDeleted(session: LiveSession): Promise<void>;
  /** The store no longer has the session (expired, evicted, lost): it must not carry on here. */
  onGone(session: LiveSession): void;
}

export interface LiveSessionInit {
  readonly id: string;
  readonly createdAt: number;
  readonly maxExpiresAt: number;
  readonly principal: string | undefined;
  /** A restored session: its stored shape and revision. A new one: the client's hello (shape follows negotiation). */
  readonly from: { kind: 'stored'; shape: SessionShape; rev: number } | { kind: 'new'; hello: ClientHello };
  /** Called when the SDK accepts a new session's initialize. */
  readonly onInitialized?: (session: LiveSession) => void;
}

const INTERNAL_URL = 'http://session-restore.internal/mcp';
const REPLAY_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };
/** Attempts of a conditional shape write before giving up (each conflict means another replica just wrote). */
const SHAPE_WRITE_ATTEMPTS = 5;

export class LiveSession implements SessionContext, EventSource {
  readonly id: string;
  readonly createdAt: number;
  readonly maxExpiresAt: number;
  readonly principal: string | undefined;
  readonly restored: boolean;
  readonly replica: ReplicaInfo;
  /** Short hash of the id: in logs and event ids, never the id itself. */
  readonly tag: string;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly server: McpServer;
  readonly data: SessionData;
  /** The cached shape: undefined for a new session until the protocol version is negotiated. */
  shape: SessionShape | undefined;
  /** Revision of the cached shape in the store; 0 while the store has never confirmed it. */
  rev: number;
  /** Highest revision announced by other replicas; above `rev` means the cache is known to be old. */
  knownRev = 0;
  /** The channel could not vouch for the cache at some point: re-read before serving. */
  unverified = false;
  /** Last request served here; drives idle expiry. */
  lastUsed = 0;
  /** Last time the record's TTL was extended (or the record written). */
  lastTouched = 0;
  /** False during the restore replay: its SSE events go to no client and must not fill the session's log. */
  recordsEvents = true;
  /** Created, but no request but `notifications/initialized` yet: the record has a short TTL. */
  awaitingFirstCall = false;
  closed = false;
  /** This copy's traffic at the transport boundary, once connected. */
  peers: SessionPeers | undefined;
  /** Requests the SDK is handling (received, not yet answered): a retiring session closes when none is left. */
  #inFlight = 0;
  /** Requests the host has taken for this copy and not yet handed to the SDK (see `hold`). */
  #held = 0;
  #retiring = false;
  readonly #hello: ClientHello;
  readonly #host: LiveSessionHost;
  #protocolVersion: string | undefined;
  #negotiated: (version: string) => void = () => {};
  /** Resolves with the protocol version once the SDK has negotiated it. */
  readonly negotiated: Promise<string>;

  constructor(init: LiveSessionInit, host: LiveSessionHost) {
    this.id = init.id;
    this.createdAt = init.createdAt;
    this.maxExpiresAt = init.maxExpiresAt;
    this.principal = init.principal;
    this.replica = host.replica;
    this.#host = host;
    this.restored = init.from.kind === 'stored';
    this.tag = sessionTag(init.id);
    this.shape = init.from.kind === 'stored' ? init.from.shape : undefined;
    this.rev = init.from.kind === 'stored' ? init.from.rev : 0;
    this.#hello = init.from.kind === 'stored' ? init.from.shape : init.from.hello;
    this.negotiated = new Promise((resolve) => (this.#negotiated = resolve));
    this.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => init.id,
      enableJsonResponse: host.responseMode === 'json',
      eventStore: host.events.forSession(this),
      retryInterval: host.retryMs,
      onsessioninitialized: init.onInitialized ? () => init.onInitialized?.(this) : undefined,
      onsessionclosed: () => host.onDeleted(this),
    });
    // Transport.setProtocolVersion is the SDK's public hook for the negotiated version.
    (this.transport as Transport).setProtocolVersion = (version: string) => {
      this.#protocolVersion = version;
      if (!this.shape) this.shape = { v: FORMAT_VERSION, id: this.id, createdAt: this.createdAt, maxExpiresAt: this.maxExpiresAt, protocolVersion: version, ...this.#hello, toolsets: [], ...(this.principal ? { principal: this.principal } : {}) };
      this.#negotiated(version);
    };
    this.server = createSessionServer(host.tools, { session: this, scratchpads: () => bindScratchpads(host.scratchpads, init.principal) }, this.toolsets);
    this.data = sessionData(this, host);
  }

  ttlMs(): number {
    return this.#host.ttlMs(this);
  }

  get answersInJson(): boolean {
    return this.#host.responseMode === 'json';
  }

  get toolsets(): readonly string[] {
    return this.shape?.toolsets ?? [];
  }

  hasTool(name: string): boolean {
    return this.#host.tools.lists(this.server, name);
  }

  /** The cached shape must be re-read before it is served. */
  get suspect(): boolean {
    return this.unverified || this.knownRev > this.rev;
  }

  protocolVersion(): string | undefined {
    return this.#protocolVersion ?? this.shape?.protocolVersion;
  }

  clientInfo(): { name: string; version: string } | undefined {
    const info = this.server.server.getClientVersion() ?? this.#hello.clientInfo;
    return info ? { name: info.name, version: info.version } : undefined;
  }

  async enableToolset(name: string): Promise<'enabled' | 'already-enabled'> {
    await this.#host.ensureStored(this);
    for (let attempt = 0; attempt < SHAPE_WRITE_ATTEMPTS; attempt++) {
      const current = this.shape;
      if (!current) throw new Error('session is not initialized');
      if (current.toolsets.includes(name)) return 'already-enabled';
      const next = { ...current, toolsets: [...current.toolsets, name] };
      const result = await this.#host.store.updateShape(next, this.rev, this.#host.ttlMs(this));
      if (result.status === 'gone') throw new Error('This session has ended or expired; start a new session.');
      if (result.status === 'written') {
        this.applyShape(next, result.rev, { announce: true });
        return 'enabled';
      }
      // Another replica changed the shape first: take its version and try again on top of it.
      this.applyShape(result.current.shape, result.current.rev);
    }
    throw new Error('Not saved: the session changed concurrently too often, retry.');
  }

  /**
   * Takes a shape read from the store (if newer), registering any toolset it adds. Only the replica
   * that wrote a change announces it (`announce`): one list_changed per change, however many replicas
   * hold the session live.
   */
  applyShape(shape: SessionShape, rev: number, options: { announce?: boolean } = {}): void {
    this.unverified = false;
    if (rev < this.rev) return;
    const before = this.shape?.toolsets ?? [];
    this.shape = shape;
    this.rev = rev;
    // Only the replica that made the change announces it (notifications/tools/list_changed, once).
    registerToolsets(this.#host.tools, this.server, shape.toolsets.filter((name) => !before.includes(name)), { announce: options.announce });
  }

  async connect(): Promise<void> {
    await this.server.connect(this.transport);
    // The SDK's own Transport hooks (set by connect): count requests in, answers out.
    const transport = this.transport as Transport;
    const deliver = transport.onmessage;
    const send = transport.send.bind(transport);
    transport.onmessage = (message, extra) => {
      if ('method' in message && 'id' in message) this.#inFlight++;
      // The write fence counts the wait before this, not the call's own time (an elicitation, a long tool).
      callStarted();
      deliver?.(message, extra);
    };
    transport.send = async (message, options) => {
      try {
        await send(message, options);
      } finally {
        if (('result' in message || 'error' in message) && 'id' in message) {
          this.#inFlight = Math.max(0, this.#inFlight - 1);
          this.#closeIfRetired();
        }
      }
    };
    // Peer routing wraps outside the counter, so what it sends (a cancelled call's answer) is counted too.
    this.peers = this.#host.peers.attach(this);
  }

  /**
   * Closes the session once every request it is handling has been answered: a record that vanished
   * under a call must end the session with that call's answer (a tool error), not an empty stream or none.
   */
  async retire(): Promise<void> {
    this.#retiring = true;
    if (this.#inFlight === 0 && this.#held === 0) await this.close();
  }

  /**
   * Keeps this copy open while the host works on a request for it (reads, then the hand-over to the
   * SDK): a copy evicted meanwhile closes once the request is in (and then answered), not under it.
   * Returns the release.
   */
  hold(): () => void {
    this.#held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#held--;
      this.#closeIfRetired();
    };
  }

  #closeIfRetired(): void {
    if (this.#retiring && this.#inFlight === 0 && this.#held === 0) void this.close();
  }

  /**
   * Rebuilds the SDK's session state with public APIs only: replay the client's initialize (under a
   * private request id, response drained) and then notifications/initialized, as the client did.
   */
  async replayInitialize(): Promise<void> {
    if (!this.shape) throw new Error('no shape to replay');
    this.recordsEvents = false;
    try {
      await this.#replay(this.shape);
    } finally {
      this.recordsEvents = true;
    }
  }

  async #replay(shape: SessionShape): Promise<void> {
    const first = await this.transport.handleRequest(new Request(INTERNAL_URL, { method: 'POST', headers: REPLAY_HEADERS }), {
      parsedBody: replayInitialize(shape, `restore-${randomUUID()}`),
    });
    const body = await first.text();
    if (first.status !== 200 || body.includes('"error"')) throw new Error(`initialize replay answered ${first.status}`);
    const headers = { ...REPLAY_HEADERS, 'mcp-session-id': this.id, 'mcp-protocol-version': shape.protocolVersion };
    const second = await this.transport.handleRequest(new Request(INTERNAL_URL, { method: 'POST', headers }), {
      parsedBody: { jsonrpc: '2.0', method: 'notifications/initialized' },
    });
    await second.text();
    if (second.status !== 202) throw new Error(`initialized replay answered ${second.status}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.server.close().catch(() => {});
  }
}
