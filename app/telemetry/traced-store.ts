// A SessionStore decorator: each command timed, failures counted by kind, child spans inside a request.
import type { DataValue } from '../sessions/data.js';
import type { AppendedEvents, EventBatch } from '../sessions/events.js';
import type { SessionShape } from '../sessions/shape.js';
import type { InvalidateListener, LoadResult, PeerMessage, SessionStore } from '../sessions/store.js';
import { restoring } from './hooks.js';
import { telemetry } from './index.js';
import { instruments, secondsSince } from './instruments.js';
import { spanOf } from './scope.js';
import { errorType, type Attributes, type Telemetry } from './types.js';

/** Commands whose failure means a write the caller was told did not happen. */
const WRITES = new Set(['create', 'updateShape', 'touch', 'delete', 'dataSet', 'dataDelete', 'appendEvents']);

const CALLER_ERRORS = new Set(['full', 'too-large', 'gone']);

/** The store itself when telemetry is off; otherwise the traced decorator around it. */
export function instrumentStore(store: SessionStore): SessionStore {
  const t = telemetry();
  return t.enabled ? new TracedStore(store, t) : store;
}

class TracedStore implements SessionStore {
  readonly #unsubscribe: () => void;

  constructor(
    private readonly inner: SessionStore,
    private readonly t: Telemetry,
  ) {
    this.#unsubscribe = inner.onChannelSuspect(() => instruments().channelSuspicions.add(1));
  }

  get kind() {
    return this.inner.kind;
  }

  get replicaId() {
    return this.inner.replicaId;
  }

  /** Span name and attribute sets of one operation, built once. */
  #ops = new Map<string, { name: string; span: Attributes; ok: Attributes; error: Attributes; refused: Attributes; refusedWrite: Attributes }>();
  #op(operation: string) {
    let op = this.#ops.get(operation);
    if (!op) {
      const name = operation === 'sendToReplica' || operation === 'broadcast' ? `mcp.peer.route ${operation}` : `session-store ${operation}`;
      const db = { 'db.operation.name': operation };
      op = { name, span: { 'db.system.name': this.inner.kind, ...db }, ok: { ...db, outcome: 'ok' }, error: { ...db, outcome: 'error' }, refused: { ...db, outcome: 'refused' }, refusedWrite: db };
      this.#ops.set(operation, op);
    }
    return op;
  }

  /** Runs one command: a child span of the session's open span (none outside a request), its duration, and its failure by kind. */
  async #run<T>(operation: string, session: string | undefined, fn: () => Promise<T>, failed?: (result: T) => string | undefined): Promise<T> {
    const started = performance.now();
    const op = this.#op(operation);
    const m = instruments();
    return this.t.inSpan(op.name, { kind: 'client', childOnly: true, parent: spanOf(session), attributes: op.span }, async (span) => {
      try {
        const result = await fn();
        const kind = failed?.(result);
        if (kind) {
          span.fail(kind);
          m.storeErrors.add(1, { 'db.operation.name': operation, 'error.type': kind });
        }
        m.storeDuration.record(secondsSince(started), kind ? op.error : op.ok);
        return result;
      } catch (error) {
        const kind = errorType(error);
        // A data limit (full, too-large) or a session gone is an answer, not a store failure.
        if (!CALLER_ERRORS.has(kind)) {
          m.storeErrors.add(1, { 'db.operation.name': operation, 'error.type': kind });
          if (WRITES.has(operation)) m.writesRefused.add(1, op.refusedWrite);
        }
        m.storeDuration.record(secondsSince(started), CALLER_ERRORS.has(kind) ? op.refused : op.error);
        throw error;
      }
    });
  }

  create(shape: SessionShape, ttlMs: number) {
    return this.#run('create', shape.id, () => this.inner.create(shape, ttlMs));
  }
  load(id: string): Promise<LoadResult> {
    return this.#run(
      'load',
      id,
      () => this.inner.load(id),
      (result) => {
        if (restoring.has(id)) restoring.set(id, result.status);
        return result.status === 'unavailable' || result.status === 'corrupt' ? result.status : undefined;
      },
    );
  }
  updateShape(shape: SessionShape, rev: number, ttlMs: number) {
    return this.#run('updateShape', shape.id, () => this.inner.updateShape(shape, rev, ttlMs));
  }
  touch(id: string, ttlMs: number) {
    return this.#run('touch', id, () => this.inner.touch(id, ttlMs));
  }
  delete(id: string) {
    return this.#run('delete', id, () => this.inner.delete(id));
  }
  dataGet(id: string, key: string) {
    return this.#run('dataGet', id, () => this.inner.dataGet(id, key));
  }
  dataSet(id: string, key: string, value: DataValue, ttlMs: number) {
    return this.#run('dataSet', id, () => this.inner.dataSet(id, key, value, ttlMs));
  }
  dataDelete(id: string, key: string, ttlMs: number) {
    return this.#run('dataDelete', id, () => this.inner.dataDelete(id, key, ttlMs));
  }
  dataList(id: string) {
    return this.#run('dataList', id, () => this.inner.dataList(id));
  }
  async appendEvents(batches: readonly EventBatch[]) {
    // One write for several sessions: a child of the first one's open span, if any.
    const gone = await this.#run('appendEvents', batches[0]?.id, () => this.inner.appendEvents(batches));
    let events = 0;
    let bytes = 0;
    for (const batch of batches) {
      events += batch.events.length;
      for (const e of batch.events) bytes += Buffer.byteLength(e.message);
    }
    const m = instruments();
    m.eventAppends.add(events);
    m.eventBytes.add(bytes);
    return gone;
  }
  readEvents(id: string, after?: string) {
    return this.#run('readEvents', id, () => this.inner.readEvents(id, after));
  }
  sendToReplica(replicaId: string, message: PeerMessage) {
    return this.#run('sendToReplica', message.session, () => this.inner.sendToReplica(replicaId, message));
  }
  broadcast(message: PeerMessage) {
    return this.#run('broadcast', message.session, () => this.inner.broadcast(message));
  }
  routedResponses(id: string) {
    return this.#run('routedResponses', id, () => this.inner.routedResponses(id));
  }

  onEventsAppended(listener: (appended: AppendedEvents) => void) {
    return this.inner.onEventsAppended(listener);
  }
  onInvalidate(listener: InvalidateListener) {
    return this.inner.onInvalidate(listener);
  }
  onChannelSuspect(listener: () => void) {
    return this.inner.onChannelSuspect(listener);
  }
  onReconnect(listener: () => void) {
    return this.inner.onReconnect(listener);
  }
  onPeerMessage(listener: (message: PeerMessage) => void) {
    return this.inner.onPeerMessage(listener);
  }
  // Liveness beats run every second while calls last: passed through, not traced.
  markAlive(writer: string, ttlMs: number) {
    return this.inner.markAlive(writer, ttlMs);
  }
  isAlive(writer: string) {
    return this.inner.isAlive(writer);
  }
  health() {
    return this.inner.health();
  }
  async close() {
    this.#unsubscribe();
    await this.inner.close();
  }
}
