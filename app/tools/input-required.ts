// How a tool asks in the modern era: it answers input_required, and the client retries the call with the answer.
import { inputRequired, inputResponse, type InputRequiredResult, type McpServer, type ServerContext } from '@modelcontextprotocol/server';
import { ClientCannotAsk, type FormAnswer, type FormSchema } from './asking.js';
import type { ModernScope } from './types.js';

/** Either the call must end now with `asked` (the client collects the input and retries), or here is the answer. */
export type Asked<T> = { readonly asked: InputRequiredResult } | { readonly answer: T };

/** `elicitation: {}` means form support (2025-11-25, kept in 2026-07-28); `url` alone does not. */
function canShowForm(server: McpServer): boolean {
  const elicitation = server.server.getClientCapabilities()?.elicitation as { form?: object; url?: object } | undefined;
  return elicitation !== undefined && !(elicitation.form === undefined && elicitation.url !== undefined);
}

/** The echoed state names exactly what this call asked about (the codec already proved it is ours, unaltered, fresh). */
function sameState(echoed: unknown, state: Record<string, unknown>): boolean {
  return echoed !== null && typeof echoed === 'object' && JSON.stringify(echoed) === JSON.stringify(state);
}

/**
 * Asks the user to fill in `schema`, the modern way. First round: `{ asked }`, which the tool returns.
 * Retry (on any replica): `{ answer }` when it carries an answer under `key` and the sealed `state`
 * this call asked with (an answer without it, or for another question, is asked again).
 * Throws `ClientCannotAsk` when the client declared no form elicitation.
 */
export async function askUserModern<T = Record<string, unknown>>(
  server: McpServer,
  ctx: ServerContext,
  scope: ModernScope,
  request: { key: string; message: string; schema: FormSchema; state: Record<string, unknown> },
): Promise<Asked<FormAnswer<T>>> {
  if (!canShowForm(server)) throw new ClientCannotAsk('This client cannot show a form (it declared no elicitation capability), so nothing was changed.');
  const response = inputResponse(ctx.mcpReq.inputResponses, request.key);
  if (response.kind === 'elicit' && sameState(ctx.mcpReq.requestState(), request.state)) {
    return { answer: response.action === 'accept' ? { action: 'accept', content: (response.content ?? {}) as T } : { action: response.action } };
  }
  return {
    asked: inputRequired({
      inputRequests: { [request.key]: inputRequired.elicit({ mode: 'form', message: request.message, requestedSchema: request.schema as never }) },
      requestState: await scope.sealState(request.state, ctx),
    }),
  };
}

/** Asks the client's model for a completion of `prompt`, the modern way. Throws `ClientCannotAsk` without sampling. */
export function askModelModern(server: McpServer, ctx: ServerContext, key: string, prompt: string, options: { systemPrompt?: string; maxTokens?: number } = {}): Asked<string> {
  if (!server.server.getClientCapabilities()?.sampling) throw new ClientCannotAsk('This client cannot run its model for the server (it declared no sampling capability).');
  const response = inputResponse(ctx.mcpReq.inputResponses, key);
  if (response.kind === 'sampling') {
    const blocks = Array.isArray(response.result.content) ? response.result.content : [response.result.content];
    return { answer: blocks.map((block) => (block.type === 'text' ? block.text : '')).join('') };
  }
  return {
    asked: inputRequired({
      inputRequests: {
        [key]: inputRequired.createMessage({
          messages: [{ role: 'user', content: { type: 'text', text: prompt } }],
          maxTokens: options.maxTokens ?? 400,
          ...(options.systemPrompt ? { systemPrompt: options.systemPrompt } : {}),
        }),
      },
    }),
  };
}
