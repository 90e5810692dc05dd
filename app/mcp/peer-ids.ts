// Ids of the requests this server sends to clients: they name the replica and the session copy that
// sent them, so whichever replica receives the client's response can tell where it belongs.

/**
 * `s1.<replica>.<copy>.<n>`: `n` is the SDK's own id (it numbers its outgoing requests 0, 1, 2… and
 * looks a response up by `Number(id)`), `copy` tells apart successive live copies of one session in one
 * process (each copy's SDK counts from 0 again), `replica` is the sender's peer address.
 */
export interface PeerRequestId {
  readonly replica: string;
  readonly copy: string;
  readonly n: number;
}

const PREFIX = 's1';

export function wrapRequestId(id: Omit<PeerRequestId, 'n'>, n: number): string {
  return `${PREFIX}.${id.replica}.${id.copy}.${n}`;
}

/** The parts of an id this server minted; undefined for anything else (a client's own ids, other servers'). */
export function parseRequestId(id: unknown): PeerRequestId | undefined {
  if (typeof id !== 'string' || !id.startsWith(`${PREFIX}.`)) return undefined;
  const parts = id.split('.');
  if (parts.length !== 4) return undefined;
  const [, replica, copy, n] = parts as [string, string, string, string];
  const number = Number(n);
  if (!replica || !copy || !/^\d+$/.test(n) || !Number.isSafeInteger(number)) return undefined;
  return { replica, copy, n: number };
}
