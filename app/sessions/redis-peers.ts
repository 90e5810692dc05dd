// The Redis side of peer messages: PUBLISH on a replica's own channel or the fleet's, and a short-lived
// per-session mailbox of routed answers, so an answer published while the sender's subscriber was
// away (a silently dead connection, a reconnect) is still found when the sender re-reads.
import { isCluster, runGroups, type RedisClient, type SlotCommands } from './redis-client.js';

/** How long a routed answer stays readable in its session's mailbox, and how many are kept. */
export const MAILBOX = { ttlMs: 60_000, keep: 16 } as const;

/** In the session's hash slot; it expires on its own (a minute), DELETE or not. */
export function mailboxKey(prefix: string, id: string): string {
  return `${prefix}session:{${id}}:answers`;
}

/**
 * Publishes `payload` on `channel`; with a mailbox, also appends `answer` to it. One round trip (on a
 * cluster the mailbox's slot and the channel's may live on two nodes: two pipelines sent at once).
 * `sharded`: SPUBLISH on a cluster, which reaches only the channel's shard and counts its subscribers
 * exactly; a classic PUBLISH there is broadcast to every node and counts only the local node's.
 * Resolves whether a subscriber heard it.
 */
export async function publishPeer(client: RedisClient, channel: string, payload: string, options: { mailbox?: { key: string; answer: string } | undefined; sharded?: boolean } = {}): Promise<boolean> {
  const { mailbox } = options;
  const groups: SlotCommands[] = mailbox ? [(p) => void p.rpush(mailbox.key, mailbox.answer).ltrim(mailbox.key, -MAILBOX.keep, -1).pexpire(mailbox.key, MAILBOX.ttlMs)] : [];
  groups.push((p) => void (options.sharded && isCluster(client) ? p.spublish(channel, payload) : p.publish(channel, payload)));
  const results = await runGroups(client, groups);
  return Number(results.at(-1) ?? 0) > 0;
}

/** The session's routed answers of the last minute, oldest first (unparseable entries skipped). */
export async function readMailbox(client: RedisClient, key: string): Promise<unknown[]> {
  const entries = await client.lrange(key, 0, -1);
  return entries.flatMap((entry) => {
    try {
      return [JSON.parse(entry) as unknown];
    } catch {
      return [];
    }
  });
}
