// A session's shape: what a restore and the tool list need, bounded and revisioned; its codec and limits.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FORMAT_VERSION, isReadableVersion, unreadableVersion } from './format.js';

/** Session ids this server mints: lower-case RFC 4122 UUIDs from `crypto.randomUUID()`. */
const MINTED_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** True only for ids this server could have minted; anything else never reaches the store. */
export function isMintedSessionId(id: string): boolean {
  return id.length === 36 && MINTED_ID.test(id);
}

/** A short, non-reversible tag for logs: enough to follow one session, useless to take it over. */
export function sessionTag(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 12);
}

/**
 * Bounds on what the client's initialize may put in a record. A few hundred oversized records would
 * otherwise fill a small cache and, under allkeys-lru, evict real sessions.
 */
export const SHAPE_LIMITS = { capabilitiesBytes: 8 * 1024, clientInfoBytes: 1024, depth: 12 } as const;

const ClientInfo = z.looseObject({ name: z.string(), version: z.string() });

/**
 * Loose: fields a newer release added are kept, so a rewrite by this release (a toolset enabled) carries
 * them through instead of dropping them (docs/compatibility.md).
 */
export const SessionShapeSchema = z.looseObject({
  /** Format version of the release that wrote the record last; a reader accepts `READABLE_VERSIONS`. */
  v: z.number().int(),
  id: z.string().refine(isMintedSessionId, 'not a minted session id'),
  createdAt: z.number().int().nonnegative(),
  maxExpiresAt: z.number().int().positive(),
  /** The protocol version negotiated at initialize; a restore replays initialize with it. */
  protocolVersion: z.string().min(1).max(64),
  capabilities: z.record(z.string(), z.unknown()),
  clientInfo: ClientInfo,
  /** Toolsets this session has enabled, by name, in the order they were enabled. */
  toolsets: z.array(z.string().min(1).max(64)).max(32),
  /** Hash of who created the session; a request from anyone else gets the answer an unknown id gets. */
  principal: z.string().max(64).optional(),
});
export type SessionShape = z.infer<typeof SessionShapeSchema>;

export type ClientHello = Pick<SessionShape, 'capabilities' | 'clientInfo'>;

/** Why an initialize cannot become a record: said to the client as a 400. */
export class ShapeTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeTooLargeError';
  }
}

/** Takes what a restore needs from an initialize's params, refusing anything over the limits. */
export function helloFromInitialize(params: { capabilities?: unknown; clientInfo?: unknown }): ClientHello {
  const capabilities = (params.capabilities ?? {}) as Record<string, unknown>;
  const clientInfo = ClientInfo.parse(params.clientInfo);
  checkBounds('capabilities', capabilities, SHAPE_LIMITS.capabilitiesBytes);
  checkBounds('clientInfo', clientInfo, SHAPE_LIMITS.clientInfoBytes);
  return { capabilities, clientInfo };
}

function checkBounds(field: string, value: unknown, maxBytes: number): void {
  const depth = jsonDepth(value);
  if (depth > SHAPE_LIMITS.depth) throw new ShapeTooLargeError(`initialize params.${field} is nested ${depth} levels deep; the limit is ${SHAPE_LIMITS.depth}`);
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > maxBytes) throw new ShapeTooLargeError(`initialize params.${field} is ${bytes} bytes; the limit is ${maxBytes}`);
}

/** Nesting depth of a JSON value, without recursion (a hostile value must not blow the stack). */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    max = Math.max(max, depth);
    if (max > SHAPE_LIMITS.depth) return max;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return max;
}

/** The initialize request a restore replays: the client's own hello under the negotiated version. */
export function replayInitialize(shape: SessionShape, requestId: string) {
  return {
    jsonrpc: '2.0' as const,
    id: requestId,
    method: 'initialize' as const,
    params: { protocolVersion: shape.protocolVersion, capabilities: shape.capabilities, clientInfo: shape.clientInfo },
  };
}

/** Every write says who wrote it: a record rewritten here carries this release's version, whatever it was read as. */
export function encodeShape(shape: SessionShape): string {
  return JSON.stringify({ ...shape, v: FORMAT_VERSION });
}

export type DecodeResult = { ok: true; shape: SessionShape } | { ok: false; reason: string };

/** Decodes a stored shape; never throws. `expectedId` guards against a record planted under another key. */
export function decodeShape(raw: string, expectedId: string): DecodeResult {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof json === 'object' && json !== null && 'v' in json && !(typeof json.v === 'number' && isReadableVersion(json.v))) {
    return { ok: false, reason: unreadableVersion('record', json.v) };
  }
  const parsed = SessionShapeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `schema: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'invalid'}` };
  }
  if (parsed.data.id !== expectedId) return { ok: false, reason: 'record id does not match its key' };
  return { ok: true, shape: parsed.data };
}

/** Milliseconds a record may live from `now`: the idle TTL capped by the absolute ceiling (<= 0 means expired). */
export function recordTtlMs(maxExpiresAt: number, idleTtlMs: number, now: number): number {
  return Math.min(idleTtlMs, maxExpiresAt - now);
}

/** Stores a principal as a hash: the record says "same caller or not", never who. */
export function principalHash(principal: string | undefined): string | undefined {
  return principal === undefined ? undefined : createHash('sha256').update(principal).digest('hex').slice(0, 32);
}
