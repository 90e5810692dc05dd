// countdown: a long-running tool that reports progress every second, to watch calls survive a drain.
import { z } from 'zod';
import { text, type ToolModule } from './types.js';

/** Resolves after `ms`, or at once (false) when the signal aborts first. */
function tick(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (completed: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(completed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const INPUT = z.object({ seconds: z.number().int().min(1).max(60) });

export const countdown: ToolModule = {
  name: 'countdown',
  register(server) {
    server.registerTool(
      'countdown',
      {
        title: 'Countdown',
        description: 'Counts down the given number of seconds (1-60), reporting progress every second when asked to, then answers "done".',
        inputSchema: INPUT,
        annotations: { readOnlyHint: true, idempotentHint: true },
      },
      async ({ seconds }, ctx) => {
        const { signal, notify } = ctx.mcpReq;
        const progressToken = ctx.mcpReq._meta?.progressToken;
        for (let elapsed = 1; elapsed <= seconds; elapsed++) {
          // Cancelled (notifications/cancelled, or the session closed under it): stop and send nothing more.
          if (!(await tick(1000, signal))) return text('Cancelled.', true);
          if (progressToken !== undefined) {
            // Related to this request, so it travels on the call's own stream (not the GET stream).
            await notify({ method: 'notifications/progress', params: { progressToken, progress: elapsed, total: seconds, message: `${seconds - elapsed} s left` } });
          }
        }
        return text('done');
      },
    );
  },
};
