import { runMain } from '@dreamlake/service';
import { loadServerConfig } from './config.ts';
import { startServer } from './start.ts';

/** Runs the DreamLake server alone, configured by the environment; drains on SIGTERM and SIGINT. */
runMain({
  name: 'dreamlake-server',
  load: () => loadServerConfig(process.env),
  start: startServer,
  started(server, config) {
    if (config.generatedSecrets.length > 0) {
      server.app.log.warn(`dev mode: generated ${config.generatedSecrets.join(' and ')} for this run only`);
    }
    server.app.log.info(`DreamLake server listening on ${server.url}`);
  },
});
