// How a tool asks the client: the user through an elicitation form, or the client's model through
// sampling. Both go related to the call in hand, so they travel on the call's own stream (the GET stream
// may not be open after a failover), and the answer may land on any replica: it is routed back here.
import type { McpServer, ServerContext } from '@modelcontextprotocol/server';

/** The client cannot do what the tool asked: answered as a tool error with this message. */
export class ClientCannotAsk extends Error {}

export type FormAnswer<T> = { action: 'accept'; content: T } | { action: 'decline' | 'cancel' };

/** A flat form: what an elicitation may ask (strings, numbers, booleans, enums). */
export interface FormSchema {
  readonly type: 'object';
  readonly properties: Record<string, Record<string, unknown>>;
  readonly required?: readonly string[];
}

/**
 * Asks the user to fill in `schema`. Throws `ClientCannotAsk` when the client declared no form
 * elicitation; a cancelled call cancels the question too. Validate `content` before trusting it.
 */
export async function askUser<T = Record<string, unknown>>(server: McpServer, ctx: ServerContext, message: string, schema: FormSchema): Promise<FormAnswer<T>> {
  const elicitation = server.server.getClientCapabilities()?.elicitation as { form?: object; url?: object } | undefined;
  // An empty `elicitation: {}` means form support (2025-11-25, backwards compatibility).
  if (!elicitation || (elicitation.form === undefined && elicitation.url !== undefined)) {
    throw new ClientCannotAsk('This client cannot show a form (it declared no elicitation capability), so nothing was changed.');
  }
  const result = await ctx.mcpReq.send({ method: 'elicitation/create', params: { mode: 'form', message, requestedSchema: schema } }, { signal: ctx.mcpReq.signal });
  if (result.action !== 'accept') return { action: result.action };
  return { action: 'accept', content: (result.content ?? {}) as T };
}

/** Asks the client's model for a completion of `prompt`; resolves its text. Throws `ClientCannotAsk` without sampling. */
export async function askModel(server: McpServer, ctx: ServerContext, prompt: string, options: { systemPrompt?: string; maxTokens?: number } = {}): Promise<string> {
  if (!server.server.getClientCapabilities()?.sampling) throw new ClientCannotAsk('This client cannot run its model for the server (it declared no sampling capability).');
  const result = await ctx.mcpReq.send(
    {
      method: 'sampling/createMessage',
      params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: options.maxTokens ?? 400, ...(options.systemPrompt ? { systemPrompt: options.systemPrompt } : {}) },
    },
    { signal: ctx.mcpReq.signal },
  );
  const blocks = Array.isArray(result.content) ? result.content : [result.content];
  return blocks.map((block) => (block.type === 'text' ? block.text : '')).join('');
}
