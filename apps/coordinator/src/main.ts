// `npm start` / `sealfold coordinator start`: the coordinator process.
import { ConfigError, loadConfig } from './config/config.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`sealfold coordinator: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Loaded after the configuration is valid: the application graph (tfjs, Helia, EDR client) takes seconds to load.
  const { startCoordinator } = await import('./bootstrap.js');
  const coordinator = await startCoordinator(config);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    coordinator.logger.info({ signal }, 'shutting down');
    // A stuck close must not keep the process alive past the configured timeout.
    setTimeout(() => {
      coordinator.logger.error('graceful shutdown timed out');
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    coordinator.close().then(
      () => {
        coordinator.logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        coordinator.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`sealfold coordinator: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(2);
});
