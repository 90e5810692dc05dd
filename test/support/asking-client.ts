// Legacy clients (SDK 1.32) that answer elicitation and sampling, and fetches that steer each POST by what it carries.
import { CreateMessageRequestSchema, ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, type LegacyClient } from './clients.js';

export interface AskingClientOptions {
  readonly fetch?: typeof fetch;
  /** The user's answer to every form (default: confirm). */
  readonly answer?: ElicitResult;
  /** The model's text for every sampling request. */
  readonly sample?: string;
  /** Runs before each form is answered (a user taking their time). */
  readonly beforeAnswer?: () => Promise<void>;
  /** Without elicitation (and sampling) capability, as a client that cannot ask its user. */
  readonly capable?: boolean;
  /** The client's name in its initialize (default: the test clients' one). */
  readonly name?: string;
}

export interface AskingClient extends LegacyClient {
  /** Questions the client was asked (elicitation/create and sampling/createMessage), with their ids. */
  readonly asked: Array<{ method: string; id: unknown }>;
  /** Errors the client reported (e.g. a message for a request it had already cancelled). */
  readonly errors: string[];
}

export async function connectAsking(url: string, options: AskingClientOptions = {}): Promise<AskingClient> {
  const asked: Array<{ method: string; id: unknown }> = [];
  const errors: string[] = [];
  const capable = options.capable ?? true;
  const client = await connectLegacy(url, {
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.name ? { name: options.name } : {}),
    ...(capable ? { capabilities: { elicitation: { form: {} }, sampling: {} } } : {}),
    configure: (c) => {
      c.onerror = (error) => errors.push(error.message);
      if (!capable) return;
      c.setRequestHandler(ElicitRequestSchema, async (request, extra) => {
        asked.push({ method: request.method, id: extra.requestId });
        await options.beforeAnswer?.();
        return options.answer ?? { action: 'accept', content: { confirm: true } };
      });
      c.setRequestHandler(CreateMessageRequestSchema, async (request, extra) => {
        asked.push({ method: request.method, id: extra.requestId });
        return { role: 'assistant', model: 'test-model', content: { type: 'text', text: options.sample ?? 'A summary.' } };
      });
    },
  });
  return Object.assign(client, { asked, errors });
}

/** What a POST carries: a request, a response (to a server→client request) or a notification. */
export type PostKind = 'request' | 'response' | 'notification';

function kindOf(body: unknown): PostKind | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const message = JSON.parse(body) as Record<string, unknown>;
    if (typeof message.method !== 'string') return 'response';
    return 'id' in message ? 'request' : 'notification';
  } catch {
    return undefined;
  }
}

/** A fetch that sends each POST to the origin `route` picks for its kind (GET and DELETE: `route(undefined)`). */
export function routeByKind(route: (kind: PostKind | undefined) => string): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const target = route(init?.method === 'POST' ? kindOf(init.body) : undefined);
    return fetch(new URL(url.pathname + url.search, target), init);
  };
}
