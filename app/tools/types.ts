// What a tool sees of its session: identity, the state it may change, and the replica serving it.
import type { McpServer } from '@modelcontextprotocol/server';
import type { SessionState } from '../sessions/record.js';

export interface ReplicaInfo {
  readonly host: string;
  readonly pid: number;
}

export interface SessionContext {
  readonly id: string;
  readonly createdAt: number;
  /** True when this replica rebuilt the session from the store rather than creating it. */
  readonly restored: boolean;
  readonly replica: ReplicaInfo;
  /** The session's state. Read freely; change it only through `update`. */
  readonly state: Readonly<SessionState>;
  /** The protocol version negotiated at initialize. */
  protocolVersion(): string | undefined;
  /** The client's name and version from its initialize request. */
  clientInfo(): { name: string; version: string } | undefined;
  /**
   * Applies a change to the state and saves the record. Resolves `persisted: false` when the store
   * is down: the change holds on this replica and is saved when the store is back.
   */
  update(change: (state: SessionState) => void): Promise<{ persisted: boolean }>;
}

/** A tool module registers one or more tools on a session's server. Add yours to `tools/index.ts`. */
export interface ToolModule {
  readonly name: string;
  register(server: McpServer, session: SessionContext): void;
}

/** A toolset: tools a session switches on with `enable_toolset`, remembered in its record by name. */
export interface Toolset {
  readonly name: string;
  readonly description: string;
  register(server: McpServer, session: SessionContext): void;
}

/** A text result, the shape most tools answer with. */
export function text(value: string, isError = false) {
  return { content: [{ type: 'text' as const, text: value }], ...(isError ? { isError: true } : {}) };
}
