// Spans for the OTLP/HTTP path without the SDK's tracer. The request path only records (an object of a
// few fields, a clock reading; ids made when first asked for); ids, timestamps and the OTLP/JSON text are
// made when the batch goes, in one loop. Profiled in the server, the SDK's per-span pipeline (sampler,
// limits, processors, hrtime) was about 5% of a warm call's CPU; this is a fraction of that.
import { randomFillSync } from 'node:crypto';
import type { Attributes, SpanHandle, SpanOptions, TraceCarrier } from './types.js';

const KIND = { internal: 1, server: 2, client: 3 } as const;
/** A batch goes at this many spans, or after the delay; spans beyond the queue bound are dropped (and counted). */
const BATCH = 512;
const QUEUE = 16_384;

const pool = Buffer.allocUnsafe(4096);
let used = pool.length;
function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString('hex', used, (used += bytes));
  // All zeros is the invalid id.
  return hex.replaceAll('0', '') === '' ? randomHex(bytes) : hex;
}

/** Read once: the getter is not free. */
const ORIGIN = performance.timeOrigin;

/** Unix time in nanoseconds for a `performance.now()` reading, as the decimal string OTLP/JSON takes. */
function nanos(now: number): string {
  const ms = ORIGIN + now;
  const whole = Math.floor(ms);
  return `${whole}${String(Math.min(999_999, Math.round((ms - whole) * 1e6))).padStart(6, '0')}`;
}

function encodeValue(value: string | number | boolean): string {
  if (typeof value === 'string') return `{"stringValue":${JSON.stringify(value)}}`;
  if (typeof value === 'boolean') return `{"boolValue":${value}}`;
  return Number.isInteger(value) ? `{"intValue":"${value}"}` : `{"doubleValue":${value}}`;
}
const encodeAttribute = (key: string, value: string | number | boolean) => `{"key":${JSON.stringify(key)},"value":${encodeValue(value)}}`;

/** Encoded attribute sets by object: callers pass the same sets (built once) again and again. */
const encodedSets = new WeakMap<Attributes, string>();
function encodeSet(attributes: Attributes): string {
  let encoded = encodedSets.get(attributes);
  if (encoded === undefined) {
    const parts: string[] = [];
    for (const key in attributes) if (attributes[key] !== undefined) parts.push(encodeAttribute(key, attributes[key]!));
    encodedSets.set(attributes, (encoded = parts.join(',')));
  }
  return encoded;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const ZERO = /^0+$/;

export class OtlpSpan implements SpanHandle {
  ended = false;
  readonly #start = performance.now();
  #end = 0;
  #traceId: string | undefined;
  #spanId: string | undefined;
  /** Attributes set after the start: key, value, key, value… */
  #extra: Array<string | number | boolean> | undefined;
  #status: string | undefined;

  constructor(
    private readonly sink: OtlpSpans,
    private name: string,
    private readonly kind: number,
    traceId: string | undefined,
    private readonly parentSpanId: string | undefined,
    /** False: the trace is not kept (sampled out); the span still has ids for its children. */
    readonly recording: boolean,
    private readonly traceState: string | undefined,
    private readonly attributes: Attributes | undefined,
  ) {
    this.#traceId = traceId;
  }

  get traceId(): string {
    return (this.#traceId ??= randomHex(16));
  }
  get spanId(): string {
    return (this.#spanId ??= randomHex(8));
  }

  setAttributes(attributes: Attributes): void {
    for (const key in attributes) this.setAttribute(key, attributes[key]);
  }
  setAttribute(key: string, value: string | number | boolean | undefined): void {
    if (value === undefined || this.ended || !this.recording) return;
    (this.#extra ??= []).push(key, value);
  }
  updateName(name: string): void {
    this.name = name;
  }
  fail(type: string, message?: string): void {
    this.setAttribute('error.type', type);
    this.#status = message ? `{"code":2,"message":${JSON.stringify(message)}}` : '{"code":2}';
  }
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.#end = performance.now();
    if (this.recording) this.sink.add(this);
  }
  logIds() {
    return { trace_id: this.traceId, span_id: this.spanId };
  }

  /** Its OTLP/JSON form (when its batch goes). */
  encode(): string {
    let attributes = this.attributes ? encodeSet(this.attributes) : '';
    const extra = this.#extra;
    if (extra) for (let i = 0; i < extra.length; i += 2) attributes += `${attributes ? ',' : ''}${encodeAttribute(extra[i] as string, extra[i + 1]!)}`;
    const parent = this.parentSpanId ? `,"parentSpanId":"${this.parentSpanId}"` : '';
    const state = this.traceState ? `,"traceState":${JSON.stringify(this.traceState)}` : '';
    return `{"traceId":"${this.traceId}","spanId":"${this.spanId}"${parent}${state},"name":${JSON.stringify(this.name)},"kind":${this.kind},"startTimeUnixNano":"${nanos(this.#start)}","endTimeUnixNano":"${nanos(this.#end)}","attributes":[${attributes}],"status":${this.#status ?? '{}'}}`;
  }
}

export interface OtlpSpansOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly resource: Readonly<Record<string, string>>;
  readonly scope: string;
  readonly delayMs: number;
  readonly sampling: { readonly ratio: number; readonly parentBased: boolean };
}

export class OtlpSpans {
  #queue: OtlpSpan[] = [];
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  readonly #prefix: string;
  /** Spans not kept because the queue was full (the collector slower than the spans coming). */
  dropped = 0;
  failedExports = 0;

  constructor(private readonly o: OtlpSpansOptions) {
    const resource = Object.entries(o.resource)
      .map(([k, v]) => encodeAttribute(k, v))
      .join(',');
    this.#prefix = `{"resourceSpans":[{"resource":{"attributes":[${resource}]},"scopeSpans":[{"scope":{"name":${JSON.stringify(o.scope)}},"spans":[`;
  }

  /** A span; undefined when it is `childOnly` without a parent span. */
  start(name: string, options: SpanOptions): OtlpSpan | undefined {
    const parent = options.parent;
    const kind = KIND[options.kind ?? 'internal'];
    if (parent instanceof OtlpSpan) return new OtlpSpan(this, name, kind, parent.traceId, parent.spanId, parent.recording, undefined, options.attributes);
    if (options.childOnly) return undefined;
    const remote = (parent as TraceCarrier | undefined)?.traceparent?.match(TRACEPARENT);
    if (remote && !ZERO.test(remote[1]!) && !ZERO.test(remote[2]!)) {
      // W3C flags: the last bit is "sampled"; a parent-based sampler follows it.
      const sampled = this.o.sampling.parentBased ? (Number.parseInt(remote[0].slice(-2), 16) & 1) === 1 : this.#sample();
      return new OtlpSpan(this, name, kind, remote[1], remote[2], sampled, (parent as TraceCarrier).tracestate, options.attributes);
    }
    return new OtlpSpan(this, name, kind, undefined, undefined, this.#sample(), undefined, options.attributes);
  }

  #sample(): boolean {
    return this.o.sampling.ratio >= 1 || Math.random() < this.o.sampling.ratio;
  }

  add(span: OtlpSpan): void {
    if (this.#queue.length >= QUEUE) {
      this.dropped++;
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= BATCH && !this.#sending) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.o.delayMs).unref();
  }

  /** Sends everything queued, a batch at a time (one request in flight). */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#sending) await this.#sending;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, BATCH);
      let body = this.#prefix;
      for (let i = 0; i < batch.length; i++) body += (i ? ',' : '') + batch[i]!.encode();
      this.#sending = this.#send(`${body}]}]}]}`);
      await this.#sending;
      this.#sending = undefined;
    }
  }

  async #send(body: string): Promise<void> {
    try {
      const response = await fetch(this.o.url, { method: 'POST', headers: { ...this.o.headers, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      if (!response.ok) this.failedExports++;
    } catch {
      // The collector is away: this batch is lost (as with the SDK exporter once its retries are spent).
      this.failedExports++;
    }
  }
}
