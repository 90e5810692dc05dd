// What server.ts wires: the traced endpoint and store, the live-session gauge, the drain, log ids.
import { telemetry } from './index.js';

export { drained } from './hooks.js';
export { logIds } from './scope.js';
export { instrumentStore } from './traced-store.js';

/** Live sessions in this process, read at each export. */
export function observeHost(host: { readonly stats: { readonly liveSessions: number } }): void {
  telemetry().gauge('mcp.server.sessions.live', { description: 'Sessions live in this replica (restorable elsewhere when evicted)', unit: '{session}' }, () => host.stats.liveSessions);
}
