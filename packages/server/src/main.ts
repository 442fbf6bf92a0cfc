import { exitOnSignals } from '@dreamlake/service';
import { ConfigError, loadServerConfig } from './config.ts';
import { startServer } from './start.ts';

/** Runs the DreamLake server alone, configured by the environment; drains on SIGTERM and SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadServerConfig>;
  try {
    config = loadServerConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`dreamlake-server: ${error.problems.join('; ')}`);
      process.exit(1);
    }
    throw error;
  }
  const server = await startServer(config);
  if (config.generatedSecrets.length > 0) {
    server.app.log.warn(`dev mode: generated ${config.generatedSecrets.join(' and ')} for this run only`);
  }
  server.app.log.info(`DreamLake server listening on ${server.url}`);
  exitOnSignals(server.app.log, (signal) => server.shutdown(signal));
}

main().catch((error: unknown) => {
  console.error(`dreamlake-server: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
