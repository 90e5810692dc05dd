// remember / recall: a per-session scratchpad that survives restarts, rollouts and replica changes.
import { z } from 'zod';
import { text, type ToolModule } from './types.js';

/** Bounds keep a record small (Redis holds thousands) and a hostile client from filling it. */
export const SCRATCHPAD_LIMITS = { keys: 64, keyLength: 128, valueLength: 4096, totalBytes: 16 * 1024 } as const;

export const scratchpad: ToolModule = {
  name: 'scratchpad',
  register(server, session) {
    server.registerTool(
      'remember',
      {
        title: 'Remember',
        description: 'Stores a value under a key in this session\'s scratchpad.',
        inputSchema: z.object({
          key: z.string().min(1).max(SCRATCHPAD_LIMITS.keyLength),
          value: z.string().max(SCRATCHPAD_LIMITS.valueLength),
        }),
      },
      async ({ key, value }) => {
        const pad = session.state.scratchpad;
        const isNew = !Object.hasOwn(pad, key);
        if (isNew && Object.keys(pad).length >= SCRATCHPAD_LIMITS.keys) {
          return text(`The scratchpad is full (${SCRATCHPAD_LIMITS.keys} keys); overwrite an existing key instead.`, true);
        }
        const size = Buffer.byteLength(JSON.stringify({ ...pad, [key]: value }));
        if (size > SCRATCHPAD_LIMITS.totalBytes) {
          return text(`The scratchpad would grow to ${size} bytes; its limit is ${SCRATCHPAD_LIMITS.totalBytes}.`, true);
        }
        const { persisted } = await session.update((state) => {
          state.scratchpad[key] = value;
        });
        return text(persisted ? `Remembered "${key}".` : `Remembered "${key}" on this replica; it is saved when the session store is back.`);
      },
    );
    server.registerTool(
      'recall',
      {
        title: 'Recall',
        description: 'Returns the value stored under a key in this session\'s scratchpad.',
        inputSchema: z.object({ key: z.string().min(1).max(SCRATCHPAD_LIMITS.keyLength) }),
        annotations: { readOnlyHint: true },
      },
      async ({ key }) => {
        const pad = session.state.scratchpad;
        return Object.hasOwn(pad, key) ? text(pad[key] ?? '') : text(`Nothing is remembered under "${key}".`, true);
      },
    );
  },
};
