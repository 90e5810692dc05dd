// The legacy-era tools, registered once per process and shared by every session's server: a session
// holds only which of them it lists (its toolsets), and each call finds its session through the call's context.
import { AsyncLocalStorage } from 'node:async_hooks';
import { McpServer } from '@modelcontextprotocol/server';
import { TOOL_MODULES, TOOLSETS, type LegacyScope, type ReplicaInfo, type Scratchpads, type SessionContext } from '../tools/index.js';

export const SERVER_INFO = { name: 'mcp-continuity', version: '0.1.0' } as const;

/** What a tool handler of the shared catalog reaches through its scope: the session whose request it serves. */
export interface CallOwner {
  readonly session: SessionContext;
  readonly scratchpads: Scratchpads;
  readonly server: McpServer;
}

/**
 * The SDK keeps a server's tools in a private record and lists its own entries in insertion order (a
 * prototype is not listed). Sharing the registered tools is the one place this code leans on that.
 */
type Registry = Record<string, unknown>;
const registryOf = (server: McpServer): Registry => (server as unknown as { _registeredTools: Registry })._registeredTools;

const owners = new AsyncLocalStorage<CallOwner>();

/** Runs `task` (a message handed to a session's server) with `owner` as the session its tools serve. */
export function asOwner<T>(owner: CallOwner, task: () => T): T {
  return owners.run(owner, task);
}

function owner(): CallOwner {
  const found = owners.getStore();
  if (!found) throw new Error('A shared session tool ran outside the request of a session.');
  return found;
}

export class ToolCatalog {
  /** Base tools, in registration order. */
  readonly #base: Array<[string, unknown]>;
  /** Tools of each known toolset, in registration order. */
  readonly #toolsets = new Map<string, Array<[string, unknown]>>();
  readonly baseNames: ReadonlySet<string>;

  /**
   * `scratchpadLifetime`: what tool descriptions say about scratchpads (the same for every session of
   * one host). The tools are registered on a template server nothing connects to.
   */
  constructor(replica: ReplicaInfo, scratchpadLifetime: string) {
    const template = new McpServer(SERVER_INFO, { capabilities: { tools: { listChanged: true } } });
    const registry = registryOf(template);
    if (typeof registry !== 'object' || registry === null) throw new Error('This SDK version keeps no tool registry the shared catalog can use.');
    // At registration a tool may read the scratchpads' lifetime (for its description); nothing else.
    const described: Scratchpads = { lifetime: scratchpadLifetime, open: () => owner().scratchpads.open(), data: (h) => owner().scratchpads.data(h), uri: (h) => owner().scratchpads.uri(h) };
    // What tools hold at registration is the host's (replica, lifetime); what they reach per call is the caller's session.
    const scope: LegacyScope = {
      era: 'legacy',
      replica,
      get session() {
        return owner().session;
      },
      get scratchpads() {
        return owners.getStore()?.scratchpads ?? described;
      },
    };
    // Tools reach the client's side (capabilities, client info) through `server.server`: the caller's server.
    const facade = {
      registerTool: template.registerTool.bind(template),
      get server() {
        return owner().server.server;
      },
    } as unknown as McpServer;
    const added = (run: () => void): Array<[string, unknown]> => {
      const before = new Set(Object.keys(registry));
      run();
      const entries = Object.entries(registry).filter(([name]) => !before.has(name));
      if (entries.length === 0) throw new Error('This SDK version keeps no tool registry the shared catalog can use.');
      return entries;
    };
    this.#base = added(() => {
      for (const module of TOOL_MODULES) module.register(facade, scope);
    });
    this.baseNames = new Set(this.#base.map(([name]) => name));
    for (const [name, toolset] of TOOLSETS) this.#toolsets.set(name, added(() => toolset.register(facade, scope)));
  }

  /** Whether `server` lists the tool `name`. */
  lists(server: McpServer, name: string): boolean {
    return Object.hasOwn(registryOf(server), name);
  }

  /** Lists the base tools on a fresh session server (registered before connect: no list_changed). */
  install(server: McpServer): void {
    const registry = registryOf(server);
    for (const [name, tool] of this.#base) registry[name] = tool;
  }

  /**
   * Lists the named toolsets' tools on `server` (unknown names, e.g. from a newer release, are skipped);
   * resolves the names of the tools it added. Announcing them is the caller's choice.
   */
  addToolsets(server: McpServer, names: readonly string[]): string[] {
    const registry = registryOf(server);
    const added: string[] = [];
    for (const name of names) {
      for (const [tool, entry] of this.#toolsets.get(name) ?? []) {
        if (Object.hasOwn(registry, tool)) continue;
        registry[tool] = entry;
        added.push(tool);
      }
    }
    return added;
  }
}
