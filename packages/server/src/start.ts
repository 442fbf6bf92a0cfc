import { type RunningService, runPeriodically, startService } from '@dreamlake/service';
import { buildServerApp } from './app.ts';
import { createBssClient } from './bss-client.ts';
import type { ServerConfig } from './config.ts';
import { openDatabase } from './db/open.ts';
import { collectBlobs } from './gc/blob-gc.ts';

/**
 * A running server. `close()` closes at once (requests in flight are finished, new connections
 * refused); `shutdown()` drains (see `drain` in @dreamlake/service: /readyz 503, serving on for
 * SHUTDOWN_DELAY_SECONDS, then finishing requests within SHUTDOWN_GRACE_SECONDS). Both then stop
 * the collection (waiting for a run under way) and close the database.
 */
export type RunningServer = RunningService;

/**
 * Opens the database (migrating it), builds the app, listens on the configured host and port and
 * collects unregistered blobs every BLOB_GC_INTERVAL_SECONDS (a run still going skips a tick).
 */
export async function startServer(config: Readonly<ServerConfig>): Promise<RunningServer> {
  const db = await openDatabase(config);
  return startService({
    host: config.host,
    port: config.port,
    shutdown: config.shutdown,
    build: () => buildServerApp({ config, db }),
    jobs: (app) => {
      if (config.blobGcIntervalSeconds === 0) return [];
      const deps = { db, bss: createBssClient(config), config, clock: Date.now };
      const collect = async () => {
        const result = await collectBlobs(deps);
        if (result.deleted > 0) app.log.info({ deleted: result.deleted }, 'collected unregistered blobs');
      };
      return [
        runPeriodically(collect, {
          intervalMs: config.blobGcIntervalSeconds * 1000,
          onError: (error) => app.log.error({ err: error }, 'collecting unregistered blobs failed'),
        }),
      ];
    },
    release: () => db.destroy(),
  });
}
