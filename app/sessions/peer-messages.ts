// The wire form of peer messages on Redis channels: JSON, checked on the way in (any client of the Redis may publish).
import type { PeerMessage } from './store.js';

/** A peer message with the replica that sent it. */
export interface PeerEnvelope {
  readonly from: string;
  readonly message: PeerMessage;
}

export function encodePeerMessage(from: string, message: PeerMessage): string {
  return JSON.stringify({ from, ...message });
}

/** Undefined for anything that is not a well-formed peer message (dropped by the caller). */
export function decodePeerMessage(raw: string): PeerEnvelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.from !== 'string' || typeof v.session !== 'string') return undefined;
  if (v.kind === 'response' && typeof v.message === 'object' && v.message !== null) {
    return { from: v.from, message: { kind: 'response', session: v.session, message: v.message } };
  }
  if (v.kind === 'cancelled' && (typeof v.requestId === 'string' || typeof v.requestId === 'number')) {
    const reason = typeof v.reason === 'string' ? { reason: v.reason } : {};
    return { from: v.from, message: { kind: 'cancelled', session: v.session, requestId: v.requestId, ...reason } };
  }
  return undefined;
}
