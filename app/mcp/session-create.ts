// A new legacy session: initialize refused when the store or the caller cannot afford it, else built,
// counted against its principal, kept live and stored before the client learns its id.
import { randomUUID } from 'node:crypto';
import { HttpError, RPC } from '../http/errors.js';
import { helloFromInitialize, sessionTag, ShapeTooLargeError, type ClientHello } from '../sessions/shape.js';
import type { HostSettings } from './host-options.js';
import type { LiveSession, LiveSessionInit } from './live-session.js';
import type { PrincipalCap } from './principal-cap.js';
import type { RecordKeeper } from './record-keeper.js';
import { sessionMinted } from '../telemetry/hooks.js';

export interface CreateDeps {
  readonly settings: HostSettings;
  readonly now: () => number;
  readonly cap: PrincipalCap;
  readonly records: RecordKeeper;
  /** Builds a live session (not yet connected). */
  readonly newLive: (init: LiveSessionInit) => LiveSession;
  /** Takes the new session into the live cache. */
  readonly adopt: (session: LiveSession) => void;
}

export async function createSession(d: CreateDeps, request: Request, body: { params: Record<string, unknown> }, owner: string | undefined): Promise<Response> {
  // New sessions are refused before existing ones would be evicted (allkeys-lru) or crowded out here.
  if (d.settings.store.health().nearlyFull) throw new HttpError(503, RPC.serverError, 'The session store is nearly full: no new sessions for now, retry later', { 'retry-after': '30' });
  let hello: ClientHello;
  try {
    hello = helloFromInitialize(body.params);
  } catch (error) {
    const message = error instanceof ShapeTooLargeError ? error.message : 'initialize params.clientInfo needs a string name and version';
    throw new HttpError(400, RPC.invalidParams, `Invalid params: ${message}`);
  }
  const now = d.now();
  const id = randomUUID();
  sessionMinted(request, id);
  const pendingTtlMs = Math.min(d.settings.pendingTtlMs, d.settings.idleTtlMs, d.settings.maxTtlMs);
  // Counted while the session is built: the round trip to Redis overlaps the local work.
  const admitted = owner === undefined ? Promise.resolve() : d.cap.admit(owner, id, now + pendingTtlMs);
  admitted.catch(() => undefined);
  let accepted = false;
  const session = d.newLive({ id, createdAt: now, maxExpiresAt: now + d.settings.maxTtlMs, principal: owner, from: { kind: 'new', hello }, onInitialized: () => (accepted = true) });
  let response: Response;
  try {
    await session.connect();
    response = await session.transport.handleRequest(request, { parsedBody: body });
    if (accepted) await admitted;
  } catch (error) {
    // Refused (or failed): the answer built meanwhile is dropped, and the session never existed.
    if (!(error instanceof HttpError)) d.cap.release(owner, id);
    await session.close();
    throw error;
  }
  if (!accepted) {
    // The SDK refused the initialize (bad headers): nothing was registered, nothing is kept.
    d.cap.release(owner, id);
    await session.close();
    return response;
  }
  await session.negotiated;
  d.adopt(session);
  session.awaitingFirstCall = true;
  session.lastTouched = d.now();
  // Stored before the client learns the id, so its next request may land on any replica.
  await d.records.store(session, pendingTtlMs).catch(() => undefined);
  d.settings.logger.debug({ session: sessionTag(session.id), stored: session.rev > 0 }, 'session created');
  return response;
}
