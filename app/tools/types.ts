// What a tool sees of its session: identity, its data (atomic, store-backed), toolsets, the replica serving it.
import type { McpServer } from '@modelcontextprotocol/server';
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

/** A tool module registers one or more tools on a session's server. Add yours to `tools/index.ts`. */
export interface ToolModule {
  readonly name: string;
  register(server: McpServer, session: SessionContext): void;
}

/** A toolset: tools a session switches on with `enable_toolset`, remembered in its shape by name. */
export interface Toolset {
  readonly name: string;
  readonly description: string;
  register(server: McpServer, session: SessionContext): void;
}

/** A text result, the shape most tools answer with. */
export function text(value: string, isError = false) {
  return { content: [{ type: 'text' as const, text: value }], ...(isError ? { isError: true } : {}) };
}
