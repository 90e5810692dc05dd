// The write fence: a data write is not sent to the store once its request's client may have given up on
// it. The HTTP layer runs each request under its arrival time and abort signal (aborted when the
// connection closes before the answer is written); a data write made for that request checks both just
// before its command leaves. A client that saw a 502, a reset or its own timeout does not know whether
// the write happened and may since have written the key again through another replica and had that
// confirmed: the old write landing now would be a lost update. So a write goes out only while its client
// is still connected and within a command timeout of the request's arrival; the write scripts' deadline
// then bounds when it can land (another command timeout). Clients time out later than that (the SDK
// after 60 s), so a write they gave up on never lands after they moved on.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestFence {
  readonly signal: AbortSignal;
  /** Date.now() when the request reached the app. */
  readonly arrivedAt: number;
}

const current = new AsyncLocalStorage<RequestFence>();

/** Runs `handle` (one HTTP request, with everything it starts) under the request's fence. */
export function underRequest<T>(fence: RequestFence, handle: () => T): T {
  return current.run(fence, handle);
}

/**
 * Whether a write made now for the current request must be refused: its client hung up, or it arrived
 * more than `maxAgeMs` ago. False outside any request (background work is not fenced).
 */
export function lateForRequest(maxAgeMs: number, now = Date.now()): boolean {
  const fence = current.getStore();
  return fence !== undefined && (fence.signal.aborted || now - fence.arrivedAt > maxAgeMs);
}
