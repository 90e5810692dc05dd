// The Redis side of peer messages: PUBLISH on a replica's own channel or the fleet's, and a short-lived
// per-session mailbox of routed answers, so an answer published while the sender's subscriber was
// away (a silently dead connection, a reconnect) is still found when the sender re-reads.
import type { Redis } from 'ioredis';

/** How long a routed answer stays readable in its session's mailbox, and how many are kept. */
export const MAILBOX = { ttlMs: 60_000, keep: 16 } as const;

/** In the session's hash slot; it expires on its own (a minute), DELETE or not. */
export function mailboxKey(prefix: string, id: string): string {
  return `${prefix}session:{${id}}:answers`;
}

/**
 * Publishes `payload` on `channel`; with a mailbox, first appends `answer` to it. One pipeline, one
 * round trip. Resolves whether a subscriber heard the PUBLISH (on a sharded Redis: one on that node).
 */
export async function publishPeer(client: Redis, channel: string, payload: string, mailbox?: { key: string; answer: string }): Promise<boolean> {
  const pipeline = client.pipeline();
  if (mailbox) {
    pipeline.rpush(mailbox.key, mailbox.answer);
    pipeline.ltrim(mailbox.key, -MAILBOX.keep, -1);
    pipeline.pexpire(mailbox.key, MAILBOX.ttlMs);
  }
  pipeline.publish(channel, payload);
  const results = (await pipeline.exec()) ?? [];
  const failure = results.find(([error]) => error)?.[0];
  if (failure) throw failure;
  return Number(results.at(-1)?.[1] ?? 0) > 0;
}

/** The session's routed answers of the last minute, oldest first (unparseable entries skipped). */
export async function readMailbox(client: Redis, key: string): Promise<unknown[]> {
  const entries = await client.lrange(key, 0, -1);
  return entries.flatMap((entry) => {
    try {
      return [JSON.parse(entry) as unknown];
    } catch {
      return [];
    }
  });
}
