// The session record kept in the store: its schema, codec, key layout and expiry arithmetic.
import { z } from 'zod';

export const RECORD_VERSION = 1;

/** Session ids this server mints: lower-case RFC 4122 UUIDs from `crypto.randomUUID()`. */
const MINTED_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** True only for ids this server could have minted; anything else never reaches the store. */
export function isMintedSessionId(id: string): boolean {
  return id.length === 36 && MINTED_ID.test(id);
}

const ToolsetDescriptor = z.object({ name: z.string().min(1).max(64) });

/** Per-session state that tools keep. Everything here comes back after a restore. */
export const SessionStateSchema = z.object({
  scratchpad: z.record(z.string(), z.string()),
  toolsets: z.array(ToolsetDescriptor),
});
export type SessionState = z.infer<typeof SessionStateSchema>;
export type ToolsetDescriptor = z.infer<typeof ToolsetDescriptor>;

export const SessionRecordSchema = z.object({
  v: z.literal(RECORD_VERSION),
  id: z.string().refine(isMintedSessionId, 'not a minted session id'),
  createdAt: z.number().int().nonnegative(),
  maxExpiresAt: z.number().int().positive(),
  /** Wall-clock time of the last state change; after an outage the newest copy wins. Absent in older records. */
  updatedAt: z.number().int().nonnegative().optional(),
  /** The client's initialize request as received (JSON-RPC), replayed on restore. */
  initialize: z.object({
    jsonrpc: z.literal('2.0'),
    id: z.union([z.string(), z.number()]),
    method: z.literal('initialize'),
    params: z.object({ protocolVersion: z.string(), capabilities: z.record(z.string(), z.unknown()), clientInfo: z.object({ name: z.string(), version: z.string() }).passthrough() }).passthrough(),
  }),
  state: SessionStateSchema,
});
export type SessionRecord = z.infer<typeof SessionRecordSchema>;

export function emptyState(): SessionState {
  return { scratchpad: {}, toolsets: [] };
}

export function encodeRecord(record: SessionRecord): string {
  return JSON.stringify(record);
}

export type DecodeResult = { ok: true; record: SessionRecord } | { ok: false; reason: string };

/** Decodes a stored value; never throws. `expectedId` guards against a record planted under another key. */
export function decodeRecord(raw: string, expectedId: string): DecodeResult {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof json === 'object' && json !== null && 'v' in json && json.v !== RECORD_VERSION) {
    return { ok: false, reason: `record version ${String(json.v)} is not ${RECORD_VERSION}` };
  }
  const parsed = SessionRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `schema: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'invalid'}` };
  }
  if (parsed.data.id !== expectedId) return { ok: false, reason: 'record id does not match its key' };
  return { ok: true, record: parsed.data };
}

/** Milliseconds a record may live from `now`: the idle TTL capped by the absolute ceiling (<= 0 means expired). */
export function recordTtlMs(maxExpiresAt: number, idleTtlMs: number, now: number): number {
  return Math.min(idleTtlMs, maxExpiresAt - now);
}
