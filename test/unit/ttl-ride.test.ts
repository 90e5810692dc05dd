// The record keeper and the event log together (in-process, on the memory store): a call answered on an
// SSE stream sends no touch of its own, its events' append slides the record instead; a call whose events
// are not logged still gets its touch within the touch interval; a ride that finds no record says gone.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventLog } from '../../app/mcp/event-log.js';
import type { LiveSession } from '../../app/mcp/live-session.js';
import { RecordKeeper } from '../../app/mcp/record-keeper.js';
import { MemorySessionStore } from '../../app/sessions/memory-store.js';
import { sessionTag } from '../../app/sessions/shape.js';
import { sampleShape } from '../support/records.js';

const IDLE_MS = 1000;
const INTERVAL_MS = 100;
const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'session_info' } };

async function setup(mode: 'sse' | 'json' = 'sse') {
  const store = new MemorySessionStore();
  const touches: string[] = [];
  const touch = store.touch.bind(store);
  store.touch = (id, ttl) => (touches.push(id), touch(id, ttl));
  const gone: string[] = [];
  const logger = pino({ level: 'silent' });
  const keeper = new RecordKeeper({ store, logger, now: Date.now, idleTtlMs: IDLE_MS, touchIntervalMs: INTERVAL_MS, onGone: (s) => gone.push(s.id) });
  const log = new EventLog(store, logger);
  const shape = sampleShape({ maxExpiresAt: Date.now() + 60_000 });
  await store.create(shape, 300);
  const session = { id: shape.id, tag: sessionTag(shape.id), maxExpiresAt: shape.maxExpiresAt, rev: 1, lastTouched: 0, awaitingFirstCall: false, recordsEvents: true, answersInJson: mode === 'json', ttlMs: () => Math.min(IDLE_MS, shape.maxExpiresAt - Date.now()) };
  const answer = () => log.append(session, randomUUID(), { jsonrpc: '2.0', id: 1, result: { content: [] } });
  return { store, touches, gone, keeper, log, session, answer, asLive: session as unknown as LiveSession };
}

describe('TTL extension riding on the event append', () => {
  it('ttl-ride:rides — an SSE call whose answer is logged sends no touch, and its append slides the record', async () => {
    const { store, touches, keeper, log, session, answer, asLive } = await setup();
    keeper.keepAlive(asLive, call);
    answer();
    await log.flush();
    await sleep(INTERVAL_MS * 3);
    expect(touches).toEqual([]);
    expect((await store.load(session.id)).status).toBe('found'); // past its 300 ms: the append slid it
  });

  it('ttl-ride:fallback — an SSE call that logs nothing still touches within the touch interval; JSON mode touches at once', async () => {
    const sse = await setup();
    sse.keeper.keepAlive(sse.asLive, call);
    expect(sse.touches).toEqual([]);
    await sleep(INTERVAL_MS * 3);
    expect(sse.touches).toEqual([sse.session.id]);
    const json = await setup('json');
    json.keeper.keepAlive(json.asLive, call);
    expect(json.touches).toEqual([json.session.id]);
  });

  it('ttl-ride:gone — a ride whose append finds no record drops the session, as the touch would have', async () => {
    const { store, gone, keeper, log, session, answer, asLive } = await setup();
    await store.delete(session.id);
    keeper.keepAlive(asLive, call);
    answer();
    await log.flush();
    expect(gone).toEqual([session.id]);
  });
});
