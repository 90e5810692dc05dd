// forget_all and summarize: scratchpad tools that ask the client first (the user, or its model).
import { z } from 'zod';
import { askModel, askUser, ClientCannotAsk } from './asking.js';
import { text, type ToolModule } from './types.js';

const CONFIRM = { type: 'object', properties: { confirm: { type: 'boolean', title: 'Clear the scratchpad', description: 'Removes every key this session remembers.' } }, required: ['confirm'] } as const;

/** A client that cannot ask answers with a tool error that says so; anything else propagates. */
function cannotAsk(error: unknown) {
  if (error instanceof ClientCannotAsk) return text(error.message, true);
  throw error;
}

export const scratchpadAsks: ToolModule = {
  name: 'scratchpad-asks',
  register(server, session) {
    server.registerTool(
      'forget_all',
      {
        title: 'Forget everything',
        description: "Clears this session's scratchpad after the user confirms it in a form.",
        inputSchema: z.object({}),
        annotations: { destructiveHint: true },
      },
      async (_args, ctx) => {
        const keys = Object.keys(await session.data.list());
        if (keys.length === 0) return text('The scratchpad is already empty.');
        try {
          const answer = await askUser<{ confirm?: unknown }>(server, ctx, `Clear all ${keys.length} keys of the scratchpad?`, CONFIRM);
          if (answer.action !== 'accept' || answer.content.confirm !== true) return text('Kept everything.');
        } catch (error) {
          return cannotAsk(error);
        }
        const removed = await Promise.all(keys.map((key) => session.data.delete(key)));
        const n = removed.filter(Boolean).length;
        return text(`Cleared ${n} ${n === 1 ? 'key' : 'keys'}.`);
      },
    );
    server.registerTool(
      'summarize',
      {
        title: 'Summarize',
        description: "Asks the client's model for a short summary of this session's scratchpad.",
        inputSchema: z.object({}),
        annotations: { readOnlyHint: true },
      },
      async (_args, ctx) => {
        const entries = Object.entries(await session.data.list());
        if (entries.length === 0) return text('The scratchpad is empty: nothing to summarize.');
        const listing = entries.map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join('\n');
        try {
          const summary = await askModel(server, ctx, `Summarize these notes in two sentences:\n${listing}`, { systemPrompt: 'You summarize short notes plainly.' });
          return text(summary);
        } catch (error) {
          return cannotAsk(error);
        }
      },
    );
  },
};
