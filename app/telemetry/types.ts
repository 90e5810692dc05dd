// The telemetry interface the rest of the code sees: spans, counters, histograms, gauges, log ids. Off = no-ops.

/** Attribute values; `undefined` entries are dropped. Never a session id, key or token (see README). */
export type Attributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** W3C trace context to continue (from `params._meta` or the HTTP headers). */
export interface TraceCarrier {
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

export interface SpanOptions {
  /** `server` for a request served, `client` for a call out, `internal` (default) otherwise. */
  readonly kind?: 'server' | 'client' | 'internal';
  /** Continue this trace instead of the active one. */
  readonly parent?: TraceCarrier | undefined;
  /** Only record the span inside an active one (store commands outside a request are not worth a trace each). */
  readonly childOnly?: boolean;
  /** Nothing runs under this span (a store command): it is not made active, which saves a context switch. */
  readonly leaf?: boolean;
  readonly attributes?: Attributes;
}

export interface SpanHandle {
  setAttributes(attributes: Attributes): void;
  updateName(name: string): void;
  /** Marks the span failed; `errorType` becomes `error.type`. */
  fail(errorType: string, message?: string): void;
  end(): void;
}

/** A span the caller ends itself (a response that streams on after its handler returned). */
export interface OpenSpan {
  readonly span: SpanHandle;
  /** Runs `fn` with this span active, so spans started under it are its children. */
  run<T>(fn: () => T): T;
}

export interface Counter {
  add(value: number, attributes?: Attributes): void;
}

export interface Histogram {
  record(value: number, attributes?: Attributes): void;
}

export interface InstrumentOptions {
  readonly description: string;
  readonly unit?: string;
  /** Histogram bucket boundaries (seconds for durations). */
  readonly boundaries?: readonly number[];
}

export interface Telemetry {
  readonly enabled: boolean;
  /** Runs `fn` in a new active span, ended when `fn` settles (failed with the error's type if it throws). */
  inSpan<T>(name: string, options: SpanOptions, fn: (span: SpanHandle) => Promise<T>): Promise<T>;
  startSpan(name: string, options: SpanOptions): OpenSpan;
  counter(name: string, options: InstrumentOptions): Counter;
  histogram(name: string, options: InstrumentOptions): Histogram;
  /** An observable gauge read at each export. */
  gauge(name: string, options: InstrumentOptions, read: () => number): void;
  /** Ids of the active span, for log lines; undefined when none. */
  logIds(): { readonly trace_id: string; readonly span_id: string } | undefined;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

const NOOP_SPAN: SpanHandle = { setAttributes() {}, updateName() {}, fail() {}, end() {} };
const NOOP_INSTRUMENT: Counter & Histogram = { add() {}, record() {} };

/** Telemetry off: every call is a no-op and nothing is loaded. */
export const OFF: Telemetry = {
  enabled: false,
  inSpan: (_name, _options, fn) => fn(NOOP_SPAN),
  startSpan: () => ({ span: NOOP_SPAN, run: (fn) => fn() }),
  counter: () => NOOP_INSTRUMENT,
  histogram: () => NOOP_INSTRUMENT,
  gauge() {},
  logIds: () => undefined,
  shutdown: async () => {},
};

/** `error.type` for a thrown value: the HTTP status of an HttpError, a code if it has one, else its name. */
export function errorType(error: unknown): string {
  if (error && typeof error === 'object') {
    const { status, code, name } = error as { status?: unknown; code?: unknown; name?: unknown };
    if (typeof status === 'number') return String(status);
    if (typeof code === 'string' || typeof code === 'number') return String(code);
    if (typeof name === 'string') return name;
  }
  return 'unknown';
}
