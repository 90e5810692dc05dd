// A ServerEventBus over the fleet's change channel: an event published on any replica reaches every listen.
import type { ServerEvent, ServerEventBus } from '@modelcontextprotocol/server';
import type { ScratchpadStore } from '../sessions/scratchpad-store.js';
import { SCRATCHPAD_SCHEME } from '../mcp/scratchpads.js';

const KINDS = new Set(['tools_list_changed', 'prompts_list_changed', 'resources_list_changed', 'resource_updated']);

/** `updated <handle>` (written by the scratchpad scripts themselves) or `event <ServerEvent JSON>`. */
export function decodeChange(message: string): ServerEvent | undefined {
  if (message.startsWith('updated ')) return { kind: 'resource_updated', uri: `${SCRATCHPAD_SCHEME}${message.slice(8)}` };
  if (!message.startsWith('event ')) return undefined;
  try {
    const event = JSON.parse(message.slice(6)) as ServerEvent;
    if (!KINDS.has(event.kind) || (event.kind === 'resource_updated' && typeof event.uri !== 'string')) return undefined;
    return event;
  } catch {
    return undefined;
  }
}

/**
 * Publishing goes through the channel only, never straight to local listeners: a listen on this replica
 * hears an event exactly once, the same way a listen on another replica does.
 */
export class FleetEventBus implements ServerEventBus {
  readonly #listeners = new Set<(event: ServerEvent) => void>();
  readonly #store: ScratchpadStore;
  readonly #onerror: (error: Error) => void;
  readonly #unsubscribe: () => void;

  constructor(store: ScratchpadStore, onerror: (error: Error) => void) {
    this.#store = store;
    this.#onerror = onerror;
    this.#unsubscribe = store.onChange((message) => {
      const event = decodeChange(message);
      if (event) this.#deliver(event);
    });
  }

  publish(event: ServerEvent): void {
    this.#store.publishChange(`event ${JSON.stringify(event)}`).catch((error: unknown) => this.#onerror(error instanceof Error ? error : new Error(String(error))));
  }

  subscribe(listener: (event: ServerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  close(): void {
    this.#unsubscribe();
  }

  #deliver(event: ServerEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#onerror(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}
