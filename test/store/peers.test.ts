// Peer messages between replicas: a replica's own channel, the fleet channel, the answers mailbox,
// and the in-process adapter, which is a fleet of one; on one Redis node and on a 3-master Redis Cluster.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import { decodePeerMessage } from '../../app/sessions/peer-messages.js';
import type { PeerMessage } from '../../app/sessions/store.js';
import { useClusterStores, useRedisStores } from '../support/stores.js';

const single = useRedisStores(500);
const clustered = useClusterStores(500);

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await sleep(10);
  }
}

const topologies = [
  ['one node', single],
  ['cluster', clustered],
] as const;

describe.each(topologies)('peer messages (%s)', (_name, fixture) => {
  it('peers:direct — a message to one replica reaches that replica only, and its answer stays readable for a minute', async () => {
    const prefix = `peers${randomUUID().slice(0, 6)}:`;
    const [a, b, c] = [await fixture.open({ prefix }), await fixture.open({ prefix }), await fixture.open({ prefix })];
    const heard = { a: [] as PeerMessage[], b: [] as PeerMessage[], c: [] as PeerMessage[] };
    a.onPeerMessage((m) => heard.a.push(m));
    b.onPeerMessage((m) => heard.b.push(m));
    c.onPeerMessage((m) => heard.c.push(m));
    const session = randomUUID();
    const answer = { jsonrpc: '2.0', id: `s1.${a.replicaId}.1.0`, result: { action: 'accept', content: { confirm: true } } };
    expect(await b.sendToReplica(a.replicaId, { kind: 'response', session, message: answer })).toBe(true);
    await until(() => heard.a.length === 1);
    await sleep(50);
    expect(heard.a).toEqual([{ kind: 'response', session, message: answer }]);
    expect([heard.b, heard.c]).toEqual([[], []]);
    expect(await a.routedResponses(session)).toEqual([answer]);
    expect(await b.sendToReplica(randomUUID(), { kind: 'response', session: randomUUID(), message: answer })).toBe(false); // nobody there
  });

  it('peers:fleet — a broadcast reaches every other replica, not the sender', async () => {
    const prefix = `peers${randomUUID().slice(0, 6)}:`;
    const [a, b, c] = [await fixture.open({ prefix }), await fixture.open({ prefix }), await fixture.open({ prefix })];
    const heard: string[] = [];
    for (const [name, store] of [['a', a], ['b', b], ['c', c]] as const) store.onPeerMessage((m) => heard.push(`${name} ${m.kind}`));
    await a.broadcast({ kind: 'cancelled', session: randomUUID(), requestId: 7, reason: 'stop' });
    await until(() => heard.length === 2);
    await sleep(50);
    expect(heard.sort()).toEqual(['b cancelled', 'c cancelled']);
  });
});

describe('peer messages in one process', () => {

  it('peers:memory — one process is the whole fleet: only its own address answers', async () => {
    const store = new MemorySessionStore();
    const heard: PeerMessage[] = [];
    store.onPeerMessage((m) => heard.push(m));
    const message: PeerMessage = { kind: 'response', session: randomUUID(), message: { jsonrpc: '2.0', id: 's1.x.1.0', result: {} } };
    expect(await store.sendToReplica(store.replicaId, message)).toBe(true);
    expect(await store.sendToReplica(randomUUID(), message)).toBe(false);
    await store.broadcast({ kind: 'cancelled', session: randomUUID(), requestId: 1 });
    await sleep(10);
    expect(heard).toEqual([message]);
  });

  it('peers:decode — anything on a peer channel that is not a well-formed message is dropped', () => {
    for (const raw of ['', 'null', '[]', '{"from":"x"}', '{"from":"x","session":"s","kind":"response"}', '{"from":"x","session":"s","kind":"cancelled","requestId":{}}', '{"from":1,"session":"s","kind":"cancelled","requestId":1}']) {
      expect(decodePeerMessage(raw)).toBeUndefined();
    }
    expect(decodePeerMessage('{"from":"x","session":"s","kind":"cancelled","requestId":"r","reason":"why"}')).toEqual({ from: 'x', message: { kind: 'cancelled', session: 's', requestId: 'r', reason: 'why' } });
  });
});
