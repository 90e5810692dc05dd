// The session format version: the one number a release writes, and the window of versions it reads
// (docs/compatibility.md). It covers the session hash, its event log and the event ids alike.

/**
 * The format this release writes: the shape's `v`, and event ids `e<FORMAT_VERSION - 1>.…`. It moves by
 * one per release at most, and only for a change the previous release can read (additive, optional).
 */
export const FORMAT_VERSION = 2;

/** Format 1 (whole-record saves, before the shape/data split) predates the rule: no release reads it. */
const FIRST_RULED_VERSION = 2;

/** Versions this release reads: the previous, its own and the next, so both releases of a rollout read each other. */
export const READABLE_VERSIONS = { min: Math.max(FORMAT_VERSION - 1, FIRST_RULED_VERSION), max: FORMAT_VERSION + 1 } as const;

export function isReadableVersion(version: number): boolean {
  return Number.isInteger(version) && version >= READABLE_VERSIONS.min && version <= READABLE_VERSIONS.max;
}

/** Says why a version is refused, naming it and the window: what an operator reads in the warn line. */
export function unreadableVersion(what: string, version: unknown): string {
  return `${what} format version ${JSON.stringify(version)} is outside the versions this release reads (${READABLE_VERSIONS.min}..${READABLE_VERSIONS.max}; it writes ${FORMAT_VERSION})`;
}

/** Event ids were introduced under format 2 as `e1`: the id's number is the format version minus one. */
const EVENT_ID_OFFSET = 1;

/** The leading part of event ids minted under `version`. */
export function eventIdPrefix(version: number = FORMAT_VERSION): string {
  return `e${version - EVENT_ID_OFFSET}`;
}

/** The format version an event id's leading part names (`e1` → 2), or undefined when it is no `e<n>`. */
export function eventIdFormat(prefix: string): number | undefined {
  const match = /^e(\d{1,3})$/.exec(prefix);
  return match ? Number(match[1]) + EVENT_ID_OFFSET : undefined;
}
