// Which span is open for a session now: the parent of the spans its store commands, restore and event-log
// writes start. Explicit parenting instead of an ambient context (AsyncLocalStorage costs every promise
// of every request on Node 20); the key is what those places already know, the session id.
import type { SpanHandle } from './types.js';

interface Entry {
  readonly span: SpanHandle;
  readonly previous: Entry | undefined;
}

const bySession = new Map<string, Entry>();
/** Log lines name their session by its tag (`session`): the same spans, found from the tag. */
const byTag = new Map<string, SpanHandle>();

/** The innermost open span of this session (the request's, or a restore's inside it). */
export function spanOf(sessionId: string | undefined): SpanHandle | undefined {
  if (sessionId === undefined) return undefined;
  let entry = bySession.get(sessionId);
  // A span ended out of order (an overlapping request on the same session): its parent is the next open one.
  while (entry?.span.ended) entry = entry.previous;
  return entry?.span;
}

/** Makes `span` the session's open span until `leave`. Concurrent requests on one session: the latest wins. */
export function enter(sessionId: string, span: SpanHandle, tag?: string): void {
  bySession.set(sessionId, { span, previous: bySession.get(sessionId) });
  if (tag !== undefined) byTag.set(tag, span);
}

export function leave(sessionId: string, span: SpanHandle, tag?: string): void {
  const entry = bySession.get(sessionId);
  if (entry?.span === span) {
    let previous = entry.previous;
    while (previous?.span.ended) previous = previous.previous;
    if (previous) bySession.set(sessionId, previous);
    else bySession.delete(sessionId);
  }
  if (tag !== undefined && byTag.get(tag) === span) byTag.delete(tag);
}

/** Pino mixin: `trace_id` and `span_id` on a line about a session that has a span open. */
export function logIds(merge: object): object {
  if (byTag.size === 0) return {};
  const tag = (merge as { session?: unknown }).session;
  return (typeof tag === 'string' && byTag.get(tag)?.logIds()) || {};
}
