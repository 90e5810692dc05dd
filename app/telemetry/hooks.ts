// One-line hooks for shared modules (restorer, session host, secrets, rate limit, drain): each a no-op when off.
import { telemetry } from './index.js';
import { instruments, secondsSince } from './instruments.js';
import { enter, leave, spanOf } from './scope.js';
import { errorType } from './types.js';

export { sessionMinted, traceRequest } from './mcp-spans.js';

/** Ids being restored now, with what the store said when loading them (filled by the traced store). */
export const restoring = new Map<string, string | undefined>();

/**
 * Wraps one restore (`fn` resolves the session, or undefined when it is not restored): a span, and the
 * outcome counted: restored, unavailable (the store did not answer), miss (anything else).
 */
export function traceRestore<T>(id: string, fn: () => Promise<T | undefined>): Promise<T | undefined> {
  const t = telemetry();
  if (!t.enabled) return fn();
  const started = performance.now();
  restoring.set(id, undefined);
  return t.inSpan('mcp.session.restore', { parent: spanOf(id) }, async (span) => {
    // The restore's reads (shape, data, the initialize replay) are its children.
    enter(id, span);
    try {
      const session = await fn();
      const outcome = session ? 'restored' : restoring.get(id) === 'unavailable' ? 'unavailable' : 'miss';
      span.setAttributes({ 'mcp.session.restore.outcome': outcome, 'mcp.store.load.status': restoring.get(id) });
      if (outcome !== 'restored') span.fail(outcome);
      const m = instruments();
      m.restores.add(1, { outcome });
      m.restoreDuration.record(secondsSince(started), { outcome });
      return session;
    } finally {
      leave(id, span);
      restoring.delete(id);
    }
  });
}

/** A request for another principal's session (refused as unknown). */
export function sessionForeign(): void {
  instruments().restores.add(1, { outcome: 'foreign' });
}

/** A session ended for good (DELETE, expiry): its whole life, from its initialize on any replica. */
export function sessionEnded(createdAt: number, why = 'deleted'): void {
  if (why === 'deleted' || why.includes('lifetime reached')) instruments().sessionDuration.record(Math.max(0, Date.now() - createdAt) / 1000, { reason: why === 'deleted' ? 'deleted' : 'expired' });
}

export function rateLimited(): void {
  instruments().rateLimited.add(1);
}

/** Wraps one Key Vault read: a span, and failures counted by type. */
export function traceKeyVaultRead<T>(fn: () => Promise<T>): Promise<T> {
  const t = telemetry();
  if (!t.enabled) return fn();
  return t.inSpan('keyvault.secret.read', { kind: 'client' }, async () => {
    try {
      return await fn();
    } catch (error) {
      instruments().keyVaultFailures.add(1, { 'error.type': errorType(error) });
      throw error;
    }
  });
}

/** A drain finished: how long it took, how many calls finished in it, and how many it cut. */
export function drained(started: number, cut: number, finished: number): void {
  const m = instruments();
  m.drainDuration.record(secondsSince(started));
  if (finished > 0) m.drainFinished.add(finished);
  if (cut > 0) m.drainCut.add(cut);
}
