// The legacy-era tools' registrations, made once per host and shared by every session's server: a
// session holds only its handlers (closures over its own scope) and which tools it lists (its toolsets).
import { McpServer } from '@modelcontextprotocol/server';
import { TOOL_MODULES, TOOLSETS, type LegacyScope, type ReplicaInfo, type Scratchpads, type SessionContext, type ToolModule } from '../tools/index.js';

export const SERVER_INFO = { name: 'mcp-continuity', version: '0.1.0' } as const;

/** What a session's tools are registered for. */
export interface SessionScope {
  readonly session: SessionContext;
  /** Bound to the session's principal; read when a tool reaches for it. */
  readonly scratchpads: () => Scratchpads;
}

type Handler = (...args: unknown[]) => unknown;
type Registry = Record<string, unknown>;

/**
 * The SDK keeps a server's tools in a private record (it lists its own entries in insertion order) and
 * runs a call through a private `executeToolHandler(tool, args, ctx)`. Sharing the registrations
 * is the one place this code leans on those two; the constructor checks they are there.
 */
interface SdkInternals {
  _registeredTools: Registry;
  executeToolHandler: (tool: { inputSchema?: unknown }, args: unknown, ctx: unknown) => Promise<unknown>;
}
const internals = (server: McpServer) => server as unknown as SdkInternals;

const UNSUPPORTED = 'This SDK version keeps no tool registry the shared catalog can use: pin @modelcontextprotocol/server to a version it supports.';

export class ToolCatalog {
  /** Base tools, in registration order. */
  readonly #base: Array<[string, unknown]>;
  /** Tools of each known toolset, in registration order. */
  readonly #toolsets = new Map<string, Array<[string, unknown]>>();
  /** Tool name of each shared registration. */
  readonly #names = new WeakMap<object, string>();
  readonly #replica: ReplicaInfo;
  readonly #lifetime: string;

  /**
   * `scratchpadLifetime`: what tool descriptions say about scratchpads (the same for every session of
   * one host). The tools are registered on a template server nothing connects to; its handlers never run.
   */
  constructor(replica: ReplicaInfo, scratchpadLifetime: string) {
    this.#replica = replica;
    this.#lifetime = scratchpadLifetime;
    const template = new McpServer(SERVER_INFO, { capabilities: { tools: { listChanged: true } } });
    const registry = internals(template)._registeredTools;
    if (typeof registry !== 'object' || registry === null || typeof internals(template).executeToolHandler !== 'function') throw new Error(UNSUPPORTED);
    const scope = this.#scope({
      get session(): SessionContext {
        throw new Error('The template registration has no session.');
      },
      scratchpads: () => {
        throw new Error('The template registration has no scratchpads.');
      },
    });
    const added = (run: () => void): Array<[string, unknown]> => {
      const before = new Set(Object.keys(registry));
      run();
      const entries = Object.entries(registry).filter(([name]) => !before.has(name));
      if (entries.length === 0) throw new Error(UNSUPPORTED);
      for (const [name, tool] of entries) this.#names.set(tool as object, name);
      return entries;
    };
    this.#base = added(() => {
      for (const module of TOOL_MODULES) module.register(template, scope);
    });
    for (const [name, toolset] of TOOLSETS) this.#toolsets.set(name, added(() => toolset.register(template, scope)));
  }

  /**
   * Lists the base tools on a fresh session server (before connect: no list_changed) and makes its
   * calls run the handlers `register` makes for `session`: the shared registration decides what is
   * listed and validated, the session's own handler what the call does.
   */
  install(server: McpServer, session: SessionScope): void {
    const registry = internals(server)._registeredTools;
    for (const [name, tool] of this.#base) registry[name] = tool;
    const handlers = new Map<string, Handler>();
    const scope = this.#scope(session);
    // What a tool keeps from registration is its handler; it reaches the client's side through `server.server`.
    const recorder = {
      registerTool: (name: string, _config: unknown, handler: Handler) => void handlers.set(name, handler),
      server: server.server,
    } as unknown as McpServer;
    for (const module of TOOL_MODULES) (module as ToolModule).register(recorder, scope);
    internals(server).executeToolHandler = async (tool, args, ctx) => {
      const name = this.#names.get(tool as object);
      let handler = name === undefined ? undefined : handlers.get(name);
      if (!handler && name !== undefined) {
        // A toolset's handlers are made the first time one of its tools is called in this session.
        for (const [set, entries] of this.#toolsets) if (entries.some(([n]) => n === name)) TOOLSETS.get(set)?.register(recorder, scope);
        handler = handlers.get(name);
      }
      if (!handler) throw new Error(`Tool ${String(name)} has no handler in this session.`);
      // The SDK's own executor: a tool with an input schema gets (args, ctx), one without gets (ctx).
      return tool.inputSchema === undefined ? handler(ctx) : handler(args, ctx);
    };
  }

  /** Whether `server` lists the tool `name`. */
  lists(server: McpServer, name: string): boolean {
    return Object.hasOwn(internals(server)._registeredTools, name);
  }

  /**
   * Lists the named toolsets' tools on `server` (unknown names, e.g. from a newer release, are skipped);
   * returns the names of the tools it added. Announcing them is the caller's choice.
   */
  addToolsets(server: McpServer, names: readonly string[]): string[] {
    const registry = internals(server)._registeredTools;
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

  #scope(session: SessionScope): LegacyScope {
    const lifetime = this.#lifetime;
    return {
      era: 'legacy',
      replica: this.#replica,
      get session() {
        return session.session;
      },
      // Bound when a tool reaches for it, not per session: most sessions never open a scratchpad.
      get scratchpads(): Scratchpads {
        let bound: Scratchpads | undefined;
        const get = () => (bound ??= session.scratchpads());
        return { lifetime, open: () => get().open(), data: (handle) => get().data(handle), uri: (handle) => get().uri(handle) };
      },
    };
  }
}
