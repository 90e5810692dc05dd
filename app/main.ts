// Entry point: read the environment, start the server, drain on SIGTERM (SIGINT: without the delay).
import { ConfigError, isLoopbackHost, loadConfig } from './config.js';
import { createLogger, replicaNameOf, startServer } from './server.js';
import { startTelemetry, stopTelemetry } from './telemetry/index.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`mcp-continuity: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config);
  if (config.auth.mode === 'none' && !isLoopbackHost(config.host)) {
    logger.warn({ host: config.host }, 'AUTH_MODE=none on a non-loopback interface: anyone who can reach this port can use every tool; set AUTH_MODE=key or oauth');
  }
  let running;
  try {
    await startTelemetry(config.telemetry, logger, replicaNameOf(config));
    running = await startServer(config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    process.exit(1);
  }
  const stop = (signal: 'SIGTERM' | 'SIGINT') => {
    // SIGTERM comes from the platform, whose ingress needs the delay to stop routing here; Ctrl-C does not.
    const delayMs = signal === 'SIGTERM' ? config.drainDelayMs : 0;
    logger.info({ signal, delayMs }, 'stopping: draining (records kept)');
    // A stuck drain must not outlive the platform's grace period in silence.
    const limitMs = delayMs + config.drainTimeoutMs + 5000;
    setTimeout(() => {
      logger.error({ limitMs }, 'drain did not finish in time: exiting');
      process.exit(1);
    }, limitMs).unref();
    running.drain({ delayMs }).then(() => stopTelemetry()).then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

void main();
