// The write fence: a data write is not sent to the store once its request's client may have given up on
// it. The HTTP layer runs each request under its arrival time and abort signal (aborted when the
// connection closes before the answer is written); a data write made for that request checks both just
// before its command leaves. A client that saw a 502, a reset or its own timeout does not know whether
// the write happened and may since have written the key again through another replica and had that
// confirmed: the old write landing now would be a lost update. So a write goes out only while its client
// is still connected and its call was handed to the session within a command timeout of the request's
// arrival (time spent waiting for Redis or a busy event loop before the call runs); the write scripts'
// deadline then bounds when it can land (another command timeout). The call's own time does not count:
// a tool that waits for an elicitation answer or computes for a minute still saves what it made.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestFence {
  readonly signal: AbortSignal;
  /** Date.now() when the request reached the app. */
  readonly arrivedAt: number;
  /** Date.now() when its message was handed to the session's server (set by `callStarted`). */
  startedAt?: number;
}

const current = new AsyncLocalStorage<RequestFence>();

/** Runs `handle` (one HTTP request, with everything it starts) under the request's fence. */
export function underRequest<T>(fence: RequestFence, handle: () => T): T {
  return current.run(fence, handle);
}

/** The current request's message reaches the session's server now: its age stops growing here. */
export function callStarted(now = Date.now()): void {
  const fence = current.getStore();
  if (fence && fence.startedAt === undefined) fence.startedAt = now;
}

/**
 * Whether a write made now for the current request must be refused: its client hung up, or its call
 * started (or, not started yet, it is now) more than `maxAgeMs` after it arrived. False outside any
 * request (background work is not fenced).
 */
export function lateForRequest(maxAgeMs: number, now = Date.now()): boolean {
  const fence = current.getStore();
  return fence !== undefined && (fence.signal.aborted || (fence.startedAt ?? now) - fence.arrivedAt > maxAgeMs);
}
