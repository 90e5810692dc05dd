// The live-session cache: bounded by size (least recently used leaves first) and by idleness.
import { describe, expect, it } from 'vitest';
import { LiveCache } from '../../app/mcp/live-cache.js';

function cache(maxSize: number, idleMs: number) {
  let now = 0;
  const evicted: string[] = [];
  const c = new LiveCache<string>({ maxSize, idleMs, now: () => now, onEvict: (v, why) => evicted.push(`${v}:${why}`) });
  return { c, evicted, advance: (ms: number) => (now += ms) };
}

describe('LiveCache', () => {
  it('evicts the least recently used entry beyond its size', () => {
    const { c, evicted } = cache(2, 1000);
    c.set('a', 'A');
    c.set('b', 'B');
    c.get('a');
    c.set('c', 'C');
    expect(evicted).toEqual(['B:capacity']);
    expect([...c.values()]).toEqual(['A', 'C']);
    c.stop();
  });

  it('evicts idle entries on sweep and keeps recently used ones', () => {
    const { c, evicted, advance } = cache(10, 1000);
    c.set('a', 'A');
    advance(600);
    c.set('b', 'B');
    advance(600);
    c.sweep();
    expect(evicted).toEqual(['A:idle']);
    expect(c.has('b')).toBe(true);
    c.stop();
  });

  it('does not refresh recency on a peek', () => {
    const { c, evicted } = cache(2, 1000);
    c.set('a', 'A');
    c.set('b', 'B');
    c.get('a', { touch: false });
    c.set('c', 'C');
    expect(evicted).toEqual(['A:capacity']);
    c.stop();
  });
});
