// Entry point: read the environment, start the server, stop gracefully on SIGTERM/SIGINT.
import { ConfigError, isLoopbackHost, loadConfig } from './config.js';
import { createLogger, startServer } from './server.js';

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
    running = await startServer(config, { logger });
  } catch (error) {
    logger.fatal({ err: error }, 'could not start');
    process.exit(1);
  }
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping: closing sessions (records kept)');
    // A stuck close must not keep the pod from going away.
    setTimeout(() => process.exit(1), 8000).unref();
    running.close().then(
      () => process.exit(0),
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
