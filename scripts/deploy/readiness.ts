// Waits until a revision's /readyz answers 200, bounded, printing what it sees while it waits.
export interface WaitOptions {
  readonly url: string;
  readonly timeoutMs: number;
  readonly intervalMs: number;
  readonly log: (line: string) => void;
}

/** Resolves with the number of attempts once the URL answers 200; rejects with the last answer at the deadline. */
export async function waitUntilReady(options: WaitOptions): Promise<number> {
  const deadline = Date.now() + options.timeoutMs;
  let last = 'no answer yet';
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(options.url, { signal: AbortSignal.timeout(Math.min(10_000, options.timeoutMs)), redirect: 'manual' });
      const body = (await response.text()).slice(0, 200);
      if (response.status === 200) return attempt;
      last = `HTTP ${response.status} ${body}`.trim();
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      last = cause?.code ?? cause?.message ?? (error as Error).message;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(last);
    options.log(`  not ready yet (${last}); ${Math.ceil(left / 1000)} s left`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs, left)));
  }
}
