// Telemetry on: the OpenTelemetry SDK (OTLP/HTTP or Azure Monitor) behind the `Telemetry` interface.
// Imported only by startTelemetry, and only when an exporter is configured.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { defaultTextMapGetter, metrics, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Histogram as OtelHistogram, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { TelemetryConfig } from '../config.js';
import type { OtlpSpans } from './otlp-spans.js';
import { errorType, NOOP_SPAN, type Attributes, type SpanHandle, type SpanOptions, type Telemetry } from './types.js';

type OnConfig = Exclude<TelemetryConfig, { exporter: 'off' }>;

const KINDS = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL } as const;
const SCOPE = 'mcp-continuity';

/** Drops undefined values (the API would keep them as invalid attributes); copies only when there are some. */
function clean(attributes: Attributes | undefined): Record<string, string | number | boolean> | undefined {
  if (!attributes) return undefined;
  for (const k in attributes) {
    if (attributes[k] !== undefined) continue;
    const out: Record<string, string | number | boolean> = {};
    for (const key in attributes) if (attributes[key] !== undefined) out[key] = attributes[key]!;
    return out;
  }
  return attributes as Record<string, string | number | boolean>;
}

/** One of our spans: methods on the prototype (no closures per span), its context made only if it gets a child. */
class Handle implements SpanHandle {
  ended = false;
  #context: Context | undefined;

  constructor(readonly span: Span) {}

  get context(): Context {
    return (this.#context ??= trace.setSpan(ROOT_CONTEXT, this.span));
  }
  setAttributes(attributes: Attributes): void {
    this.span.setAttributes(clean(attributes) ?? {});
  }
  setAttribute(key: string, value: string | number | boolean | undefined): void {
    if (value !== undefined) this.span.setAttribute(key, value);
  }
  updateName(name: string): void {
    this.span.updateName(name);
  }
  fail(type: string, message?: string): void {
    this.span.setAttribute('error.type', type);
    this.span.setStatus(message ? { code: SpanStatusCode.ERROR, message } : { code: SpanStatusCode.ERROR });
  }
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.span.end();
  }
  logIds() {
    const ids = this.span.spanContext();
    return { trace_id: ids.traceId, span_id: ids.spanId };
  }
}

/** The providers; `spans` is our own span pipeline on the OTLP path (the Azure distro keeps the SDK's tracer). */
async function startProviders(config: OnConfig, instance: string): Promise<{ spans: OtlpSpans | undefined; stop: () => Promise<void> }> {
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  // The replica's name, as in its logs (Application Insights: cloud_RoleInstance).
  const resource = resourceFromAttributes({ 'service.name': config.serviceName, 'service.instance.id': instance });
  if (config.exporter === 'azure-monitor') {
    const { useAzureMonitor, shutdownAzureMonitor } = await import('@azure/monitor-opentelemetry');
    useAzureMonitor({
      azureMonitorExporterOptions: { connectionString: config.connectionString },
      resource,
      // Our own server span per MCP request replaces the HTTP one; Key Vault calls stay traced (Azure SDK).
      instrumentationOptions: { http: { enabled: false }, azureSdk: { enabled: true }, redis: { enabled: false }, redis4: { enabled: false } },
      enableLiveMetrics: false,
      // The distro's default keeps 5 traces per second whatever the load; the configured share instead
      // (all by default), so a client's traced call is not dropped at random.
      tracesPerSecond: 0,
      samplingRatio: config.sampling.ratio,
    });
    return { spans: undefined, stop: () => shutdownAzureMonitor() };
  }
  const { MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  const stops: Array<() => Promise<void>> = [];
  let spans: OtlpSpans | undefined;
  if (config.tracesUrl) {
    // Our own span pipeline (otlp-spans.ts), not the SDK's tracer: its per-span work was most of the cost.
    const { OtlpSpans } = await import('./otlp-spans.js');
    const traces = new OtlpSpans({ url: config.tracesUrl, headers: config.headers, resource: { 'service.name': config.serviceName, 'service.instance.id': instance }, scope: SCOPE, delayMs: config.spanDelayMs, sampling: config.sampling });
    spans = traces;
    stops.push(() => traces.flush());
  }
  if (config.metricsUrl) {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
    const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: config.metricsUrl, headers: { ...config.headers } }), exportIntervalMillis: config.metricIntervalMs });
    const meter = new MeterProvider({ resource, readers: [reader] });
    metrics.setGlobalMeterProvider(meter);
    stops.push(() => meter.shutdown());
  }
  return {
    spans,
    stop: async () => {
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}

/**
 * Histogram points wait here (at most 250 ms, or 1,024 of them) and go to the SDK in one loop: the SDK's
 * record path (attribute hashing, storages, buckets) costs several times more run cold once per request
 * than run hot in a batch. Values are unchanged; only the moment they are recorded moves.
 */
class PointBuffer {
  #histograms: OtelHistogram[] = [];
  #values: number[] = [];
  #attributes: Array<Attributes | undefined> = [];
  readonly #timer = setInterval(() => this.flush(), 250).unref();

  add(histogram: OtelHistogram, value: number, attributes: Attributes | undefined): void {
    this.#histograms.push(histogram);
    this.#values.push(value);
    this.#attributes.push(attributes);
    if (this.#values.length >= 1024) this.flush();
  }

  flush(): void {
    const histograms = this.#histograms;
    const values = this.#values;
    const attributes = this.#attributes;
    if (values.length === 0) return;
    this.#histograms = [];
    this.#values = [];
    this.#attributes = [];
    for (let i = 0; i < values.length; i++) histograms[i]!.record(values[i]!, clean(attributes[i]), ROOT_CONTEXT);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}

/** Heap and event-loop delay, read at each export. */
function observeRuntime(telemetry: Telemetry): () => void {
  const delay = monitorEventLoopDelay({ resolution: 20 });
  delay.enable();
  telemetry.gauge('v8js.memory.heap.used', { description: 'V8 heap in use', unit: 'By' }, () => process.memoryUsage().heapUsed);
  telemetry.gauge('nodejs.eventloop.delay.p99', { description: 'Event-loop delay, 99th percentile since the last export', unit: 's' }, () => delay.percentile(99) / 1e9);
  telemetry.gauge('nodejs.eventloop.delay.max', { description: 'Longest event-loop delay since the last export', unit: 's' }, () => {
    const max = delay.max / 1e9;
    // Each export reports its own interval.
    delay.reset();
    return max;
  });
  return () => delay.disable();
}

const W3C = new W3CTraceContextPropagator();

export async function startOtel(config: OnConfig, instance: string): Promise<Telemetry> {
  const { spans, stop: stopProviders } = await startProviders(config, instance);
  const points = new PointBuffer();
  const tracer = trace.getTracer(SCOPE);
  const meter = metrics.getMeter(SCOPE);

  /** The span to start, or undefined when it is `childOnly` and has no parent span. */
  const open = (name: string, options: SpanOptions): SpanHandle | undefined => {
    if (spans) return spans.start(name, options);
    const parent = options.parent;
    let ctx = ROOT_CONTEXT;
    if (parent instanceof Handle) ctx = parent.context;
    else if (options.childOnly) return undefined;
    else if (parent && 'traceparent' in parent && parent.traceparent) ctx = W3C.extract(ROOT_CONTEXT, parent, defaultTextMapGetter);
    return new Handle(tracer.startSpan(name, { kind: KINDS[options.kind ?? 'internal'], attributes: clean(options.attributes) }, ctx));
  };

  const telemetry: Telemetry = {
    enabled: true,
    async inSpan(name, options, fn) {
      const h = open(name, options);
      if (!h) return fn(NOOP_SPAN);
      try {
        return await fn(h);
      } catch (error) {
        h.fail(errorType(error), error instanceof Error ? error.message.slice(0, 200) : undefined);
        throw error;
      } finally {
        h.end();
      }
    },
    startSpan: (name, options) => open(name, options) ?? NOOP_SPAN,
    counter(name, options) {
      const counter = meter.createCounter(name, { description: options.description, ...(options.unit ? { unit: options.unit } : {}) });
      // The context is passed: the SDK would otherwise ask for the active one on every measurement.
      return { add: (value, attributes) => counter.add(value, clean(attributes), ROOT_CONTEXT) };
    },
    histogram(name, options) {
      const histogram = meter.createHistogram(name, {
        description: options.description,
        ...(options.unit ? { unit: options.unit } : {}),
        ...(options.boundaries ? { advice: { explicitBucketBoundaries: [...options.boundaries] } } : {}),
      });
      // Buffered: recorded in batches, off the request path (see PointBuffer).
      return { record: (value, attributes) => points.add(histogram, value, attributes) };
    },
    gauge(name, options, read) {
      const gauge = meter.createObservableGauge(name, { description: options.description, ...(options.unit ? { unit: options.unit } : {}) });
      gauge.addCallback((result) => result.observe(read()));
    },
    async shutdown() {
      stopRuntime();
      points.stop();
      await stopProviders();
    },
  };
  const stopRuntime = observeRuntime(telemetry);
  return telemetry;
}
