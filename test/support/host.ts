// A session host for in-process tests: one replica over a given store, JSON answers, short lifetimes.
import type { Logger } from 'pino';
import { SessionHost, type SessionHostOptions } from '../../app/mcp/session-host.js';
import type { SessionStore } from '../../app/sessions/store.js';

export function testHost(store: SessionStore, logger: Logger, overrides: Partial<SessionHostOptions> = {}): SessionHost {
  return new SessionHost({
    store,
    logger,
    replica: { name: 'test' },
    idleTtlMs: 60_000,
    maxTtlMs: 120_000,
    pendingTtlMs: 60_000,
    maxLiveSessions: 100,
    liveIdleMs: 60_000,
    maxBodyBytes: 64 * 1024,
    responseMode: 'json',
    ...overrides,
  });
}
