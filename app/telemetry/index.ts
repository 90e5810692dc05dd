// Process-wide telemetry: off (no-op, nothing loaded) unless configured; the SDK is imported only then.
import type { Logger } from 'pino';
import type { TelemetryConfig } from '../config.js';
import { OFF, type Telemetry } from './types.js';

export type { Telemetry } from './types.js';

let current: Telemetry = OFF;

/** The process's telemetry: `OFF` until `startTelemetry` turned it on. */
export function telemetry(): Telemetry {
  return current;
}

/** Turns telemetry on as configured. With the exporter off, no `@opentelemetry/*` module is ever imported. */
export async function startTelemetry(config: TelemetryConfig, logger: Pick<Logger, 'info'>, instance: string): Promise<Telemetry> {
  if (config.exporter === 'off') return current;
  const { startOtel } = await import('./otel.js');
  current = await startOtel(config, instance);
  logger.info({ exporter: config.exporter, service: config.serviceName }, `telemetry on: exporting to ${config.exporter === 'otlp' ? 'an OTLP/HTTP endpoint' : 'Azure Monitor'}`);
  return current;
}

/** Exports what is buffered (at most `limitMs`: an unreachable collector must not hold up the exit); off afterwards. */
export async function stopTelemetry(limitMs = 3000): Promise<void> {
  const running = current;
  current = OFF;
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, limitMs).unref()));
  await Promise.race([running.shutdown().catch(() => undefined), limit]);
  clearTimeout(timer);
}

/** For tests that run several in-process configurations. */
export function useTelemetry(telemetry: Telemetry): void {
  current = telemetry;
}
