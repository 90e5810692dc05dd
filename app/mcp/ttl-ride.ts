// A call's TTL extension riding on a command the call sends anyway (its SSE events' append script) instead
// of a PEXPIRE of its own: the record keeper says a ride is due, the event log takes it with the session's
// next event, and if no event of the session is logged in time the keeper's own touch goes out after all.

interface Ride {
  readonly timer: NodeJS.Timeout;
  /** The append found no record: the session is gone from the store. */
  readonly gone: () => void;
}

/** Keyed by the live session: rides die with it. */
const waiting = new WeakMap<object, Ride>();

/** A ride is due for `session`: `alone` runs after `withinMs` unless an event of the session takes it first. */
export function awaitRide(session: object, withinMs: number, alone: () => void, gone: () => void): void {
  const earlier = waiting.get(session);
  if (earlier) clearTimeout(earlier.timer);
  const timer = setTimeout(() => {
    waiting.delete(session);
    alone();
  }, withinMs);
  timer.unref();
  waiting.set(session, { timer, gone });
}

/** An event of `session` is being logged: it takes the due ride, if any (what to call when the record is missing). */
export function takeRide(session: object): (() => void) | undefined {
  const ride = waiting.get(session);
  if (!ride) return undefined;
  clearTimeout(ride.timer);
  waiting.delete(session);
  return ride.gone;
}
