// The kit's metrics, named in the OpenTelemetry conventions' style; created once per telemetry instance.
import { telemetry } from './index.js';
import type { Telemetry } from './types.js';

/** Seconds; from a warm call (sub-millisecond) to a call that waited on a Redis timeout. */
const DURATION_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Sessions live minutes to a day. */
const SESSION_S = [1, 10, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400];

function create(t: Telemetry) {
  return {
    operationDuration: t.histogram('mcp.server.operation.duration', { description: 'Duration of one MCP request on the server, until its response ended', unit: 's', boundaries: DURATION_S }),
    sessionDuration: t.histogram('mcp.server.session.duration', { description: 'Duration of an MCP session, from its initialize to its end (DELETE or expiry)', unit: 's', boundaries: SESSION_S }),
    restores: t.counter('mcp.server.session.restores', { description: 'Requests for sessions not live here, by outcome: restored, miss, unavailable, foreign', unit: '{restore}' }),
    restoreDuration: t.histogram('mcp.server.session.restore.duration', { description: 'Duration of a restore from the store, by outcome', unit: 's', boundaries: DURATION_S }),
    storeDuration: t.histogram('mcp.store.operation.duration', { description: 'Duration of one session-store command', unit: 's', boundaries: DURATION_S }),
    storeErrors: t.counter('mcp.store.errors', { description: 'Session-store commands that failed, by operation and error.type', unit: '{error}' }),
    writesRefused: t.counter('mcp.store.writes.refused', { description: 'Writes refused to their caller because the store could not confirm them', unit: '{write}' }),
    channelSuspicions: t.counter('mcp.store.channel.suspicions', { description: 'Times the invalidation channel went silent or came back: cached shapes re-read', unit: '{suspicion}' }),
    drainDuration: t.histogram('mcp.server.drain.duration', { description: 'Duration of a graceful stop (delay, calls finishing, sessions closing)', unit: 's', boundaries: [1, 5, 10, 15, 20, 30, 45, 60] }),
    drainFinished: t.counter('mcp.server.drain.calls.finished', { description: 'Calls in flight when the drain closed the listener (after its delay) that finished before the drain timeout', unit: '{call}' }),
    drainCut: t.counter('mcp.server.drain.calls.cut', { description: 'Calls still in flight when the drain timeout cut them', unit: '{call}' }),
    eventAppends: t.counter('mcp.server.event_log.appends', { description: 'SSE events written to the session store for replay (after the write succeeded)', unit: '{event}' }),
    eventBytes: t.counter('mcp.server.event_log.bytes', { description: 'Bytes of SSE event data written to the session store', unit: 'By' }),
    replays: t.counter('mcp.server.event_log.replays', { description: 'GET streams resumed from a Last-Event-ID, by outcome: replayed, complete (204), refused', unit: '{replay}' }),
    rateLimited: t.counter('mcp.server.rate_limit.refusals', { description: 'New sessions refused by the per-principal creation rate (429)', unit: '{request}' }),
    keyVaultFailures: t.counter('mcp.keyvault.read.failures', { description: 'Key Vault reads of the Redis connection string that failed, by error.type', unit: '{read}' }),
  };
}

export type Instruments = ReturnType<typeof create>;

const made = new WeakMap<Telemetry, Instruments>();

/** The instruments of the current telemetry (no-ops when off). */
export function instruments(): Instruments {
  const t = telemetry();
  let found = made.get(t);
  if (!found) made.set(t, (found = create(t)));
  return found;
}

/** Seconds since a `performance.now()` reading. */
export const secondsSince = (started: number) => (performance.now() - started) / 1000;
