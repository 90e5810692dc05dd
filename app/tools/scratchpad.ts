// remember / recall / forget: a per-session scratchpad kept in the session's data, on every replica.
import { z } from 'zod';
import { DATA_LIMITS } from '../sessions/data.js';
import { text, type ToolModule } from './types.js';

const Key = z.string().min(1).max(DATA_LIMITS.keyLength);
/** Any JSON scalar, stored as given (`value=1` from the MCP Inspector CLI arrives as a number). */
const Value = z.union([z.string().max(DATA_LIMITS.valueBytes), z.number(), z.boolean(), z.null()]);

export const scratchpad: ToolModule = {
  name: 'scratchpad',
  register(server, session) {
    server.registerTool(
      'remember',
      {
        title: 'Remember',
        description: "Stores a value (text, number, true/false or null) under a key in this session's scratchpad.",
        inputSchema: z.object({ key: Key, value: Value }),
      },
      async ({ key, value }) => {
        // Throws "Not saved: …" when the store does not confirm: a tool error, never a false "Remembered".
        await session.data.set(key, value);
        return text(`Remembered "${key}".`);
      },
    );
    server.registerTool(
      'recall',
      {
        title: 'Recall',
        description: "Returns the value stored under a key in this session's scratchpad.",
        inputSchema: z.object({ key: Key }),
        annotations: { readOnlyHint: true },
      },
      async ({ key }) => {
        const value = await session.data.get(key);
        if (value === undefined) return text(`Nothing is remembered under "${key}".`, true);
        return { ...text(typeof value === 'string' ? value : JSON.stringify(value)), structuredContent: { key, value } };
      },
    );
    server.registerTool(
      'forget',
      {
        title: 'Forget',
        description: "Removes a key from this session's scratchpad.",
        inputSchema: z.object({ key: Key }),
        annotations: { destructiveHint: true, idempotentHint: true },
      },
      async ({ key }) => text((await session.data.delete(key)) ? `Forgot "${key}".` : `Nothing was remembered under "${key}".`),
    );
  },
};
