// The write fence's rule: a data write for a request goes out only while its client is connected and
// within the allowed age of the request's arrival; work outside any request is not fenced.
import { describe, expect, it } from 'vitest';
import { callStarted, lateForRequest, underRequest } from '../../app/sessions/write-fence.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('write fence', () => {
  it('write-fence: a write for a connected, recent request passes; hung up or older than the limit is late, also after awaits and timers the request started', async () => {
    const connected = new AbortController();
    await underRequest({ signal: connected.signal, arrivedAt: 1_000 }, async () => {
      expect(lateForRequest(2_000, 2_500)).toBe(false);
      await tick();
      expect(lateForRequest(2_000, 3_000)).toBe(false);
      expect(lateForRequest(2_000, 3_001)).toBe(true);
    });
    const hungUp = new AbortController();
    let inTimer: boolean | undefined;
    await underRequest({ signal: hungUp.signal, arrivedAt: Date.now() }, async () => {
      expect(lateForRequest(60_000)).toBe(false);
      hungUp.abort();
      await new Promise<void>((resolve) =>
        setTimeout(() => {
          inTimer = lateForRequest(60_000);
          resolve();
        }, 1),
      );
    });
    expect(inTimer).toBe(true);
  });

  it('write-fence: outside any request nothing is late, however old', () => {
    expect(lateForRequest(0, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
  it('write-fence: a call handed to its session in time writes however long it then runs (an elicitation, a long tool); one handed over late does not', async () => {
    const connected = new AbortController();
    await underRequest({ signal: connected.signal, arrivedAt: 1_000 }, async () => {
      callStarted(2_500);
      await tick();
      expect(lateForRequest(2_000, 60_000)).toBe(false);
      callStarted(59_000); // only the first hand-over counts
      expect(lateForRequest(2_000, 60_000)).toBe(false);
    });
    await underRequest({ signal: connected.signal, arrivedAt: 1_000 }, async () => {
      callStarted(3_001);
      expect(lateForRequest(2_000, 3_001)).toBe(true);
    });
  });
});
