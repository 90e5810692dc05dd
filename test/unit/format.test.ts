// The format window (docs/compatibility.md) as the codecs apply it: shapes and event ids of the
// previous, own and next format version are read; anything else is refused with its version named.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventIdPrefix, FORMAT_VERSION, READABLE_VERSIONS } from '../../app/sessions/format.js';
import { formatEventId, parseEventId, unreadableEventId } from '../../app/sessions/events.js';
import { decodeShape, encodeShape } from '../../app/sessions/shape.js';
import { sampleShape } from '../support/records.js';

const TAG = '0123456789ab';
const STREAM = randomUUID();
const idOf = (format: number, extra = '') => `${eventIdPrefix(format)}.${TAG}.${STREAM}.w1.a${extra}`;

describe('format window: shapes', () => {
  it('format:window — reads its own, the previous and the next version, never format 1', () => {
    expect(READABLE_VERSIONS).toEqual({ min: Math.max(2, FORMAT_VERSION - 1), max: FORMAT_VERSION + 1 });
    for (let v = READABLE_VERSIONS.min; v <= READABLE_VERSIONS.max; v++) {
      const shape = sampleShape({ v });
      expect(decodeShape(JSON.stringify(shape), shape.id)).toMatchObject({ ok: true, shape: { v } });
    }
  });

  it('format:refuse — a shape outside the window is corrupt with a reason that names its version and the window', () => {
    for (const v of [READABLE_VERSIONS.min - 1, READABLE_VERSIONS.max + 1, '3', 2.5]) {
      const shape = { ...sampleShape(), v };
      const decoded = decodeShape(JSON.stringify(shape), shape.id);
      expect(decoded.ok).toBe(false);
      expect(!decoded.ok && decoded.reason).toBe(`record format version ${JSON.stringify(v)} is outside the versions this release reads (${READABLE_VERSIONS.min}..${READABLE_VERSIONS.max}; it writes ${FORMAT_VERSION})`);
    }
  });

  it('format:unknown-fields — fields of a newer version survive a decode and an encode, and the encode says who wrote it', () => {
    const next = { ...sampleShape({ v: FORMAT_VERSION + 1, toolsets: ['math'] }), resumeHints: { lastTool: 'add' }, clientInfo: { name: 'c', version: '1', title: 'C' } };
    const decoded = decodeShape(JSON.stringify(next), next.id);
    expect(decoded).toEqual({ ok: true, shape: next });
    if (!decoded.ok) return;
    const rewritten = JSON.parse(encodeShape({ ...decoded.shape, toolsets: ['math', 'text'] })) as Record<string, unknown>;
    expect(rewritten).toEqual({ ...next, v: FORMAT_VERSION, toolsets: ['math', 'text'] });
  });
});

describe('format window: event ids', () => {
  it('format:event-ids — mints ids of its own version and parses those of the previous, own and next one', () => {
    expect(formatEventId(TAG, STREAM, 'w1', 10)).toBe(idOf(FORMAT_VERSION));
    for (let v = READABLE_VERSIONS.min; v <= READABLE_VERSIONS.max; v++) expect(parseEventId(idOf(v))).toEqual({ format: v, tag: TAG, streamId: STREAM, writer: 'w1' });
    // A newer format may append parts: ignored, as long as they stay short.
    expect(parseEventId(idOf(FORMAT_VERSION + 1, '.r2'))).toEqual({ format: FORMAT_VERSION + 1, tag: TAG, streamId: STREAM, writer: 'w1' });
    expect(parseEventId(idOf(FORMAT_VERSION, '.a.b.c.d'))).toBeUndefined();
    expect(parseEventId(idOf(FORMAT_VERSION, '.UPPER'))).toBeUndefined();
  });

  it('format:event-ids-refuse — an id outside the window is refused by name, anything else is just not ours', () => {
    for (const v of [READABLE_VERSIONS.min - 1, READABLE_VERSIONS.max + 1]) {
      expect(parseEventId(idOf(v))).toBeUndefined();
      expect(unreadableEventId(idOf(v))).toContain(`Last-Event-ID format version ${v} is outside the versions this release reads`);
    }
    expect(unreadableEventId(idOf(FORMAT_VERSION))).toBeUndefined();
    for (const garbage of ['', 'e', 'x1.a.b.c.d', 'e99999.a', 'nodots']) {
      expect(parseEventId(garbage)).toBeUndefined();
      expect(unreadableEventId(garbage)).toBeUndefined();
    }
  });
});
