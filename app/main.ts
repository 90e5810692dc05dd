// Entry point: read the environment, start the server, drain on SIGTERM (SIGINT: without the delay).
import { ConfigError, isLoopbackHost, loadConfig } from './config.js';
import { createLogger, replicaNameOf, startServer } from './server.js';
import { startTelemetry, stopTelemetry } from './telemetry/index.js';

/** Ctrl-C presses within this window that force an exit during a drain (the explicit escape; SIGTERM never forces). */
const FORCE_PRESSES = 3;
const FORCE_WINDOW_MS = 2000;
/**
 * SIGINTs closer than this are one press: a terminal's Ctrl-C reaches npm and this process, and npm forwards
 * its own, so one press arrives once or twice (the kernel merges a signal still pending).
 */
const PRESS_MS = 100;

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
  // Signals come in pairs more often than not: a signal to a process group (systemd's KillMode=control-group,
  // a terminal's Ctrl-C, `kill -TERM -<pgid>`) reaches both npm and this process, and npm forwards its own.
  // So a repeat never cuts the drain short; only FORCE_PRESSES Ctrl-C presses within FORCE_WINDOW_MS do.
  let stopping = false;
  const presses: number[] = [];
  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => {
    if (signal === 'SIGINT') {
      const now = Date.now();
      if (presses.length === 0 || now - presses.at(-1)! >= PRESS_MS) presses.push(now);
      while (now - presses[0]! > FORCE_WINDOW_MS) presses.shift();
    }
    if (!stopping) {
      stopping = true;
      stop(signal);
      return;
    }
    if (signal === 'SIGINT' && presses.length >= FORCE_PRESSES) {
      logger.warn({ signal, withinMs: FORCE_WINDOW_MS }, `Ctrl-C pressed ${FORCE_PRESSES} times: exiting without finishing the drain`);
      process.exit(1);
    }
    logger.warn({ signal }, `signal ignored: already draining (Ctrl-C ${FORCE_PRESSES} times within ${FORCE_WINDOW_MS / 1000} s forces an exit)`);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}

void main();
