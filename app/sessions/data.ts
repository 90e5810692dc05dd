// Session data: the values tools keep, its limits, its wire encoding and the errors a tool can see.

/** What a data key holds: any JSON scalar, stored and returned as given. */
export type DataValue = string | number | boolean | null;

/** Per-session bounds: a hostile or careless client cannot grow a record past a few KB. */
export const DATA_LIMITS = { keys: 64, keyLength: 128, valueBytes: 4096, totalBytes: 16 * 1024 } as const;

/** Why a data operation did not happen. The message is what the tool's caller reads. */
export type DataErrorCode = 'unavailable' | 'gone' | 'full' | 'too-large' | 'unknown-scratchpad';

export class SessionDataError extends Error {
  constructor(readonly code: DataErrorCode, message: string) {
    super(message);
    this.name = 'SessionDataError';
  }
}

export const dataErrors = {
  unavailable: (verb: 'saved' | 'read' | 'deleted') => new SessionDataError('unavailable', `Not ${verb}: session store unavailable, retry.`),
  gone: () => new SessionDataError('gone', 'This session has ended or expired; start a new session.'),
  full: () => new SessionDataError('full', `The session already holds ${DATA_LIMITS.keys} keys; delete or overwrite one instead.`),
  nearlyFull: () => new SessionDataError('unavailable', 'Not saved: the session store is nearly full, so sessions cannot grow for now; retry later, or overwrite or delete keys instead.'),
  /** One answer for another principal's handle, an unknown one and an expired one: a handle's existence is not told. */
  unknownScratchpad: () => new SessionDataError('unknown-scratchpad', 'Unknown or expired scratchpad: open a new one with scratchpad_open.'),
  tooLarge: (bytes: number) => new SessionDataError('too-large', `The session's data would grow to ${bytes} bytes; its limit is ${DATA_LIMITS.totalBytes}.`),
};

/**
 * Redis field name of a data key. JSON escapes lone UTF-16 surrogates (`\ud800`), which a raw UTF-8
 * encoding would turn into U+FFFD: every string a client can send round-trips.
 */
export function encodeDataKey(key: string): string {
  return `d:${JSON.stringify(key)}`;
}

export function decodeDataKey(field: string): string | undefined {
  if (!field.startsWith('d:')) return undefined;
  try {
    const key: unknown = JSON.parse(field.slice(2));
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

export function encodeDataValue(value: DataValue): string {
  return JSON.stringify(value);
}

export function decodeDataValue(raw: string): DataValue | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return value === null || ['string', 'number', 'boolean'].includes(typeof value) ? (value as DataValue) : undefined;
  } catch {
    return undefined;
  }
}

/** Size a value counts against the session's total: its encoded key and value. */
export function entryBytes(key: string, value: DataValue): number {
  return Buffer.byteLength(encodeDataKey(key)) + Buffer.byteLength(encodeDataValue(value));
}

/** Refuses a key or value over the per-entry limits before any store round trip. */
export function checkEntry(key: string, value?: DataValue): void {
  if (key.length === 0 || key.length > DATA_LIMITS.keyLength) throw new SessionDataError('too-large', `Keys are 1 to ${DATA_LIMITS.keyLength} characters long.`);
  if (value === undefined) return;
  if (typeof value === 'number' && !Number.isFinite(value)) throw new SessionDataError('too-large', 'Numbers must be finite.');
  const bytes = Buffer.byteLength(encodeDataValue(value));
  if (bytes > DATA_LIMITS.valueBytes) throw new SessionDataError('too-large', `The value is ${bytes} bytes encoded; the limit is ${DATA_LIMITS.valueBytes}.`);
}
