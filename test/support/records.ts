// A valid session shape for store tests, with whatever fields a test wants to differ.
import { randomUUID } from 'node:crypto';
import { FORMAT_VERSION } from '../../app/sessions/format.js';
import type { SessionShape } from '../../app/sessions/shape.js';

export function sampleShape(overrides: Partial<SessionShape> = {}): SessionShape {
  const now = Date.now();
  return {
    v: FORMAT_VERSION,
    id: randomUUID(),
    createdAt: now,
    maxExpiresAt: now + 3_600_000,
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'c', version: '1' },
    toolsets: [],
    ...overrides,
  };
}
