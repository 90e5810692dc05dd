// The `appended` announcement: which streams of which sessions got events, readable by the release before it.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeAppended, encodeAppended } from '../../app/sessions/redis-events.js';

const [one, two] = [randomUUID(), randomUUID()];
const post = randomUUID();
const event = (streamId: string) => ({ eventId: 'x', streamId, message: '' });

describe('appended announcement', () => {
  it('names each session followed by the streams its events are for, once each', () => {
    const message = encodeAppended('origin', [
      { id: one, events: [event(post), event(post), event('_GET_stream')], ttlMs: 1 },
      { id: two, events: [event(post)], ttlMs: 1 },
    ]);
    expect(message).toBe(`appended origin ${one} ~${post} ~_GET_stream ${two} ~${post}`);
    const decoded = decodeAppended(message);
    expect([...decoded.keys()]).toEqual([one, two]);
    expect([...(decoded.get(one) ?? [])]).toEqual([post, '_GET_stream']);
    expect([...(decoded.get(two) ?? [])]).toEqual([post]);
  });

  it('reads a message of the release before streams were said as "any stream of these sessions"', () => {
    const decoded = decodeAppended(`appended origin ${one} ${two}`);
    expect([...decoded.entries()]).toEqual([
      [one, undefined],
      [two, undefined],
    ]);
  });

  it('still names the right sessions to the previous release, whose parser takes every token after the origin as a session id', () => {
    const message = encodeAppended('origin', [{ id: one, events: [event(post)], ttlMs: 1 }]);
    // That release's parser, verbatim: message.split(' ').slice(2).
    const ids = message.split(' ').slice(2);
    expect(ids).toContain(one);
    // The other tokens match no session it could hold (session ids are UUIDs).
    for (const id of ids.filter((t) => t !== one)) expect(id).not.toMatch(/^[0-9a-f-]{36}$/);
  });
});
