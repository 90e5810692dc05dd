// forget_all and summarize: scratchpad tools that ask the client first (the user, or its model), in either era.
import { askModel, askUser, ClientCannotAsk, type FormAnswer } from './asking.js';
import { askModelModern, askUserModern } from './input-required.js';
import { scratchpadFor, scratchpadSchemas } from './scratchpad.js';
import { text, type ToolModule } from './types.js';

const CONFIRM = { type: 'object', properties: { confirm: { type: 'boolean', title: 'Clear the scratchpad', description: 'Removes every key this scratchpad holds.' } }, required: ['confirm'] } as const;

/** A client that cannot ask answers with a tool error that says so; anything else propagates. */
function cannotAsk(error: unknown) {
  if (error instanceof ClientCannotAsk) return text(error.message, true);
  throw error;
}

export const scratchpadAsks: ToolModule = {
  name: 'scratchpad-asks',
  register(server, scope) {
    const schema = scratchpadSchemas(scope);
    server.registerTool(
      'forget_all',
      {
        title: 'Forget everything',
        description: 'Clears a scratchpad after the user confirms it in a form.',
        inputSchema: schema.pad,
        annotations: { destructiveHint: true },
      },
      async ({ scratchpad: handle }, ctx) => {
        const data = scratchpadFor(scope, handle);
        const keys = Object.keys(await data.list());
        if (keys.length === 0) return text('The scratchpad is already empty.');
        const message = `Clear all ${keys.length} keys of the scratchpad?`;
        let answer: FormAnswer<{ confirm?: unknown }>;
        try {
          if (scope.era === 'modern') {
            // The retry may land on any replica: the sealed state names the scratchpad the user confirmed.
            const round = await askUserModern<{ confirm?: unknown }>(server, ctx, scope, { key: 'confirm', message, schema: CONFIRM, state: { tool: 'forget_all', scratchpad: handle ?? '' } });
            if ('asked' in round) return round.asked;
            answer = round.answer;
          } else {
            answer = await askUser<{ confirm?: unknown }>(server, ctx, message, CONFIRM);
          }
        } catch (error) {
          return cannotAsk(error);
        }
        if (answer.action !== 'accept' || answer.content.confirm !== true) return text('Kept everything.');
        const n = await data.clear();
        return text(`Cleared ${n} ${n === 1 ? 'key' : 'keys'}.`);
      },
    );
    server.registerTool(
      'summarize',
      {
        title: 'Summarize',
        description: "Asks the client's model for a short summary of a scratchpad.",
        inputSchema: schema.pad,
        annotations: { readOnlyHint: true },
      },
      async ({ scratchpad: handle }, ctx) => {
        const entries = Object.entries(await scratchpadFor(scope, handle).list());
        if (entries.length === 0) return text('The scratchpad is empty: nothing to summarize.');
        const listing = entries.map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join('\n');
        const prompt = `Summarize these notes in two sentences:\n${listing}`;
        const options = { systemPrompt: 'You summarize short notes plainly.' };
        try {
          if (scope.era === 'modern') {
            const round = askModelModern(server, ctx, 'summary', prompt, options);
            return 'asked' in round ? round.asked : text(round.answer);
          }
          return text(await askModel(server, ctx, prompt, options));
        } catch (error) {
          return cannotAsk(error);
        }
      },
    );
  },
};
