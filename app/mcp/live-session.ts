// One session live in this process: its SDK transport and server, its state, and the restore replay.
import { randomUUID } from 'node:crypto';
import { WebStandardStreamableHTTPServerTransport, type McpServer, type Transport } from '@modelcontextprotocol/server';
import type { SessionRecord, SessionState } from '../sessions/record.js';
import type { ReplicaInfo, SessionContext } from '../tools/index.js';
import { createSessionServer, registerNewToolsets } from './server-factory.js';

export type ResponseMode = 'sse' | 'json';

export interface LiveSessionInit {
  readonly id: string;
  readonly createdAt: number;
  readonly maxExpiresAt: number;
  /** The client's initialize request; undefined until a new session's first POST supplies it. */
  readonly initialize: SessionRecord['initialize'] | undefined;
  readonly state: SessionState;
  /** Time of the last state change (see the record's `updatedAt`). */
  readonly updatedAt?: number | undefined;
  readonly restored: boolean;
  readonly replica: ReplicaInfo;
  readonly responseMode: ResponseMode;
  /** Saves the session's record; resolves false when the store could not take it. */
  readonly persist: (session: LiveSession) => Promise<boolean>;
  /** Called when the SDK accepts a new session's initialize (not on a restore). */
  readonly onInitialized?: (session: LiveSession) => Promise<void>;
  /** Called when the client ends the session with DELETE. */
  readonly onDeleted: (session: LiveSession) => Promise<void>;
}

const INTERNAL_URL = 'http://session-restore.internal/mcp';
const REPLAY_HEADERS = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

export class LiveSession implements SessionContext {
  readonly id: string;
  readonly createdAt: number;
  readonly maxExpiresAt: number;
  readonly restored: boolean;
  readonly replica: ReplicaInfo;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  readonly server: McpServer;
  initialize: SessionRecord['initialize'] | undefined;
  state: SessionState;
  updatedAt: number;
  /** Last request served here; drives LRU and idle eviction. */
  lastUsed = 0;
  /** Last time the record's TTL was extended (or the record written). */
  lastTouched = 0;
  lastSaveAttempt = 0;
  /** The record in the store lags this copy (a save failed); save again when possible. */
  dirty = false;
  /** Another replica changed the record; reload it before serving the next request. */
  stale = false;
  closed = false;
  #protocolVersion: string | undefined;
  readonly #persist: LiveSessionInit['persist'];

  constructor(init: LiveSessionInit) {
    this.id = init.id;
    this.createdAt = init.createdAt;
    this.maxExpiresAt = init.maxExpiresAt;
    this.restored = init.restored;
    this.replica = init.replica;
    this.initialize = init.initialize;
    this.state = init.state;
    this.updatedAt = init.updatedAt ?? init.createdAt;
    this.#persist = init.persist;
    this.#protocolVersion = init.initialize?.params.protocolVersion;
    this.transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => init.id,
      enableJsonResponse: init.responseMode === 'json',
      onsessioninitialized: init.onInitialized ? () => init.onInitialized?.(this) : undefined,
      onsessionclosed: () => init.onDeleted(this),
    });
    // Transport.setProtocolVersion is the SDK's public hook for the negotiated version.
    (this.transport as Transport).setProtocolVersion = (version: string) => {
      this.#protocolVersion = version;
    };
    this.server = createSessionServer(this);
  }

  protocolVersion(): string | undefined {
    return this.#protocolVersion;
  }

  clientInfo(): { name: string; version: string } | undefined {
    const info = this.server.server.getClientVersion() ?? this.initialize?.params.clientInfo;
    return info ? { name: info.name, version: info.version } : undefined;
  }

  async update(change: (state: SessionState) => void): Promise<{ persisted: boolean }> {
    change(this.state);
    this.updatedAt = Math.max(Date.now(), this.updatedAt + 1);
    return { persisted: await this.#persist(this) };
  }

  record(): SessionRecord | undefined {
    if (!this.initialize) return undefined;
    return { v: 1, id: this.id, createdAt: this.createdAt, maxExpiresAt: this.maxExpiresAt, updatedAt: this.updatedAt, initialize: this.initialize, state: this.state };
  }

  /** Takes the state another replica saved, registering any toolset it enabled there. */
  applyRecord(record: SessionRecord): void {
    const before = this.state.toolsets;
    this.state = record.state;
    this.updatedAt = record.updatedAt ?? record.createdAt;
    registerNewToolsets(this.server, this, before, record.state.toolsets);
  }

  async connect(): Promise<void> {
    await this.server.connect(this.transport);
  }

  /**
   * Rebuilds the SDK's session state with public APIs only: replay the stored initialize (under a
   * private request id, response drained) and then notifications/initialized, as the client did.
   */
  async replayInitialize(): Promise<void> {
    if (!this.initialize) throw new Error('no initialize request to replay');
    const initialize = { ...this.initialize, id: `restore-${randomUUID()}` };
    const first = await this.transport.handleRequest(new Request(INTERNAL_URL, { method: 'POST', headers: REPLAY_HEADERS }), { parsedBody: initialize });
    const body = await first.text();
    if (first.status !== 200 || body.includes('"error"')) throw new Error(`initialize replay answered ${first.status}`);
    const headers = { ...REPLAY_HEADERS, 'mcp-session-id': this.id, ...(this.#protocolVersion ? { 'mcp-protocol-version': this.#protocolVersion } : {}) };
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
