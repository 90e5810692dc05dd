// The Redis side of the SSE event log: one Redis stream per session, appended in one pipeline per
// flush and announced on the events channel so replicas holding a stream of that session catch up.
import { EVENT_LIMITS, type EventBatch, type LoggedEvent } from './events.js';
import { runGroups, type RedisClient, type SlotCommands } from './redis-client.js';
import { queueScript } from './redis-scripts.js';

export function eventsKey(prefix: string, id: string): string {
  return `${prefix}session:{${id}}:events`;
}

/** `maxBytes`: the log's byte bound (smaller while Redis is nearly full). */
export async function appendEvents(client: RedisClient, where: { prefix: string; channel: string; origin: string; maxBytes: number }, batches: readonly EventBatch[]): Promise<void> {
  // One group per session (its slot); on a single node they all share one pipeline.
  const groups = batches.map(({ id, events, ttlMs }): SlotCommands => (pipeline) => {
    const quadruples = events.flatMap((e) => [e.eventId, e.streamId, e.message, e.requests ?? '']);
    queueScript(pipeline, 'mcpAppendEvents', `${where.prefix}session:{${id}}`, eventsKey(where.prefix, id), EVENT_LIMITS.count, where.maxBytes, Math.ceil(Math.max(ttlMs, 1)), ...quadruples);
  });
  // One announcement per flush; every replica (this one too) tails only the sessions it streams.
  groups.push((pipeline) => void pipeline.publish(where.channel, `appended ${where.origin} ${batches.map((b) => b.id).join(' ')}`));
  await runGroups(client, groups);
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
