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
  /**
   * The parent: a span of ours, or a client's trace context to continue. There is no ambient context
   * (no AsyncLocalStorage on the request path): the code that starts a child names its parent.
   */
  readonly parent?: SpanHandle | TraceCarrier | undefined;
  /** Only record the span when it has a parent span (store commands outside a request are not worth a trace each). */
  readonly childOnly?: boolean;
  readonly attributes?: Attributes;
}

export interface SpanHandle {
  setAttributes(attributes: Attributes): void;
  setAttribute(key: string, value: string | number | boolean | undefined): void;
  updateName(name: string): void;
  /** Marks the span failed; `errorType` becomes `error.type`. */
  fail(errorType: string, message?: string): void;
  end(): void;
  /** True once ended (or for the no-op span). */
  readonly ended: boolean;
  /** Ids for log lines; undefined for the no-op span. */
  logIds(): { readonly trace_id: string; readonly span_id: string } | undefined;
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
  /** A span the caller ends itself (a response that streams on after its handler returned). */
  startSpan(name: string, options: SpanOptions): SpanHandle;
  counter(name: string, options: InstrumentOptions): Counter;
  histogram(name: string, options: InstrumentOptions): Histogram;
  /** An observable gauge read at each export. */
  gauge(name: string, options: InstrumentOptions, read: () => number): void;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

export const NOOP_SPAN: SpanHandle = { setAttributes() {}, setAttribute() {}, updateName() {}, fail() {}, end() {}, ended: true, logIds: () => undefined };
const NOOP_INSTRUMENT: Counter & Histogram = { add() {}, record() {} };

/** Telemetry off: every call is a no-op and nothing is loaded. */
export const OFF: Telemetry = {
  enabled: false,
  inSpan: (_name, _options, fn) => fn(NOOP_SPAN),
  startSpan: () => NOOP_SPAN,
  counter: () => NOOP_INSTRUMENT,
  histogram: () => NOOP_INSTRUMENT,
  gauge() {},
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
