// Telemetry configuration: off unless an exporter is named by the standard variables; bad values name their variable.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';

const CS = 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';

describe('telemetry configuration', () => {
  it('is off when neither OTLP nor Application Insights is configured, or when OTEL_SDK_DISABLED=true', () => {
    expect(loadConfig({}).telemetry).toEqual({ exporter: 'off' });
    expect(loadConfig({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }).telemetry).toEqual({ exporter: 'off' });
  });

  it('derives both OTLP/HTTP signal URLs from OTEL_EXPORTER_OTLP_ENDPOINT, with the standard defaults', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318/' }).telemetry).toEqual({
      exporter: 'otlp',
      serviceName: 'mcp-continuity',
      tracesUrl: 'http://127.0.0.1:4318/v1/traces',
      metricsUrl: 'http://127.0.0.1:4318/v1/metrics',
      headers: {},
      spanDelayMs: 5000,
      metricIntervalMs: 60_000,
      sampling: { ratio: 1, parentBased: true },
    });
  });

  it('exports only the signal whose own endpoint is set, with headers, service name and intervals', () => {
    const t = loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otel.example.com/traces', OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%3Db, x-team = ops', OTEL_SERVICE_NAME: 'mcp-prod', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_METRIC_EXPORT_INTERVAL: '1000' }).telemetry;
    expect(t).toMatchObject({ exporter: 'otlp', serviceName: 'mcp-prod', tracesUrl: 'https://otel.example.com/traces', metricsUrl: undefined, headers: { 'api-key': 'a=b', 'x-team': 'ops' }, spanDelayMs: 200, metricIntervalMs: 1000 });
  });

  it('uses Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set, and refuses something else there', () => {
    expect(loadConfig({ APPLICATIONINSIGHTS_CONNECTION_STRING: CS }).telemetry).toMatchObject({ exporter: 'azure-monitor', connectionString: CS });
    expect(() => loadConfig({ APPLICATIONINSIGHTS_CONNECTION_STRING: 'hello' })).toThrow(/APPLICATIONINSIGHTS_CONNECTION_STRING/);
  });

  it('reads the standard sampler variables: a share of traces, parent-based or not', () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    const sampling = (env: Record<string, string>) => (loadConfig({ ...on, ...env }).telemetry as { sampling: unknown }).sampling;
    expect(sampling({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' })).toEqual({ ratio: 0.1, parentBased: true });
    expect(sampling({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })).toEqual({ ratio: 0.25, parentBased: false });
    expect(sampling({ OTEL_TRACES_SAMPLER: 'always_off' })).toEqual({ ratio: 0, parentBased: false });
    expect(() => loadConfig({ ...on, OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow(/^OTEL_TRACES_SAMPLER:/);
    expect(() => loadConfig({ ...on, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/^OTEL_TRACES_SAMPLER_ARG/);
  });

  it('names the variable of a bad endpoint or interval', () => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/^OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'nope' })).toThrow(/^OTEL_EXPORTER_OTLP_METRICS_ENDPOINT/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_METRIC_EXPORT_INTERVAL: '5s' })).toThrow(/OTEL_METRIC_EXPORT_INTERVAL/);
  });
});
