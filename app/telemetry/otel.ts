// Telemetry on: the OpenTelemetry SDK (OTLP/HTTP or Azure Monitor) behind the `Telemetry` interface.
// Imported only by startTelemetry, and only when an exporter is configured.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { context, metrics, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { TelemetryConfig } from '../config.js';
import { errorType, type Attributes, type SpanHandle, type SpanOptions, type Telemetry } from './types.js';

type OnConfig = Exclude<TelemetryConfig, { exporter: 'off' }>;

const KINDS = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL } as const;
const SCOPE = 'mcp-continuity';
const NOOP_SPAN: SpanHandle = { setAttributes() {}, updateName() {}, fail() {}, end() {} };

/** Drops undefined values (the API would keep them as invalid attributes); copies only when there are some. */
function clean(attributes: Attributes | undefined): Record<string, string | number | boolean> | undefined {
  if (!attributes) return undefined;
  let out: Record<string, string | number | boolean> | undefined;
  for (const k in attributes) {
    if (attributes[k] !== undefined) continue;
    out = {};
    for (const key in attributes) if (attributes[key] !== undefined) out[key] = attributes[key]!;
    return out;
  }
  return attributes as Record<string, string | number | boolean>;
}

function handle(span: Span): SpanHandle {
  return {
    setAttributes: (attributes) => void span.setAttributes(clean(attributes) ?? {}),
    updateName: (name) => void span.updateName(name),
    fail(type, message) {
      span.setAttribute('error.type', type);
      span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
    },
    end: () => span.end(),
  };
}

async function startProviders(config: OnConfig, instance: string): Promise<() => Promise<void>> {
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
    return () => shutdownAzureMonitor();
  }
  const [{ NodeTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler }, { MeterProvider, PeriodicExportingMetricReader }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-metrics'),
  ]);
  const stops: Array<() => Promise<void>> = [];
  if (config.tracesUrl) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const exporter = new OTLPTraceExporter({ url: config.tracesUrl, headers: { ...config.headers } });
    const ratio = new TraceIdRatioBasedSampler(config.sampling.ratio);
    const sampler = config.sampling.parentBased ? new ParentBasedSampler({ root: ratio }) : ratio;
    const tracer = new NodeTracerProvider({ resource, sampler, spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: config.spanDelayMs })] });
    // Also installs the AsyncLocalStorage context manager and the W3C trace-context propagator.
    tracer.register();
    stops.push(() => tracer.shutdown());
  }
  if (config.metricsUrl) {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
    const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: config.metricsUrl, headers: { ...config.headers } }), exportIntervalMillis: config.metricIntervalMs });
    const meter = new MeterProvider({ resource, readers: [reader] });
    metrics.setGlobalMeterProvider(meter);
    stops.push(() => meter.shutdown());
  }
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
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

export async function startOtel(config: OnConfig, instance: string): Promise<Telemetry> {
  const stopProviders = await startProviders(config, instance);
  const tracer = trace.getTracer(SCOPE);
  const meter = metrics.getMeter(SCOPE);

  const parentOf = (options: SpanOptions): Context | undefined => {
    if (options.parent?.traceparent) return propagation.extract(ROOT_CONTEXT, options.parent);
    return undefined;
  };
  const open = (name: string, options: SpanOptions): { span: Span; ctx: Context } | undefined => {
    const active = context.active();
    if (options.childOnly && !trace.getSpan(active)) return undefined;
    const parent = parentOf(options) ?? active;
    const span = tracer.startSpan(name, { kind: KINDS[options.kind ?? 'internal'], attributes: clean(options.attributes) }, parent);
    return { span, ctx: trace.setSpan(parent, span) };
  };

  const telemetry: Telemetry = {
    enabled: true,
    async inSpan(name, options, fn) {
      const opened = open(name, options);
      if (!opened) return fn(NOOP_SPAN);
      const h = handle(opened.span);
      try {
        return await (options.leaf ? fn(h) : context.with(opened.ctx, () => fn(h)));
      } catch (error) {
        h.fail(errorType(error), error instanceof Error ? error.message.slice(0, 200) : undefined);
        throw error;
      } finally {
        opened.span.end();
      }
    },
    startSpan(name, options) {
      const opened = open(name, options);
      if (!opened) return { span: NOOP_SPAN, run: (fn) => fn() };
      return { span: handle(opened.span), run: (fn) => context.with(opened.ctx, fn) };
    },
    counter(name, options) {
      const counter = meter.createCounter(name, { description: options.description, ...(options.unit ? { unit: options.unit } : {}) });
      return { add: (value, attributes) => counter.add(value, clean(attributes)) };
    },
    histogram(name, options) {
      const histogram = meter.createHistogram(name, {
        description: options.description,
        ...(options.unit ? { unit: options.unit } : {}),
        ...(options.boundaries ? { advice: { explicitBucketBoundaries: [...options.boundaries] } } : {}),
      });
      return { record: (value, attributes) => histogram.record(value, clean(attributes)) };
    },
    gauge(name, options, read) {
      const gauge = meter.createObservableGauge(name, { description: options.description, ...(options.unit ? { unit: options.unit } : {}) });
      gauge.addCallback((result) => result.observe(read()));
    },
    logIds() {
      const span = trace.getSpan(context.active());
      if (!span) return undefined;
      const ids = span.spanContext();
      return trace.isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : undefined;
    },
    async shutdown() {
      stopRuntime();
      await stopProviders();
    },
  };
  const stopRuntime = observeRuntime(telemetry);
  return telemetry;
}
