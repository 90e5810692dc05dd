// What a tool sees of its session: identity, its data (atomic, store-backed), toolsets, the replica serving it.
import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import type { DataValue } from '../sessions/data.js';

export type { DataValue };

/** The replica serving a session, as a client may see it: its name only, never host internals. */
export interface ReplicaInfo {
  readonly name: string;
}

/**
 * A session's data: the store is its source of truth, so every replica reads the same values. Each
 * call is one atomic operation (one Redis round trip). Failures throw `SessionDataError` with a
 * message meant for the caller ("Not saved: session store unavailable, retry."); a tool that lets it
 * propagate answers with that message as a tool error. Keys are one namespace per session: prefix
 * yours (`mytool:…`) if several tools keep data.
 */
export interface SessionData {
  get(key: string): Promise<DataValue | undefined>;
  /** Resolves once the store confirmed the write; never "saved later". */
  set(key: string, value: DataValue): Promise<void>;
  /** Resolves whether the key existed. */
  delete(key: string): Promise<boolean>;
  /** Every key and value (a null-prototype object). */
  list(): Promise<Record<string, DataValue>>;
}

export interface SessionContext {
  readonly id: string;
  readonly createdAt: number;
  /** True when this replica rebuilt the session from the store rather than creating it. */
  readonly restored: boolean;
  readonly replica: ReplicaInfo;
  readonly data: SessionData;
  /** Toolsets enabled in this session, in order. */
  readonly toolsets: readonly string[];
  /**
   * Enables a toolset for this session on every replica: a conditional write of the session's shape,
   * retried on conflict. Throws when the store cannot confirm it.
   */
  enableToolset(name: string): Promise<'enabled' | 'already-enabled'>;
  /** The protocol version negotiated at initialize. */
  protocolVersion(): string | undefined;
  /** The client's name and version from its initialize request. */
  clientInfo(): { name: string; version: string } | undefined;
}

/** A scratchpad's data: a session's data API plus `clear` (one atomic step). */
export interface ScratchpadData extends SessionData {
  /** Removes every key; resolves how many there were. */
  clear(): Promise<number>;
}

/**
 * The caller's scratchpads: server-minted handles a client passes back as the `scratchpad` argument. A
 * handle works on every replica and across restarts, only for the principal that opened it; every call
 * on another principal's, an unknown or an expired one throws "Unknown or expired scratchpad…".
 */
export interface Scratchpads {
  /** Their lifetime in words, for tool descriptions (e.g. "8 hours after its last use, 24 hours at most"). */
  readonly lifetime: string;
  /** Opens a new, empty scratchpad; resolves its handle. */
  open(): Promise<string>;
  data(handle: string): ScratchpadData;
  /** The resource URI of a handle, `scratchpad://<handle>`: listeners hear `resources/updated` for it. */
  uri(handle: string): string;
}

interface ScopeBase {
  readonly replica: ReplicaInfo;
  readonly scratchpads: Scratchpads;
}

/** A legacy-era (2025) session: state may live in the session, and the server may ask the client. */
export interface LegacyScope extends ScopeBase {
  readonly era: 'legacy';
  readonly session: SessionContext;
}

/** A modern-era (2026-07-28) request: no session; state lives behind handles, input comes as `input_required`. */
export interface ModernScope extends ScopeBase {
  readonly era: 'modern';
  /**
   * Seals what a tool needs back on the retry of an `input_required` call (HMAC'd under the fleet's key,
   * bound to the caller and the method): any replica can verify it. The retry reads it, verified, with
   * `ctx.mcpReq.requestState<T>()`. Signed, not encrypted: the client can read it.
   */
  sealState(payload: Record<string, unknown>, ctx: ServerContext): Promise<string>;
}

/** What a tool is registered for: one legacy session, or one stateless modern request. */
export type ToolScope = LegacyScope | ModernScope;

/**
 * A tool module registers one or more tools on a server, for either era. Add yours to `tools/index.ts`.
 * In the legacy era the SDK registration (name, schemas, description) is made once per process and
 * shared by every session, and `register` runs again per session to make its handlers: what it passes
 * to `registerTool` besides the handler must not depend on the session.
 */
export interface ToolModule {
  readonly name: string;
  register(server: McpServer, scope: ToolScope): void;
}

/** A toolset: tools a legacy session switches on with `enable_toolset` (listed unconditionally in the modern era). */
export interface Toolset {
  readonly name: string;
  readonly description: string;
  register(server: McpServer, scope: ToolScope): void;
}

/** A text result, the shape most tools answer with. */
export function text(value: string, isError = false) {
  return { content: [{ type: 'text' as const, text: value }], ...(isError ? { isError: true } : {}) };
}
