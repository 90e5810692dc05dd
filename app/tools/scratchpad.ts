// scratchpad_open, remember / recall / forget: scratchpads behind handles (both eras), or a legacy session's own.
import { z } from 'zod';
import { DATA_LIMITS } from '../sessions/data.js';
import { text, type ScratchpadData, type ToolModule, type ToolScope } from './types.js';

const Key = z.string().min(1).max(DATA_LIMITS.keyLength);
/** Any JSON scalar, stored as given (`value=1` from the MCP Inspector CLI arrives as a number). */
const Value = z.union([z.string().max(DATA_LIMITS.valueBytes), z.number(), z.boolean(), z.null()]);
const Handle = z.string().min(1).max(64).describe('A scratchpad handle from scratchpad_open.');

/**
 * The `scratchpad` argument: required in the modern era (no session to fall back on), optional in a
 * legacy session (its own scratchpad by default). Typed as optional for the handler either way.
 */
const ARGUMENT = {
  modern: Handle as unknown as z.ZodOptional<z.ZodString>,
  legacy: Handle.optional().describe("A handle from scratchpad_open; without one, this session's own scratchpad."),
};

export function scratchpadArgument(scope: ToolScope): z.ZodOptional<z.ZodString> {
  return ARGUMENT[scope.era];
}

// Built once per era, not per server: the modern era builds a server per request, and zod objects are not free.
const schemas = (era: ToolScope['era']) => ({
  none: z.object({}),
  pad: z.object({ scratchpad: ARGUMENT[era] }),
  key: z.object({ key: Key, scratchpad: ARGUMENT[era] }),
  keyValue: z.object({ key: Key, value: Value, scratchpad: ARGUMENT[era] }),
});
const SCHEMAS = { modern: schemas('modern'), legacy: schemas('legacy') };

/** The input schemas of the scratchpad tools in `scope`'s era. */
export function scratchpadSchemas(scope: ToolScope) {
  return SCHEMAS[scope.era];
}

/** Where a call keeps its data: the named scratchpad, or (legacy, no handle) the session's own data. */
export function scratchpadFor(scope: ToolScope, handle: string | undefined): ScratchpadData {
  if (handle !== undefined) return scope.scratchpads.data(handle);
  // The schema requires a handle in the modern era; this only guards a tool that forgot to ask for one.
  if (scope.era === 'modern') throw new Error('A scratchpad handle is required: open one with scratchpad_open.');
  const { data } = scope.session;
  return {
    ...data,
    async clear() {
      const removed = await Promise.all(Object.keys(await data.list()).map((key) => data.delete(key)));
      return removed.filter(Boolean).length;
    },
  };
}

const where = (scope: ToolScope) => (scope.era === 'modern' ? 'the given scratchpad' : "the given scratchpad (default: this session's)");

export const scratchpad: ToolModule = {
  name: 'scratchpad',
  register(server, scope) {
    const schema = scratchpadSchemas(scope);
    server.registerTool(
      'scratchpad_open',
      {
        title: 'Open a scratchpad',
        description: `Opens a new, empty scratchpad and returns its handle (structuredContent.scratchpad). Pass it as "scratchpad" to remember, recall, forget, forget_all and summarize, from any connection; only you can use it. It expires ${scope.scratchpads.lifetime}. Its changes can be followed as the resource scratchpad://<handle>.`,
        inputSchema: schema.none,
      },
      async () => {
        const handle = await scope.scratchpads.open();
        return { ...text(`Opened scratchpad ${handle}.`), structuredContent: { scratchpad: handle, uri: scope.scratchpads.uri(handle) } };
      },
    );
    server.registerTool(
      'remember',
      {
        title: 'Remember',
        description: `Stores a value (text, number, true/false or null) under a key in ${where(scope)}.`,
        inputSchema: schema.keyValue,
      },
      async ({ key, value, scratchpad: handle }) => {
        // Throws "Not saved: …" when the store does not confirm: a tool error, never a false "Remembered".
        await scratchpadFor(scope, handle).set(key, value);
        return text(`Remembered "${key}".`);
      },
    );
    server.registerTool(
      'recall',
      {
        title: 'Recall',
        description: `Returns the value stored under a key in ${where(scope)}.`,
        inputSchema: schema.key,
        annotations: { readOnlyHint: true },
      },
      async ({ key, scratchpad: handle }) => {
        const value = await scratchpadFor(scope, handle).get(key);
        if (value === undefined) return text(`Nothing is remembered under "${key}".`, true);
        return { ...text(typeof value === 'string' ? value : JSON.stringify(value)), structuredContent: { key, value } };
      },
    );
    server.registerTool(
      'forget',
      {
        title: 'Forget',
        description: `Removes a key from ${where(scope)}.`,
        inputSchema: schema.key,
        annotations: { destructiveHint: true, idempotentHint: true },
      },
      async ({ key, scratchpad: handle }) =>
        text((await scratchpadFor(scope, handle).delete(key)) ? `Forgot "${key}".` : `Nothing was remembered under "${key}".`),
    );
  },
};
