// The Redis side of the SSE event log: one Redis stream per session, appended in one pipeline per
// flush and announced on the events channel so replicas holding a stream of that session catch up.
import { EVENT_LIMITS, type AppendedEvents, type EventBatch, type LoggedEvent } from './events.js';
import { isCluster, runGroups, type RedisClient, type SlotCommands } from './redis-client.js';
import { queueScript } from './redis-scripts.js';

export function eventsKey(prefix: string, id: string): string {
  return `${prefix}session:{${id}}:events`;
}

/** `maxBytes`: the log's byte bound (smaller while Redis is nearly full). Resolves the ids of sessions that had no record (nothing appended). */
export async function appendEvents(client: RedisClient, where: { prefix: string; channel: string; origin: string; maxBytes: number }, batches: readonly EventBatch[]): Promise<string[]> {
  // The announcement rides in a script: no command of its own. On one node, one announcement per flush in
  // the last script of the pipeline, which runs after the others; on a cluster, where each slot's
  // pipeline goes to its own node at once, each session's in its own script, after its own append.
  const cluster = isCluster(client);
  const flush = cluster ? '' : encodeAppended(where.origin, batches);
  // One group per session (its slot); on a single node they all share one pipeline.
  const groups = batches.map((batch, n): SlotCommands => (pipeline) => {
    const { id, events, ttlMs, expiresAt } = batch;
    const announcement = cluster ? encodeAppended(where.origin, [batch]) : n === batches.length - 1 ? flush : '';
    const quadruples = events.flatMap((e) => [e.eventId, e.streamId, e.message, e.requests ?? '']);
    queueScript(pipeline, 'mcpAppendEvents', `${where.prefix}session:{${id}}`, eventsKey(where.prefix, id), EVENT_LIMITS.count, where.maxBytes, Math.ceil(Math.max(ttlMs, 1)), where.channel, announcement, expiresAt === undefined ? '' : Math.floor(expiresAt), ...quadruples);
  });
  const replies = await runGroups(client, groups);
  return batches.filter((_, n) => replies[n] === 0).map((b) => b.id);
}

/**
 * `appended <origin> <session> ~<stream>… <session> ~<stream>…`: each session is followed by the
 * streams its events are for. A release before streams were said reads every token after the origin as
 * a session id and wakes all streams of each; a `~` token names no session (ids are UUIDs), so that
 * release still wakes the right sessions, and this one wakes only the right streams.
 */
export function encodeAppended(origin: string, batches: readonly EventBatch[]): string {
  const parts = ['appended', origin];
  for (const { id, events } of batches) parts.push(id, ...new Set(events.map((e) => `~${e.streamId}`)));
  return parts.join(' ');
}

/** Reads an `appended` message; a session followed by no `~` token had its streams unsaid (wake all). */
export function decodeAppended(message: string): AppendedEvents {
  const out = new Map<string, Set<string> | undefined>();
  let session: string | undefined;
  for (const token of message.split(' ').slice(2)) {
    if (!token) continue;
    if (!token.startsWith('~')) {
      session = token;
      if (!out.has(session)) out.set(session, undefined);
      continue;
    }
    if (session === undefined) continue;
    const streams = out.get(session) ?? new Set<string>();
    streams.add(token.slice(1));
    out.set(session, streams);
  }
  return out;
}

export async function readEvents(client: RedisClient, key: string, after?: string): Promise<LoggedEvent[]> {
  const entries = await client.xrange(key, after === undefined ? '-' : `(${after}`, '+');
  return entries.map(([cursor, fields]) => {
    const named: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) named[fields[i] as string] = fields[i + 1] as string;
    const get = (name: string) => named[name] ?? '';
    const requests = named.r;
    return { cursor, eventId: get('i'), streamId: get('s'), message: get('m'), ...(requests ? { requests } : {}) };
  });
}
