// A valid session record for store tests, with whatever fields a test wants to differ.
import { randomUUID } from 'node:crypto';
import { emptyState, type SessionRecord } from '../../app/sessions/record.js';

export function sampleRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = Date.now();
  return {
    v: 1,
    id: randomUUID(),
    createdAt: now,
    maxExpiresAt: now + 3_600_000,
    initialize: { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'c', version: '1' } } },
    state: { ...emptyState(), scratchpad: { city: 'Lisbon' } },
    ...overrides,
  };
}
