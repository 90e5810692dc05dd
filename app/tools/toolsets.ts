// enable_toolset (legacy sessions) and the toolsets it can switch on; an enabled toolset is re-registered after a restore.
import { z } from 'zod';
import { text, type ToolModule, type Toolset } from './types.js';

const PAIR = z.object({ a: z.number(), b: z.number() });
const TEXT_INPUT = z.object({ text: z.string().max(10_000) });

const math: Toolset = {
  name: 'math',
  description: 'add and multiply two numbers',
  register(server) {
    const pair = PAIR;
    server.registerTool('add', { description: 'Adds two numbers.', inputSchema: pair, annotations: { readOnlyHint: true } }, async ({ a, b }) => text(String(a + b)));
    server.registerTool('multiply', { description: 'Multiplies two numbers.', inputSchema: pair, annotations: { readOnlyHint: true } }, async ({ a, b }) =>
      text(String(a * b)),
    );
  },
};

const textTools: Toolset = {
  name: 'text',
  description: 'upper-case and reverse a string',
  register(server) {
    const input = TEXT_INPUT;
    server.registerTool('uppercase', { description: 'Upper-cases a string.', inputSchema: input, annotations: { readOnlyHint: true } }, async (args) =>
      text(args.text.toUpperCase()),
    );
    server.registerTool('reverse', { description: 'Reverses a string.', inputSchema: input, annotations: { readOnlyHint: true } }, async (args) =>
      text([...args.text].reverse().join('')),
    );
  },
};

/** Every toolset a session can enable, by name. Add yours here. */
export const TOOLSETS: ReadonlyMap<string, Toolset> = new Map([math, textTools].map((t) => [t.name, t]));

export const enableToolset: ToolModule = {
  name: 'enable_toolset',
  register(server, scope) {
    // A per-connection tool list is the pattern the 2026-07-28 spec forbids: there, every toolset is listed.
    if (scope.era !== 'legacy') return;
    server.registerTool(
      'enable_toolset',
      {
        title: 'Enable toolset',
        description: `Registers extra tools for this session only. Toolsets: ${[...TOOLSETS.values()].map((t) => `${t.name} (${t.description})`).join('; ')}.`,
        inputSchema: z.object({ name: z.string().min(1).max(64) }),
      },
      async ({ name }) => {
        if (!TOOLSETS.has(name)) return text(`Unknown toolset "${name}". Known: ${[...TOOLSETS.keys()].join(', ')}.`, true);
        // Saved (on every replica) before it is registered; registering sends notifications/tools/list_changed.
        // Read per call: the scope of a shared registration names the session of the call in hand.
        const outcome = await scope.session.enableToolset(name);
        return text(outcome === 'already-enabled' ? `Toolset "${name}" is already enabled.` : `Enabled toolset "${name}".`);
      },
    );
  },
};
